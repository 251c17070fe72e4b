import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EnvironmentError } from "../core/errors.ts";
import { run, sandboxEnv } from "./exec.ts";
import { scriptPath } from "./layers.ts";
import { sshBanner } from "./net.ts";
import { isAlive } from "./processes.ts";

/** A host's own folder in the fleet: keys, identity, console log, its disk's mount point. */
export function hostDir(fleetDir: string, name: string): string {
  return join(fleetDir, "hosts", name);
}

/** Gives a host its identity: an ed25519 host key, a machine-id, the client's public key. */
export async function prepareHost(dir: string, name: string, clientPublicKey: string): Promise<string> {
  await mkdir(join(dir, "disk"), { recursive: true });
  const key = join(dir, "ssh_host_ed25519_key");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `root@${name}`, "-f", key]);
  await writeFile(join(dir, "machine-id"), `${randomBytes(16).toString("hex")}\n`);
  await writeFile(join(dir, "authorized_keys"), clientPublicKey);
  const pub = (await readFile(`${key}.pub`, "utf8")).trim().split(" ");
  return `${pub[0]} ${pub[1]}`;
}

/** What a host needs to start. */
export interface HostLaunch {
  name: string;
  address: string;
  port: number;
  dir: string;
  lowerDirs: string;
  repoDir: string;
  /** A dnf host's rpm repository, bound read-only at /srv/steward-rpm; absent on an apt host. */
  rpmRepoDir?: string;
  diskSize: string;
  /** Paths of the real system to cover with an empty tmpfs inside the host. */
  hide: readonly string[];
}

/**
 * Starts a host's init in new mount, pid, uts and ipc namespaces and returns the PID of
 * the `unshare` process. The network namespace is shared on purpose: hosts listen on
 * their own loopback addresses, reachable from this machine without any bridge.
 */
export function launchHost(launch: HostLaunch): number {
  const log = openSync(join(launch.dir, "console.log"), "a");
  try {
    const child = spawn(
      "unshare",
      ["--mount", "--pid", "--uts", "--ipc", "--fork", "--propagation", "private", "sh", scriptPath("host-init.sh"), launch.dir],
      {
        detached: true,
        stdio: ["ignore", log, log],
        env: sandboxEnv({
          NAME: launch.name,
          ADDRESS: launch.address,
          PORT: String(launch.port),
          HOST_DIR: launch.dir,
          LOWER: launch.lowerDirs,
          REPO: launch.repoDir,
          DISK_SIZE: launch.diskSize,
          HIDE: launch.hide.join(":"),
          ...(launch.rpmRepoDir !== undefined ? { RPM_REPO: launch.rpmRepoDir } : {}),
        }),
      },
    );
    child.unref();
    if (child.pid === undefined) throw new EnvironmentError(`cannot start sandbox host ${launch.name}: unshare did not start`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

async function consoleTail(dir: string): Promise<string> {
  const text = await readFile(join(dir, "console.log"), "utf8").catch(() => "");
  return text.trim().split("\n").slice(-6).join("\n");
}

/**
 * Waits for a launched host's init to record its PID and for its sshd to answer;
 * returns the init's PID (as seen from outside).
 */
export async function waitHostReady(launch: HostLaunch, unsharePid: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let initPid = 0;
  for (;;) {
    if (initPid === 0) {
      const text = await readFile(join(launch.dir, "init.pid"), "utf8").catch(() => "");
      initPid = Number(text.trim()) || 0;
    }
    if (initPid !== 0 && (await sshBanner(launch.address, launch.port))) return initPid;
    if (!(await isAlive(unsharePid)) || (initPid !== 0 && !(await isAlive(initPid)))) {
      throw new EnvironmentError(`sandbox host ${launch.name} failed to start:\n${await consoleTail(launch.dir)}`, `see ${join(launch.dir, "console.log")}`);
    }
    if (Date.now() > deadline) {
      throw new EnvironmentError(`sandbox host ${launch.name} did not answer on ${launch.address}:${launch.port} within ${timeoutMs} ms`, `see ${join(launch.dir, "console.log")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

