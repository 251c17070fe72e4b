/**
 * The plan: what `steward plan` decided and `steward apply` will do, exactly. A plain
 * value with a JSON schema (schemas/plan.schema.json); apply reads nothing else.
 */
import type { FactsErrorKind, PackageManager } from "../facts/types.ts";
import type { Check, CountOrPercent, Criticality, Policy, Step, StepKind } from "../model/types.ts";
import type { AppDecision } from "../steps/app-upgrade/decide.ts";
import type { DatabaseDecision } from "../steps/database/index.ts";
import type { ExcludedPackage, ExclusionReason, PlannedPackage } from "./policy.ts";

/**
 * Bumped when the plan's shape changes incompatibly; apply refuses formats it does not
 * know. 4: the plan carries each step's full definition, the runbook's vars and the
 * gate's checks, and actions name their step by index.
 */
export const PLAN_FORMAT = 5;

/** A plan without the two members made from its content: what planDigest hashes. */
export type PlanBody = Omit<Plan, "id" | "digest">;

/**
 * The packages this host's plan records a downgrade for: only those may be installed
 * with apt's --allow-downgrades (`{ allowDowngrades: true }` of the driver's install).
 * The planner plans only versions newer than the installed one (policy.ts), so a plan
 * records no downgrade and this set is empty: a version that sorts below the installed
 * one (a repository that went backwards, say) is refused by the package manager
 * rather than installed.
 */
export function plannedDowngrades(_host: PlannedHost): ReadonlySet<string> {
  return NO_DOWNGRADES;
}

const NO_DOWNGRADES: ReadonlySet<string> = new Set();

/** Why a host the runbook could reach is not in any wave. */
export type HostSkipReason =
  /** Targeted by the runbook, but outside `--limit`. */
  | "excluded-by-limit"
  /** Inside `--limit`, but not targeted by the runbook. */
  | "not-targeted"
  /** The maintenance window never opens again. */
  | "window-never-opens"
  /** No facts were gathered or cached for the host. */
  | "no-facts"
  /** Facts could not be gathered: the host did not answer (unreachable, timeout). */
  | "unreachable"
  /** Facts could not be gathered for another reason (authentication, host key, parse). */
  | "facts-failed"
  /** The runbook manages packages and the host has no supported package manager. */
  | "no-package-manager"
  /** The runbook manages packages and some are half-installed or half-configured: the package manager refuses changes until they are repaired. */
  | "broken-packages"
  /** An app-upgrade step cannot decide a version for the host (no facts, a failed probe, nothing in range). */
  | "app-version-unknown"
  /** The runbook manages packages and, after policy, nothing is left to change. */
  | "nothing-to-do";

export interface SkippedHost {
  host: string;
  reason: HostSkipReason;
  detail: string;
  /** For unreachable / facts-failed: the gatherer's error kind. */
  factsError?: FactsErrorKind;
  /** For nothing-to-do: the package upgrades the policy left out, so every one has a reason on record. */
  excluded?: ExcludedPackage[];
}

/**
 * Which runbook step an action is: `index` into `plan.runbook.steps`, where the step's
 * full definition is, and its name for people (names are unique within a runbook).
 */
export interface ActionStep {
  step: string;
  index: number;
}

/** Kinds decided only when they run: the plan records that they will run. */
export type WillRunKind = Exclude<StepKind, "packages" | "reboot" | "app-upgrade" | "database">;

/** One runbook step as it will run on one host; each kind decides its own (src/steps/<kind>/). */
export type PlannedAction =
  | (ActionStep & { kind: "packages"; action: "upgrade"; upgrades: PlannedPackage[]; excluded: ExcludedPackage[] })
  | (ActionStep & { kind: "packages"; action: "install" | "remove"; packages: Array<{ name: string; version?: string }> })
  | (ActionStep & { kind: "reboot"; when: "required" | "always"; expected: boolean; because: string[] })
  | (ActionStep & { kind: "app-upgrade" } & AppDecision)
  | (ActionStep & { kind: "database" } & DatabaseDecision)
  | { [K in WillRunKind]: ActionStep & { kind: K } }[WillRunKind];

export interface PlannedHost {
  name: string;
  /** 0-based wave index. */
  wave: number;
  /** 1-based position in the rollout order. */
  position: number;
  criticality: Criticality;
  /** The first `rollout.order` group the host belongs to; null when it is in none (it goes last). */
  orderGroup: string | null;
  /** The groups the inventory lists for the host (its own `groups:`, not their parents), sorted: for the reviewer. */
  groups: string[];
  os: string;
  packageManager: PackageManager | null;
  factsGatheredAt: string;
  /** sha256 (hex) of exactly the facts this host's plan depends on; see factsDigest(). */
  factsDigest: string;
  /** The host's own architecture (that of its installed dpkg package), when the facts show it. */
  arch?: string;
  actions: PlannedAction[];
  upgrades: number;
  rebootExpected: boolean;
}

export interface PlanWave {
  index: number;
  spec: CountOrPercent | "rest" | "all";
  /** Hosts started by the end of this wave. */
  total: number;
  size: number;
  /** Host names in start order. */
  hosts: string[];
}

export interface PlanWindow {
  timezone: string;
  days: string[];
  start: string;
  duration: string;
  /** The opening the plan targets: the current one if open at plan time, else the next. Null if it never opens. */
  opens: string | null;
  closes: string | null;
  openAtPlanTime: boolean;
  /** Why the window never opens, when it does not. */
  never?: string;
}

export interface Plan {
  format: typeof PLAN_FORMAT;
  /**
   * `<runbook>-<yyyymmddThhmm of createdAt, UTC>-<first 12 hex of digest>`; see planId.
   * Not covered by the digest (it is made from it), but checked against it on read.
   */
  id: string;
  /**
   * sha256 (hex) of the RFC 8785 canonical JSON of the plan file's content without its
   * `id` and `digest` members (see planDigest in document.ts): any edit of the written
   * plan (a version, a host, a wave, the failure budget) changes it, and parsePlan
   * refuses a file whose content no longer matches.
   */
  digest: string;
  createdAt: string;
  toolVersion: string;
  /** sha256 (hex) over input files, runbook, policy, tool version and limit. */
  fingerprint: string;
  inputs: { files: Array<{ path: string; sha256: string }> };
  /**
   * What apply needs of the runbook, so the plan is its one input: each step's full
   * definition exactly as the runbook has it (templates unrendered; `hosts`, `become`,
   * `timeout`, `on_failure` included), in runbook order, and the runbook's `vars` ({}
   * when it has none), secrets still as `{ env: NAME }` references. Templates are
   * rendered per host at apply time, with `host.*` and the host's vars from the
   * inventory the plan's inputs pin. Steps are written once per plan; actions refer to
   * them by index.
   */
  runbook: { name: string; file: string; targets: string; description?: string; vars: Record<string, unknown>; steps: Step[] };
  limit: string | null;
  /** Null when the runbook has no window: work may start at any time. */
  window: PlanWindow | null;
  policy: Policy;
  rollout: {
    /** Hosts in waves: the n every percentage is taken of. */
    hostCount: number;
    order: string[];
    serialWithinGroup: boolean;
    failureBudget: { spec: CountOrPercent | null; allowed: number; haltsAt: number };
    concurrency: { spec: CountOrPercent | null; hosts: number | null };
    groupConcurrency: Record<string, number>;
    /** Between waves: the checks run on the hosts of the finished wave (full definitions, templates unrendered), then the pause. */
    gate: { checks: Check[]; pause: string | null };
    waves: PlanWave[];
  };
  hosts: PlannedHost[];
  skipped: SkippedHost[];
  summary: {
    targeted: number;
    selected: number;
    planned: number;
    skipped: number;
    waves: number[];
    upgrades: number;
    rebootsExpected: number;
    skippedByReason: Partial<Record<HostSkipReason, number>>;
    excludedByReason: Partial<Record<ExclusionReason, number>>;
  };
}
