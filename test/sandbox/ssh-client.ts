import { execFile } from "node:child_process";
import type { FleetState } from "../../src/sandbox/index.ts";

/** What a command run over SSH left behind; code 255 is ssh's own failure. */
export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command on a sandbox host with the real OpenSSH client, through the fleet's
 * ssh_config, failing closed on host keys: what steward's users and CI do.
 */
export function ssh(state: FleetState, host: string, command: string, extra: readonly string[] = []): Promise<SshResult> {
  // ssh keeps the first value it reads for an option, so the caller's come first.
  const args = ["-F", state.sshConfig, ...extra, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=3", host, command];
  return new Promise((resolve) => {
    execFile("ssh", args, { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Polls until the host accepts SSH again (after a reboot or a healed fault). */
export async function waitForSsh(state: FleetState, host: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await ssh(state, host, "true", ["-o", "ConnectTimeout=1"])).code !== 0) {
    if (Date.now() > deadline) throw new Error(`${host} did not come back within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
