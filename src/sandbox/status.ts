import { existsSync } from "node:fs";
import { readFile, statfs } from "node:fs/promises";
import { hostDir } from "./host.ts";
import { commandLine, isOurs, namespaceProcesses, processInfo, type ProcessInfo } from "./processes.ts";
import type { FaultKind, FleetState, HostStatus, SandboxHost } from "./types.ts";

/** The file a disk-full fault fills the host's disk with (inside the host). */
export const FILL_FILE = "/var/tmp/steward-disk-full";
/** The process name of a dpkg-lock fault's lock holder (inside the host). */
export const LOCK_HOLDER = "steward-dpkg-lock";

// Package states that mean dpkg stopped part-way through a maintainer script or unpack.
const BROKEN_STATES = /^Status: \S+ \S+ (half-installed|half-configured|unpacked)$/m;

/** Path of a file inside a running host, reached through its init's root. */
export function inHost(host: SandboxHost, path: string): string {
  return `/proc/${host.initPid}/root${path}`;
}

/** Observes one host: its processes, boot id, disk, and which faults it shows. */
export async function hostStatus(state: FleetState, host: SandboxHost, processes?: ProcessInfo[]): Promise<HostStatus> {
  const base = { name: host.name, address: host.address };
  if (!(await isOurs(host.initPid, hostDir(state.dir, host.name)))) {
    return { ...base, state: "stopped", sshd: "down", bootId: null, disk: null, faults: [] };
  }
  processes ??= (await namespaceProcesses([host.initPid])).get(host.initPid) ?? [];
  const init = await processInfo(host.initPid);
  const frozen = init?.state === "T";
  const sshdUp = processes.some((p) => p.ppid === host.initPid && p.comm === "sshd");
  const commands = await Promise.all(processes.map((p) => commandLine(p.pid)));
  const bootId = (await readFile(inHost(host, "/run/steward-boot-id"), "utf8").catch(() => "")).trim() || null;
  const fs = await statfs(inHost(host, "/"));
  const dpkgStatus = await readFile(inHost(host, "/var/lib/dpkg/status"), "utf8").catch(() => "");

  const faults: FaultKind[] = [];
  if (dpkgStatus.match(BROKEN_STATES)) faults.push("broken-package");
  if (existsSync(inHost(host, FILL_FILE))) faults.push("disk-full");
  if (commands.some((c) => c.startsWith(LOCK_HOLDER))) faults.push("dpkg-lock");
  if (frozen) faults.push("freeze");
  if (!sshdUp) faults.push("unreachable");
  return {
    ...base,
    state: frozen ? "frozen" : "running",
    sshd: sshdUp ? "up" : "down",
    bootId,
    disk: { usedBytes: (fs.blocks - fs.bfree) * fs.bsize, sizeBytes: fs.blocks * fs.bsize },
    faults,
  };
}

/** Observes every host of a fleet, in inventory order. */
export async function fleetStatus(state: FleetState): Promise<HostStatus[]> {
  // Only inits still ours: a reused PID would otherwise pull in another namespace.
  const running = await Promise.all(state.hosts.map((h) => isOurs(h.initPid, hostDir(state.dir, h.name))));
  const processes = await namespaceProcesses(state.hosts.filter((_, i) => running[i]).map((h) => h.initPid));
  return Promise.all(state.hosts.map((h) => hostStatus(state, h, processes.get(h.initPid) ?? [])));
}
