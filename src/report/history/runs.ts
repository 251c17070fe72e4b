/**
 * Reading the runs of a repository for reports, one at a time, oldest first, so a year
 * of daily runs over a thousand hosts never sits in memory at once. Each run is read
 * from its summary (`runs/<run-id>/summary.json`, src/apply/summary.ts: about a tenth
 * of results.json) when it has a good one, else from `runs/<run-id>/results.json`,
 * summarised in memory by the same function (runs written before summaries existed).
 * The run folder's name carries the run's start (`<runbook>-<YYYYMMDDTHHMMSSZ>-<hex>`,
 * src/apply/index.ts), so runs outside a range are skipped without being read; the
 * runbook is taken from the plan id (`<runbook>-<yyyymmddThhmm>-<12 hex>`,
 * src/plan/document.ts planId).
 *
 * Every file is untrusted input: a link, a non-file, an oversized or malformed
 * results.json is a {@link HistoryProblem} naming the file, and the run is skipped; a
 * bad summary (malformed, another format, or derived from other results.json bytes
 * than those there: their sizes differ) is a problem naming it and how to fix it, and
 * the run is read from results.json instead. A summary whose size matches is trusted
 * as `steward audit verify` left it: verify derives every summary again and names one
 * that differs, as it names an edited results.json.
 */
import { countOutcomes, runStatus } from "../../apply/results.ts";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunResults } from "../../apply/results.ts";
import { SUMMARY_FILE, summariseResults } from "../../apply/summary.ts";
import { RUN_ID } from "../../audit/entry.ts";
import { decodeSummary, ISO_UTC, PLAN_ID, RUN_STATUSES, type RunView } from "./run-view.ts";

/** Something the loader skipped, and why. `file` is relative to the repository root; `line` 0 = the whole file. */
export interface HistoryProblem {
  file: string;
  line: number;
  message: string;
}

/** One run as reports read it. */
export interface RunRecord {
  runId: string;
  /** The runbook's name, from the plan id. */
  runbook: string;
  /** The file the run was read from: `runs/<run-id>/summary.json` or `runs/<run-id>/results.json`. */
  file: string;
  /** Which file that was. */
  source: "summary" | "results";
  run: RunView;
}

/** Largest results.json read (a thousand hosts with every step's evidence fit easily). */
export const MAX_RESULTS_BYTES = 512 * 1024 * 1024;
/** Largest summary.json read (about 50 KB per thousand hosts). */
export const MAX_SUMMARY_BYTES = 64 * 1024 * 1024;

const RUN_STAMP = /^(.+)-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{1,16}$/;

/** The start time a run id carries, in ms; undefined for an id of another shape. */
export function runIdTime(runId: string): number | undefined {
  const m = RUN_STAMP.exec(runId);
  if (m === null) return undefined;
  const t = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
  return Number.isNaN(t) ? undefined : t;
}

/** The runbook a plan id names; undefined for an id of another shape. */
export function runbookOfPlanId(planId: string): string | undefined {
  return PLAN_ID.exec(planId)?.[1];
}

/** What is wrong with a parsed results.json for reporting, or null. Checks what reports read, not every member. */
export function resultsShapeProblem(value: unknown, runId: string): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "is not a JSON object";
  const r = value as Record<string, unknown>;
  if (r.format !== 1) return `has format ${JSON.stringify(r.format)}, expected 1`;
  if (r.runId !== runId) return "names another run than its folder";
  const plan = r.plan as Record<string, unknown> | null;
  if (typeof plan !== "object" || plan === null || typeof plan.id !== "string" || runbookOfPlanId(plan.id) === undefined) return "has no plan id steward makes";
  for (const k of ["startedAt", "finishedAt"]) if (typeof r[k] !== "string" || !ISO_UTC.test(r[k] as string)) return `has a ${k} that is not an ISO 8601 UTC time`;
  if (typeof r.status !== "string" || !RUN_STATUSES.has(r.status)) return "has no run status steward writes";
  if (!Array.isArray(r.hosts)) return "has no hosts";
  for (const h of r.hosts as unknown[]) {
    const host = h as Record<string, unknown> | null;
    if (typeof host !== "object" || host === null || typeof host.host !== "string" || !RUN_ID.test(host.host) || typeof host.outcome !== "string" || !Array.isArray(host.steps)) return "has a host that is not {host, outcome, steps}";
    for (const s of host.steps as unknown[]) {
      const step = s as Record<string, unknown> | null;
      if (typeof step !== "object" || step === null || typeof step.kind !== "string" || typeof step.outcome !== "string" || typeof step.finishedAt !== "string" || !ISO_UTC.test(step.finishedAt)) return `has a step of ${host.host} that is not {kind, outcome, finishedAt}`;
    }
  }
  return consistencyProblem(r as unknown as RunResults, runId);
}

/** Most a run's startedAt may differ from the start its id carries (a clock override in tests sets both). */
const STAMP_SLACK_MS = 86_400_000;

/**
 * What in a well-shaped results.json contradicts itself, as apply writes it: a host
 * listed twice, counts that are not the tally of the hosts' outcomes (countOutcomes),
 * a status that is not the one the hosts give when nothing halted (runStatus), a start
 * far from the one the run id carries or after the end. `steward audit verify` checks
 * the digests; this keeps a hand-edited file out of the figures, named.
 */
function consistencyProblem(r: RunResults, runId: string): string | null {
  const seen = new Set<string>();
  for (const h of r.hosts) {
    if (seen.has(h.host)) return `lists host ${h.host} twice`;
    seen.add(h.host);
  }
  if (r.counts !== undefined && r.counts !== null) {
    const tally = countOutcomes(r.hosts);
    for (const [outcome, n] of Object.entries(r.counts)) {
      if ((tally as Record<string, number>)[outcome] !== n) return `counts ${n} ${outcome} host(s) but lists ${(tally as Record<string, number>)[outcome] ?? 0}`;
    }
  }
  if (!r.status.startsWith("halted:") && runStatus(r.hosts, null) !== r.status) return `has status ${r.status} but its hosts' outcomes give ${runStatus(r.hosts, null)}`;
  return timesProblem(r, runId);
}

/** A start far from the one the run id carries, or an end before the start. */
function timesProblem(r: { startedAt: string; finishedAt: string }, runId: string): string | null {
  const started = Date.parse(r.startedAt);
  const stamp = runIdTime(runId);
  if (stamp !== undefined && Math.abs(started - stamp) > STAMP_SLACK_MS) return `has a startedAt (${r.startedAt}) more than a day from the start its run id carries`;
  if (Date.parse(r.finishedAt) < started) return "has a finishedAt before its startedAt";
  return null;
}

/** The run folders under runs/, oldest first by the start their id carries (ids of another shape last, by name). */
export async function runIds(root: string, onProblem?: (p: HistoryProblem) => void): Promise<string[]> {
  let names: string[];
  try {
    const info = await lstat(join(root, "runs"));
    if (!info.isDirectory()) {
      onProblem?.({ file: "runs", line: 0, message: `is ${info.isSymbolicLink() ? "a symbolic link" : "not a folder"}; no run was read` });
      return [];
    }
    names = await readdir(join(root, "runs"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const keyed = names.filter((n) => RUN_ID.test(n) && n !== "locks" && !n.endsWith(".jsonl") && !n.endsWith(".lock")).map((n) => ({ n, t: runIdTime(n) ?? Infinity }));
  keyed.sort((a, b) => a.t - b.t || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  return keyed.map((k) => k.n);
}

/**
 * Every run that started within `range` (inclusive; by the start its id carries, then
 * by the run's `startedAt`), oldest first, one run in memory at a time, from its summary
 * or its results.json (see the module comment). A folder without results.json (a run
 * still in flight, or crashed before its end) is skipped silently; a bad file is
 * reported to `onProblem`.
 */
export async function* readRuns(root: string, range: { since?: Date; until?: Date } = {}, onProblem?: (p: HistoryProblem) => void): AsyncIterable<RunRecord> {
  const since = range.since?.getTime() ?? -Infinity;
  const until = range.until?.getTime() ?? Infinity;
  for (const runId of await runIds(root, onProblem)) {
    const stamp = runIdTime(runId);
    // The id's stamp is the run's start to the second; the run's own startedAt decides at the edges.
    if (stamp !== undefined && (stamp + 1000 < since || stamp > until)) continue;
    const file = `runs/${runId}/results.json`;
    const path = join(root, file);
    let info;
    try {
      info = await lstat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
      if (await lstat(join(root, "runs", runId, SUMMARY_FILE)).then(() => true, () => false)) onProblem?.({ file: `runs/${runId}/${SUMMARY_FILE}`, line: 0, message: "has no results.json beside it to be derived from; the run was not read (restore results.json from Git; steward audit verify)" });
      continue;
    }
    if (!info.isFile()) {
      onProblem?.({ file, line: 0, message: `is ${info.isSymbolicLink() ? "a symbolic link" : "not a regular file"}; the run was not read` });
      continue;
    }
    if (info.size > MAX_RESULTS_BYTES) {
      onProblem?.({ file, line: 0, message: `is larger than ${MAX_RESULTS_BYTES} bytes; the run was not read` });
      continue;
    }
    const summarised = await readSummary(root, runId, info.size, onProblem);
    let record: RunRecord;
    if (summarised !== undefined) {
      record = { runId, runbook: summarised.runbook, file: `runs/${runId}/${SUMMARY_FILE}`, source: "summary", run: summarised };
    } else {
      let text: string;
      let value: unknown;
      try {
        text = await readFile(path, "utf8");
        value = JSON.parse(text);
      } catch {
        onProblem?.({ file, line: 0, message: "is not JSON; the run was not read" });
        continue;
      }
      const problem = resultsShapeProblem(value, runId);
      const decoded = problem === null ? decodeSummary(summariseResults(value as RunResults, text), runId) : { problem };
      if ("problem" in decoded) {
        onProblem?.({ file, line: 0, message: `${decoded.problem}; the run was not read` });
        continue;
      }
      record = { runId, runbook: decoded.run.runbook, file, source: "results", run: decoded.run };
    }
    const started = Date.parse(record.run.startedAt);
    if (started < since || started > until) continue;
    yield record;
  }
}

/**
 * The run from runs/<run-id>/summary.json, or undefined when there is none or it is bad
 * (then a problem names it; the caller reads results.json instead). `resultsBytes` is
 * the size of the results.json beside it, which the summary must have been derived from.
 */
async function readSummary(root: string, runId: string, resultsBytes: number, onProblem?: (p: HistoryProblem) => void): Promise<RunView | undefined> {
  const file = `runs/${runId}/${SUMMARY_FILE}`;
  const path = join(root, file);
  const fix = `the run was read from results.json instead: \`steward audit verify\` says whether either was edited; \`steward results summarise ${runId}\` writes the summary again`;
  let info;
  try {
    info = await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
  if (!info.isFile()) {
    onProblem?.({ file, line: 0, message: `is ${info.isSymbolicLink() ? "a symbolic link" : "not a regular file"}; ${fix} (after removing it)` });
    return undefined;
  }
  if (info.size > MAX_SUMMARY_BYTES) {
    onProblem?.({ file, line: 0, message: `is larger than ${MAX_SUMMARY_BYTES} bytes; ${fix}` });
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse((await readFile(path)).toString("utf8"));
  } catch {
    onProblem?.({ file, line: 0, message: `is not JSON; ${fix}` });
    return undefined;
  }
  const decoded = decodeSummary(value, runId);
  const problem = "problem" in decoded ? decoded.problem : timesProblem(decoded.run, runId) ?? (decoded.results.bytes !== resultsBytes ? `was derived from a results.json of ${decoded.results.bytes} bytes, not the ${resultsBytes} bytes there now` : null);
  if (problem !== null) {
    onProblem?.({ file, line: 0, message: `${problem}; ${fix}` });
    return undefined;
  }
  return (decoded as { run: RunView }).run;
}
