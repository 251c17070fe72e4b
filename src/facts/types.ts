/**
 * Facts: what a host is, read over SSH without changing anything. The planner reads
 * these and nothing else about a host; apply re-reads the subset a plan depends on
 * (see `digest` in the plan) to refuse stale plans. Mirrors schemas/facts.schema.json.
 */

export type PackageManager = "apt" | "dnf" | "apk";

export interface InstalledPackage {
  name: string;
  version: string;
  /** Architecture as the package manager reports it (amd64, x86_64, noarch, all). */
  arch?: string;
  /** Held or pinned on the host (apt-mark hold, dnf versionlock, apk world pin). */
  held?: boolean;
  /**
   * Present only when the package is not cleanly installed: the package manager's
   * state word (dpkg: "half-configured", "half-installed", "unpacked",
   * "triggers-pending", "reinstreq"). Such a package blocks further upgrades.
   */
  status?: string;
}

/** One version a repository offers, with where it comes from. */
export interface AvailableVersion {
  version: string;
  source?: string;
  security: boolean;
}

export interface UpgradablePackage {
  name: string;
  /**
   * Architecture, for managers that list a package once per architecture (apt: a
   * multi-arch host lists `libc6` for amd64 and for i386, as two entries). Absent where
   * one entry covers every architecture of the package (dnf, apk).
   */
  arch?: string;
  /** Installed version. */
  from: string;
  /** Candidate version the package manager would install. */
  to: string;
  /** Repository/origin the candidate comes from (e.g. "bookworm-security"). */
  source?: string;
  /** True when the candidate comes from a security source. */
  security: boolean;
  /**
   * Every version the repositories offer that is newer than `from` and not newer than
   * `to`, newest first (so the candidate is first); present only when there is more than
   * the candidate and the package manager can list them (apt). The planner takes the
   * newest one the policy allows, e.g. a minor update when the candidate is a major.
   */
  versions?: AvailableVersion[];
}

export interface RebootFacts {
  required: boolean;
  /** Why: "/var/run/reboot-required", "running kernel 6.1.0-9 < installed 6.1.0-13", package list. */
  reasons: string[];
}

export interface MountUsage {
  mount: string;
  filesystem: string;
  sizeBytes: number;
  usedBytes: number;
  /** Used share, 0–100, as `df` rounds it. */
  usedPercent: number;
}

/** An application's versions, as an app-upgrade step's probes report them on one host. */
export interface AppFacts {
  /** What the current_version command printed, trimmed; "" when it printed nothing. */
  current: string;
  /** What available_versions printed, split on whitespace, in its order; absent without that command. */
  available?: string[];
  /** Set when a probe could not be rendered or failed: which one, and why. */
  error?: string;
}

/**
 * The version probes of one app-upgrade, rendered for one host (or why they could not
 * be). They run apart from the facts script, each in its own command, and through the
 * host's become only when the step says `become: true`: probes are read-only and run
 * as the login user otherwise.
 */
export type AppProbe = { app: string; current: string; available?: string; become?: boolean } | { app: string; error: string };

export interface HostFacts {
  os: { id: string; versionId: string; prettyName: string };
  kernel: { release: string; installed: string[] };
  packageManager: PackageManager | null;
  installed: InstalledPackage[];
  upgradable: UpgradablePackage[];
  reboot: RebootFacts;
  disks: MountUsage[];
  memory: { totalBytes: number; availableBytes: number };
  load: { one: number; five: number; fifteen: number; cpus: number };
  uptimeSeconds: number;
  bootId: string;
  services: Record<string, "active" | "inactive" | "failed" | "unknown">;
  /** Applications probed for a runbook's app-upgrade steps, by app name; present only when asked. */
  apps?: Record<string, AppFacts>;
  /**
   * What gathering read but could not use, one line each ("disks: skipped an
   * unparsable df line (5 fields)"): an odd line costs that line, not the host, and is
   * never dropped silently. Present only when there is something to say.
   */
  warnings?: string[];
}

/** Why gathering failed on a host; never thrown past the gatherer. */
export type FactsErrorKind = "unreachable" | "timeout" | "auth-failed" | "host-key-unknown" | "host-key-mismatch" | "host-key-revoked" | "command-failed" | "unparsable" | "forged" | "output-too-large";

/**
 * The facts a plan depends on: what its facts digest covers (factsDigest in
 * src/plan/digest.ts) and what apply's stale check compares (OS, kernels and the reboot
 * flag judged from them, the package manager and lists, probed apps), plus the warnings
 * of reading them. gatherPlanFacts reads only these.
 */
export type PlanFacts = Pick<HostFacts, "os" | "kernel" | "packageManager" | "installed" | "upgradable" | "reboot" | "apps" | "warnings">;

/** gatherPlanFacts' result: a host's PlanFacts or the reason there are none. */
export type PlanFactsResult = { host: string; ok: true; gatheredAt: string; facts: PlanFacts } | Extract<FactsResult, { ok: false }>;

/** One host's facts or the reason there are none: a value, not an exception. */
export type FactsResult =
  | { host: string; ok: true; gatheredAt: string; facts: HostFacts }
  | { host: string; ok: false; gatheredAt: string; error: { kind: FactsErrorKind; message: string } };
