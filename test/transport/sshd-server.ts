import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { HostTarget } from "../../src/transport/types.ts";

/**
 * A real OpenSSH server on a loopback address, configured from a private temp dir:
 * its own host keys, authorized_keys, pid file and log (kept in memory from -e).
 */
export const run = promisify(execFile);

export type KeyType = "ed25519" | "ecdsa" | "rsa";

export interface Sshd {
  address: string;
  port: number;
  dir: string;
  /** Listener PID; per-connection sshd processes are its children. */
  pid: number;
  /** "ssh-ed25519 AAAA..." lines of the server's host keys, by type. */
  hostKeys: Record<KeyType, string | undefined>;
  log(): string;
  stop(): Promise<void>;
}

export interface ClientKey {
  file: string;
  publicLine: string;
}

/** Generates a client key pair with ssh-keygen (empty passphrase unless given). */
export async function makeClientKey(dir: string, passphrase = "", name = "id_ed25519"): Promise<ClientKey> {
  const file = join(dir, name);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "steward-test", "-f", file]);
  return { file, publicLine: readFileSync(`${file}.pub`, "utf8").trim() };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `steward-${prefix}-`));
}

export async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, address, () => {
      const info = server.address();
      server.close(() => (typeof info === "object" && info !== null ? resolve(info.port) : reject(new Error("no port"))));
    });
  });
}

export async function startSshd(options: {
  authorizedKeys: string[];
  address?: string;
  port?: number;
  keyTypes?: KeyType[];
  extraConfig?: string[];
}): Promise<Sshd> {
  // sshd refuses to start without its privilege-separation directory.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const address = options.address ?? "127.0.0.1";
  const dir = tempDir("sshd");
  const keyTypes = options.keyTypes ?? ["ed25519"];
  const hostKeys: Record<KeyType, string | undefined> = { ed25519: undefined, ecdsa: undefined, rsa: undefined };
  const config: string[] = [];
  for (const type of keyTypes) {
    const file = join(dir, `ssh_host_${type}_key`);
    await run("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", file]);
    hostKeys[type] = readFileSync(`${file}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
    config.push(`HostKey ${file}`);
  }
  writeFileSync(join(dir, "authorized_keys"), options.authorizedKeys.join("\n") + "\n", { mode: 0o600 });
  const port = options.port ?? (await freePort(address));
  config.push(
    `Port ${port}`,
    `ListenAddress ${address}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    "UsePAM no",
    "StrictModes no",
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "AllowTcpForwarding yes",
    "LogLevel VERBOSE",
    "MaxStartups 100",
    ...(options.extraConfig ?? []),
  );
  const configFile = join(dir, "sshd_config");
  writeFileSync(configFile, config.join("\n") + "\n");
  const child: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
  const pid = child.pid;
  if (pid === undefined) throw new Error("sshd did not start");
  await waitForPort(address, port, () => log);
  return {
    address,
    port,
    dir,
    pid,
    hostKeys,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(pid, "SIGCONT");
      process.kill(pid, "SIGTERM");
      await exited;
    },
  };
}

async function waitForPort(address: string, port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sshd on ${address}:${port} did not start:\n${log()}`);
}

/** A known_hosts line for the server under the name OpenSSH would look up. */
export function knownHostsLine(server: Sshd, type: KeyType = "ed25519"): string {
  return `[${server.address}]:${server.port} ${server.hostKeys[type] ?? ""}`;
}

/** A root target for the server (or any listener at an address and port), authenticated with `key`. */
export function targetFor(server: Pick<Sshd, "address" | "port">, key: ClientKey, extra: Partial<HostTarget> = {}): HostTarget {
  return {
    name: `sshd-${server.port}`,
    address: server.address,
    port: server.port,
    user: "root",
    become: false,
    hostKeys: [],
    transport: "ssh",
    identityFile: key.file,
    ...extra,
  };
}

/** PIDs of the per-connection sshd processes forked by the listener. */
export async function sessionPids(server: Sshd): Promise<number[]> {
  const { stdout } = await run("pgrep", ["-P", String(server.pid)]).catch(() => ({ stdout: "" }));
  return stdout.split("\n").filter((line) => line.trim() !== "").map(Number);
}
