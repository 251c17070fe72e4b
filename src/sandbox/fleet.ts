import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { EnvironmentError, UsageError } from "../core/errors.ts";
import { setupBackupHost } from "./backup-host.ts";
import { clientPaths, hostName, placement, writeClientFiles } from "./client-files.ts";
import { assertDnfSupported, assertSandboxSupported } from "./environment.ts";
import { mapLimit, run } from "./exec.ts";
import { hostDir, launchHost, prepareHost, waitHostReady, type HostLaunch } from "./host.ts";
import { buildLayers, lowerDirs } from "./layers.ts";
import { mountsUnder, unmountUnder } from "./mounts.ts";
import { portInUse } from "./net.ts";
import { buildRepository, defaultCacheDir, ensureSudoDeb, PROFILES } from "./packages.ts";
import { isOurs, signal, waitGone } from "./processes.ts";
import { ensureRpmRepository } from "./rpm.ts";
import type { FleetState, SandboxHost } from "./types.ts";

/** Options of `upFleet`. */
export interface UpOptions {
  /** Fleet folder; created if missing. */
  dir: string;
  /** Number of hosts, 1 to 254 (default 5). */
  count?: number;
  /** The X of the hosts' addresses 127.0.X.N, 1 to 255 (default 10). Parallel fleets need distinct values. */
  subnet?: number;
  /** sshd's port on every host (default 2222). */
  port?: number;
  /** Size of each host's disk, a tmpfs size such as "128m" (default). */
  diskSize?: string;
  /** Paths of the real system hidden inside hosts besides /root, /home, /tmp and the fleet folder (e.g. the project). */
  hide?: readonly string[];
  /** Where downloaded .debs (sudo) are cached between fleets. */
  cacheDir?: string;
  /**
   * Make the last host a backup host (group `backup`) that the others reach as
   * `sftp:backup:/srv/restic/…` with restic (backup-host.ts). Needs 2 hosts or more.
   */
  backupHost?: boolean;
  /**
   * The hosts' package manager (default "apt"). "dnf" hosts run dnf 4 with an rpm
   * database of their own and the same test packages as rpms (rpm.ts, setup-dnf.sh),
   * their /etc/os-release says Fedora, and apt and dpkg are hidden; the rpm repository
   * is built once into `cacheDir` and reused. Needs rpm, createrepo-c, dnf and
   * dnf-plugins-core on this machine. The dpkg-lock and broken-package faults are apt's.
   */
  packageManager?: "apt" | "dnf";
}

/** What `downFleet` did. */
export interface DownResult {
  stoppedHosts: number;
  unmounted: string[];
}

const STATE_FILE = "state.json";
// Everything `up` creates in the fleet folder; `down` deletes exactly these.
const FLEET_ENTRIES = [STATE_FILE, "id_ed25519", "id_ed25519.pub", "known_hosts", "ssh_config", "inventory", "hosts", "layers", "repo", "build"];

/** Reads a fleet's state.json; throws EnvironmentError when no fleet is recorded there. */
export async function readFleetState(dir: string): Promise<FleetState> {
  const path = join(resolve(dir), STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new EnvironmentError(`no sandbox fleet in ${resolve(dir)} (no ${STATE_FILE})`, "start one with 'steward sandbox up'");
  }
  return JSON.parse(text) as FleetState;
}

async function writeState(state: FleetState): Promise<void> {
  await writeFile(join(state.dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/** True when any host of the folder still runs or anything below it is mounted. */
async function fleetActive(dir: string): Promise<boolean> {
  if ((await mountsUnder(dir)).length > 0) return true;
  for (const init of await recordedInits(dir)) if (await isOurs(init.pid, init.dir)) return true;
  return false;
}

/** Init PIDs written by the hosts themselves: found even when state.json was never written. */
async function recordedInits(dir: string): Promise<Array<{ pid: number; dir: string }>> {
  const hostsDir = join(dir, "hosts");
  const names = await readdir(hostsDir).catch(() => [] as string[]);
  const inits = await Promise.all(
    names.map(async (name) => {
      const text = await readFile(join(hostsDir, name, "init.pid"), "utf8").catch(() => "");
      return { pid: Number(text.trim()) || 0, dir: join(hostsDir, name) };
    }),
  );
  return inits.filter((i) => i.pid > 0);
}

function validate(count: number, subnet: number, port: number): void {
  if (!Number.isInteger(count) || count < 1 || count > 254) throw new UsageError(`host count must be 1 to 254, got ${count}`);
  if (!Number.isInteger(subnet) || subnet < 1 || subnet > 255) throw new UsageError(`subnet must be 1 to 255 (the X of 127.0.X.N), got ${subnet}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`port must be 1 to 65535, got ${port}`);
}

/**
 * Starts a fleet of sandbox hosts and writes its state and client files. Refuses when a
 * fleet is already up in the folder (a clear error rather than a silent reuse: the
 * caller asked for a specific size and subnet); a stale folder left by a crash is
 * cleaned first. On any failure everything started so far is torn down.
 */
export async function upFleet(options: UpOptions): Promise<FleetState> {
  const dir = resolve(options.dir);
  const count = options.count ?? 5;
  const subnet = options.subnet ?? 10;
  const port = options.port ?? 2222;
  validate(count, subnet, port);
  if (options.backupHost === true && count < 2) throw new UsageError("a fleet with a backup host needs 2 hosts or more");
  await assertSandboxSupported();
  if (options.packageManager === "dnf") await assertDnfSupported();
  if (existsSync(dir)) {
    if (await fleetActive(dir)) throw new EnvironmentError(`a sandbox fleet is already up in ${dir}`, "run 'steward sandbox down' first, or pick another --dir");
    await downFleet(dir);
  }
  const addresses = Array.from({ length: count }, (_, i) => `127.0.${subnet}.${i + 1}`);
  const busy = (await Promise.all(addresses.map((a) => portInUse(a, port)))).findIndex(Boolean);
  if (busy >= 0) throw new EnvironmentError(`${addresses[busy]}:${port} is already in use`, "another fleet uses this subnet: pick another with --subnet");

  await mkdir(dir, { recursive: true });
  try {
    return await startFleet(dir, addresses, subnet, port, options);
  } catch (error) {
    await downFleet(dir).catch(() => undefined);
    throw error;
  }
}

async function startFleet(dir: string, addresses: string[], subnet: number, port: number, options: UpOptions): Promise<FleetState> {
  const paths = clientPaths(dir);
  const repoDir = join(dir, "repo");
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dnf = options.packageManager === "dnf";
  const [, sudoDeb, , rpmRepoDir] = await Promise.all([
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "steward@sandbox", "-f", paths.identityFile]),
    ensureSudoDeb(cacheDir),
    buildRepository(repoDir, join(dir, "build")),
    dnf ? ensureRpmRepository(cacheDir) : Promise.resolve(undefined),
  ]);
  const layers = await buildLayers(dir, repoDir, cacheDir, sudoDeb, rpmRepoDir);
  const clientKey = await readFile(`${paths.identityFile}.pub`, "utf8");
  const profiles = Object.keys(PROFILES).sort();
  const hide = [dir, ...(options.hide ?? [])].map((p) => resolve(p));

  const hosts: SandboxHost[] = await mapLimit(addresses, 8, async (address, i) => {
    const name = hostName(i, addresses.length);
    const hostKey = await prepareHost(hostDir(dir, name), name, clientKey);
    const profile = profiles[i % profiles.length] as string;
    const placed = placement(i);
    if (options.backupHost === true && i === addresses.length - 1) placed.groups = ["sandbox", "backup"];
    return { name, address, port, ...placed, profile, unsharePid: 0, initPid: 0, hostKey };
  });
  const launches: HostLaunch[] = hosts.map((h) => ({
    name: h.name,
    address: h.address,
    port,
    dir: hostDir(dir, h.name),
    lowerDirs: lowerDirs(layers, h.profile),
    repoDir,
    ...(rpmRepoDir !== undefined ? { rpmRepoDir } : {}),
    diskSize: options.diskSize ?? "128m",
    hide,
  }));
  const state: FleetState = { version: 1, subnet, ...(dnf ? { packageManager: "dnf" as const } : {}), port, dir, createdAt: new Date().toISOString(), ...paths, hosts };
  hosts.forEach((h, i) => {
    h.unsharePid = launchHost(launches[i] as HostLaunch);
  });
  await writeState(state);
  await Promise.all(
    hosts.map(async (h, i) => {
      h.initPid = await waitHostReady(launches[i] as HostLaunch, h.unsharePid);
    }),
  );
  await writeState(state);
  if (options.backupHost === true) await setupBackupHost(state, hosts[hosts.length - 1]!.name, hosts.slice(0, -1).map((h) => h.name));
  await writeClientFiles(state);
  return state;
}

/**
 * Stops every host of the folder by its recorded PID, unmounts everything below the
 * folder, then deletes what `up` created. Refuses to delete while anything is still
 * mounted there, since deleting would descend into a host's disk. Safe to repeat.
 */
export async function downFleet(dirOption: string): Promise<DownResult> {
  const dir = resolve(dirOption);
  if (!existsSync(dir)) return { stoppedHosts: 0, unmounted: [] };
  const state = await readFleetState(dir).catch(() => undefined);
  const targets: number[] = [];
  for (const init of await recordedInits(dir)) {
    if (await isOurs(init.pid, init.dir)) targets.push(init.pid);
  }
  const stoppedHosts = targets.length;
  for (const host of state?.hosts ?? []) {
    if (await isOurs(host.unsharePid, hostDir(dir, host.name))) targets.push(host.unsharePid);
  }
  for (const pid of targets) signal(pid, "SIGKILL");
  if (!(await waitGone(targets, 15_000))) throw new EnvironmentError(`sandbox processes in ${dir} did not stop`, "look for them with 'ps' and stop them by PID");
  const unmounted = await unmountUnder(dir);
  const left = await mountsUnder(dir);
  if (left.length > 0) throw new EnvironmentError(`still mounted below ${dir}: ${left.join(", ")}; refusing to delete`, "unmount them, then run 'steward sandbox down' again");
  await Promise.all(FLEET_ENTRIES.map((entry) => rm(join(dir, entry), { recursive: true, force: true })));
  await rmdir(dir).catch(() => undefined);
  return { stoppedHosts, unmounted };
}
