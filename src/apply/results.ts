/**
 * runs/<run-id>/results.json: what a run did, per host and step, for people, the
 * report and scripts. Its shape is schemas/results.schema.json; it is written
 * atomically (core/fs.ts) at the end of each run, of each resume and of each merge of a
 * sharded wave, so a reader never sees half a file, together with the run's
 * summary.json (summary.ts), the compact form reports read.
 */
import { schemaCheck } from "../core/schema-check.ts";
import { join } from "node:path";
import type { HaltReason } from "../core/events.ts";
import { writeFilesAtomic } from "../core/fs.ts";
import type { Plan } from "../plan/types.ts";
import { SUMMARY_FILE, summariseResults, summaryProblems, summaryText } from "./summary.ts";
import { BUDGET_OUTCOMES, HOST_OUTCOMES, type HostOutcome, type HostResult, type RunStatus } from "./types.ts";

/** The file name of a run's results inside runs/<run-id>/. */
export const RESULTS_FILE = "results.json";

export const RESULTS_FORMAT = 1;

export interface RunResults {
  format: typeof RESULTS_FORMAT;
  runId: string;
  plan: { id: string; digest: string };
  /** ISO 8601 UTC: the run's first start, and the end of its latest attempt. */
  startedAt: string;
  finishedAt: string;
  status: RunStatus;
  /** The exit code of the README table: 0 ok, 1 hosts failed, 4 halted. */
  exitCode: 0 | 1 | 4;
  /** Why the rollout stopped starting hosts, when it did. */
  halt: { reason: HaltReason; detail: string } | null;
  /** Failures counted against the budget (resumed ones included), and the count that halts. */
  failureBudget: { failures: number; haltsAt: number };
  /** How many times the run was resumed. */
  resumes: number;
  /** Hosts per outcome; every outcome is present. */
  counts: Record<HostOutcome, number>;
  /** Every host of the plan's waves, in rollout order. */
  hosts: HostResult[];
}

/** Outcomes that make a run `hosts-failed` (exit 1) when nothing halted it: the host was not done as planned. */
const NOT_DONE: ReadonlySet<HostOutcome> = new Set<HostOutcome>([...BUDGET_OUTCOMES, "skipped:stale", "not-started:window", "interrupted"]);

/** The run's status from its hosts and halt. */
export function runStatus(hosts: readonly Pick<HostResult, "outcome">[], halt: HaltReason | null): RunStatus {
  if (halt !== null) return `halted:${halt}`;
  return hosts.some((h) => NOT_DONE.has(h.outcome)) ? "hosts-failed" : "ok";
}

/** README, "Exit codes": 0 success, 1 some hosts failed, 4 halted. */
export function exitCodeFor(status: RunStatus): 0 | 1 | 4 {
  return status === "ok" ? 0 : status === "hosts-failed" ? 1 : 4;
}

/**
 * The failure budget's count in the one wording every output uses (the halt detail,
 * progress, the CLI's summary, the report): "2 host(s) counted against the failure
 * budget (1 failed, 1 unreachable)". `failures` is the budget's count (resumed failures
 * included); the breakdown is by outcome (BUDGET_OUTCOMES) over `hosts`, the hosts
 * with a final result, so it reads the same as the summary's counts by outcome.
 */
export function budgetCount(failures: number, hosts: Iterable<Pick<HostResult, "outcome">>): string {
  const by = new Map<HostOutcome, number>();
  for (const h of hosts) if (BUDGET_OUTCOMES.has(h.outcome)) by.set(h.outcome, (by.get(h.outcome) ?? 0) + 1);
  const parts = HOST_OUTCOMES.filter((o) => by.has(o)).map((o) => `${by.get(o)} ${o}`);
  return `${failures} host(s) counted against the failure budget${parts.length > 0 ? ` (${parts.join(", ")})` : ""}`;
}

/** Hosts per outcome, every outcome present (zero when none). */
export function countOutcomes(hosts: readonly HostResult[]): Record<HostOutcome, number> {
  const counts = Object.fromEntries(HOST_OUTCOMES.map((o) => [o, 0])) as Record<HostOutcome, number>;
  for (const h of hosts) counts[h.outcome] += 1;
  return counts;
}

/**
 * A run's results from what the engine knows at its end: the hosts in rollout order,
 * the status it journaled, why it halted, the budget's count and the resumes so far.
 * The exit code and the counts by outcome follow from them.
 */
export function runResults(r: { runId: string; plan: Pick<Plan, "id" | "digest" | "rollout">; startedAt: string; finishedAt: string; status: RunStatus; halt: RunResults["halt"]; failures: number; resumes: number; hosts: HostResult[] }): RunResults {
  return {
    format: RESULTS_FORMAT,
    runId: r.runId,
    plan: { id: r.plan.id, digest: r.plan.digest },
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    status: r.status,
    exitCode: exitCodeFor(r.status),
    halt: r.halt,
    failureBudget: { failures: r.failures, haltsAt: r.plan.rollout.failureBudget.haltsAt },
    resumes: r.resumes,
    counts: countOutcomes(r.hosts),
    hosts: r.hosts,
  };
}

/** results.json's text: pretty-printed JSON and a newline. */
export function resultsText(results: RunResults): string {
  return `${JSON.stringify(results, null, 2)}\n`;
}

/**
 * Writes results.json into `runDir` and, unless `options.summary` is false (a shard's
 * results, which reports never read), summary.json derived from those very bytes
 * (src/apply/summary.ts), as one atomic pair (core/fs.ts writeFilesAtomic): both are
 * replaced or neither, so they never disagree on disk. Both are checked against their
 * schemas first (a mismatch is a bug in steward, and says so rather than writing a wrong
 * file).
 * @returns the path of results.json.
 * @throws EnvironmentError when the folder cannot be written.
 */
export async function writeResults(runDir: string, results: RunResults, options: { summary?: boolean; root?: string } = {}): Promise<string> {
  const problems = resultsProblems(results);
  if (problems.length > 0) throw new Error(`results of run ${results.runId} do not match schemas/results.schema.json (a bug in steward): ${problems.join("; ")}`);
  const path = join(runDir, RESULTS_FILE);
  const text = resultsText(results);
  const files = [{ path, text }];
  if (options.summary !== false) {
    const summary = summariseResults(results, text);
    const wrong = summaryProblems(summary);
    if (wrong.length > 0) throw new Error(`the summary of run ${results.runId} does not match schemas/run-summary.schema.json (a bug in steward): ${wrong.join("; ")}`);
    files.push({ path: join(runDir, SUMMARY_FILE), text: summaryText(summary) });
  }
  await writeFilesAtomic(files, options.root === undefined ? {} : { root: options.root });
  return path;
}

/** Problems of `value` as results.json, one `<path>: <what>` line each; [] when it is valid. */
export const resultsProblems: (value: unknown) => string[] = schemaCheck("results.schema.json");
