import type { HostResult } from "../apply/types.ts";
import type { Criticality, StepKind } from "../model/types.ts";

/**
 * Incident severity of a run's failures, SEV1 (worst) to SEV4, as PagerDuty and
 * Atlassian grade them: SEV1 a critical service broken, SEV2 a critical service at
 * risk or an important one broken, SEV3 degraded, SEV4 noise. When unsure, the higher.
 * The grade of a host comes from its criticality (inventory) and what the failure left
 * behind (README, "Severity"); the grade of a run is its worst host's, and a rollout
 * halted by its failure budget or a gate is at least SEV3.
 */
export type Severity = "SEV1" | "SEV2" | "SEV3" | "SEV4";

/**
 * What a host's failure left behind, worst first:
 * - `broken`: a change was interrupted half-way — a package step failed after it started
 *   its transaction (the package manager may hold half-configured packages), or a
 *   reboot never came back;
 * - `partial`: some step changed the host, then a later one failed;
 * - `untouched`: a step failed before anything changed;
 * - `unreachable`: steward could not reach the host (it may be down);
 * - `precheck`: a pre-check failed, so nothing was started.
 */
export type FailureKind = "broken" | "partial" | "untouched" | "unreachable" | "precheck";

/** Steps whose failure can leave a host between two states. */
const HALF_DONE_KINDS: ReadonlySet<StepKind> = new Set<StepKind>(["packages", "app-upgrade", "reboot"]);

/**
 * Whether a failed step of a half-done kind may have left the host between two states. A
 * packages step records its job id (src/steps/packages/execute.ts) from the moment it
 * starts a transaction; one that failed without one was refused before anything changed
 * (broken packages before, a simulation beyond the plan, output not trusted).
 */
function mayHaveChanged(step: HostResult["steps"][number]): boolean {
  return step.kind !== "packages" || step.outcome === "unknown" || step.evidence?.["job"] !== undefined;
}

/** The failure kind of a host result; undefined when the host did not fail. */
export function failureKind(result: HostResult): FailureKind | undefined {
  switch (result.outcome) {
    case "unreachable":
      return "unreachable";
    case "cancelled:precheck":
      return "precheck";
    case "failed": {
      const failed = result.steps.find((s) => s.outcome === "failed" || s.outcome === "unknown");
      if (failed !== undefined && HALF_DONE_KINDS.has(failed.kind) && mayHaveChanged(failed)) return "broken";
      return result.steps.some((s) => s.outcome === "changed") ? "partial" : "untouched";
    }
    default:
      return undefined;
  }
}

/** Severity by failure kind, then criticality (low, medium, high, critical). */
const MATRIX: Readonly<Record<FailureKind, Readonly<Record<Criticality, Severity>>>> = {
  broken: { critical: "SEV1", high: "SEV2", medium: "SEV2", low: "SEV3" },
  partial: { critical: "SEV2", high: "SEV2", medium: "SEV3", low: "SEV3" },
  unreachable: { critical: "SEV2", high: "SEV3", medium: "SEV4", low: "SEV4" },
  untouched: { critical: "SEV2", high: "SEV3", medium: "SEV4", low: "SEV4" },
  precheck: { critical: "SEV3", high: "SEV4", medium: "SEV4", low: "SEV4" },
};

/** The severity of one host's failure, or undefined when it did not fail. */
export function hostSeverity(result: HostResult, criticality: Criticality): Severity | undefined {
  const kind = failureKind(result);
  return kind === undefined ? undefined : MATRIX[kind][criticality];
}

const RANK: Readonly<Record<Severity, number>> = { SEV1: 1, SEV2: 2, SEV3: 3, SEV4: 4 };

/** The worse of two severities (SEV1 is the worst). */
export function worse(a: Severity, b: Severity): Severity {
  return RANK[a] <= RANK[b] ? a : b;
}

/**
 * A run's severity: the worst of its hosts', at least SEV3 when the rollout halted on
 * its failure budget or a gate; undefined when nothing failed and nothing halted.
 */
export function runSeverity(hosts: ReadonlyArray<{ result: HostResult; criticality: Criticality }>, halted: boolean): Severity | undefined {
  let severity: Severity | undefined = halted ? "SEV3" : undefined;
  for (const { result, criticality } of hosts) {
    const s = hostSeverity(result, criticality);
    if (s !== undefined) severity = severity === undefined ? s : worse(severity, s);
  }
  return severity;
}
