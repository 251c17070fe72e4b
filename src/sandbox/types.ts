/** How much a host matters; drives escalation severity in steward's inventory. */
export type Criticality = "high" | "medium" | "low";

/** A fault a sandbox host can be put in, to rehearse failure handling against real hosts. */
export type FaultKind =
  /** sshd stopped and kept stopped, the connections already open dropped: new ones are refused. */
  | "unreachable"
  /** every process of the host stopped with SIGSTOP: connections hang. */
  | "freeze"
  /** the host's disk filled to 100%. */
  | "disk-full"
  /** dpkg's locks held by a process inside the host, as a stuck apt run would. */
  | "dpkg-lock"
  /** a package left half-configured by a failing maintainer script. */
  | "broken-package";

export const FAULT_KINDS: readonly FaultKind[] = ["unreachable", "freeze", "disk-full", "dpkg-lock", "broken-package"];

/** One host of a running fleet, as recorded in state.json. */
export interface SandboxHost {
  name: string;
  address: string;
  port: number;
  groups: string[];
  criticality: Criticality;
  tags: string[];
  /** Name of the starting package set installed at `up` (see packages.ts). */
  profile: string;
  /** The `unshare` process outside the host's namespaces. */
  unsharePid: number;
  /** The host's init (PID 1 inside), as seen from outside; signalling it controls the host. */
  initPid: number;
  /** The host's public key line, `ssh-ed25519 AAAA...`. */
  hostKey: string;
}

/** state.json: everything needed to reach, inspect and tear down a fleet. */
export interface FleetState {
  version: 1;
  /** The X of 127.0.X.N. */
  subnet: number;
  /** The hosts' package manager (UpOptions.packageManager); absent in fleets recorded before dnf hosts existed: apt. */
  packageManager?: "apt" | "dnf";
  port: number;
  /** Absolute fleet folder. */
  dir: string;
  createdAt: string;
  identityFile: string;
  knownHosts: string;
  sshConfig: string;
  inventory: string;
  hosts: SandboxHost[];
}

/** What a host is doing right now, observed from its processes and its disk. */
export interface HostStatus {
  name: string;
  address: string;
  state: "running" | "frozen" | "stopped";
  sshd: "up" | "down";
  /** The boot id the host shows at /proc/sys/kernel/random/boot_id; null when stopped. */
  bootId: string | null;
  disk: { usedBytes: number; sizeBytes: number } | null;
  /** Faults observed on the host (not merely requested), sorted. */
  faults: FaultKind[];
}
