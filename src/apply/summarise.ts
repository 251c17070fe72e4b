/**
 * `steward results summarise [run-id...]`: writes runs/<run-id>/summary.json for runs
 * that have none (written before summaries existed) or whose summary is not the one
 * derived from their results.json. Apply, resume and `results merge` write the summary
 * themselves; this is for older repositories, and for a summary a report or `steward
 * audit verify` named.
 *
 * A summary is derived only from a results.json the audit log vouches for: its sha256
 * must be the one the run's latest entry in runs/audit.jsonl recorded. A results.json
 * that was edited (or has no entry) is refused, named, and nothing is written for it:
 * `steward audit verify` says what changed.
 */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { AUDIT_LOG, RUN_ID } from "../audit/entry.ts";
import { readAuditLog } from "../audit/log.ts";
import { digestOf, readRunFile } from "../audit/record.ts";
import { StewardError, UsageError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/fs.ts";
import { jsonQuoted } from "../core/text.ts";
import { runIds } from "../report/history/runs.ts";
import { resultsProblems, type RunResults } from "./results.ts";
import { SUMMARY_FILE, summariseResults, summaryText } from "./summary.ts";

const RESULTS_FILE = "results.json";

/** What was done for one run. */
export interface SummariseOutcome {
  runId: string;
  /** `written`: new or replaced; `unchanged`: already the derived summary; `refused`: see `reason`; `skipped`: no results.json (a run in flight). */
  action: "written" | "unchanged" | "refused" | "skipped";
  reason?: string;
}

/**
 * Summarises the named runs (every run folder under runs/ when `runIdsWanted` is
 * empty), oldest first. Never writes for a results.json the audit log does not vouch for.
 * @throws UsageError (exit 2) naming it, before anything is written: a named id that is
 *   not a run id (`../../etc`), one named twice, or one with no folder under runs/;
 *   StewardError "invalid-input" (exit 3), also before anything is written, for a named
 *   run whose folder holds no results.json yet (applying, or stopped: `--resume` writes it).
 * @throws EnvironmentError when a summary cannot be written; AuditLogError for an audit
 *   log or run file that is a link or not a regular file.
 */
export async function summariseRuns(root: string, runIdsWanted: readonly string[]): Promise<SummariseOutcome[]> {
  await refuseBadNames(root, runIdsWanted);
  const log = await readAuditLog(root);
  const latest = new Map<string, string | undefined>();
  for (const { entry } of log.entries) latest.set(entry.runId, entry.files["results.json"]?.sha256);
  const ids = runIdsWanted.length > 0 ? runIdsWanted : await runIds(root);
  const out: SummariseOutcome[] = [];
  for (const runId of ids) {
    if (!RUN_ID.test(runId)) continue; // a folder under runs/ that is not a run (checked above for named ones)
    const file = `runs/${runId}/${RESULTS_FILE}`;
    const bytes = await readRunFile(join(root, file), file);
    if (bytes === null) {
      out.push(runIdsWanted.length > 0 ? { runId, action: "refused", reason: `${file} does not exist` } : { runId, action: "skipped", reason: "no results.json yet" });
      continue;
    }
    const recorded = latest.get(runId);
    if (recorded === undefined) {
      out.push({ runId, action: "refused", reason: `${AUDIT_LOG} has no entry recording ${file}: steward audit verify` });
      continue;
    }
    if (digestOf(bytes).sha256 !== recorded) {
      out.push({ runId, action: "refused", reason: `${file} is not the one ${AUDIT_LOG} recorded (sha256 ${recorded.slice(0, 12)}…): it was edited; steward audit verify names what changed` });
      continue;
    }
    let results: unknown;
    try {
      results = JSON.parse(bytes.toString("utf8"));
    } catch {
      results = undefined;
    }
    const problems = resultsProblems(results);
    if (problems.length > 0) {
      out.push({ runId, action: "refused", reason: `${file} is not a results file steward writes: ${problems.slice(0, 3).join("; ")}` });
      continue;
    }
    const text = summaryText(summariseResults(results as RunResults, bytes));
    const summaryPath = join(root, "runs", runId, SUMMARY_FILE);
    const existing = await readRunFile(summaryPath, `runs/${runId}/${SUMMARY_FILE}`).catch(() => null);
    if (existing !== null && existing.toString("utf8") === text) {
      out.push({ runId, action: "unchanged" });
      continue;
    }
    await writeFileAtomic(summaryPath, text, { root });
    out.push({ runId, action: "written" });
  }
  return out;
}

/** Named run ids a user mistyped: not a run id, named twice, or no such run folder. */
async function refuseBadNames(root: string, runIdsWanted: readonly string[]): Promise<void> {
  const fix = "name runs by the id steward apply printed (runs/<run-id>/), each once; or name none to summarise every run";
  const seen = new Set<string>();
  for (const runId of runIdsWanted) {
    if (!RUN_ID.test(runId) || runId === "locks" || runId.endsWith(".jsonl") || runId.endsWith(".lock")) throw new UsageError(`${jsonQuoted(runId)} is not a run id`, fix);
    if (seen.has(runId)) throw new UsageError(`run ${runId} is named twice`, fix);
    seen.add(runId);
    const info = await lstat(join(root, "runs", runId)).catch(() => null);
    if (info === null) throw new UsageError(`there is no run ${runId} (runs/${runId}/ does not exist)`, fix);
    if (!info.isDirectory()) throw new UsageError(`runs/${runId} is ${info.isSymbolicLink() ? "a symbolic link" : "not a folder"}, not a run`, fix);
    // The name is right but the record is not there yet: invalid input (exit 3), not a tampered record (5).
    if ((await readRunFile(join(root, "runs", runId, RESULTS_FILE), `runs/${runId}/${RESULTS_FILE}`)) === null) {
      throw new StewardError(
        "invalid-input",
        `run ${runId} has no results to summarise: runs/${runId}/${RESULTS_FILE} does not exist (the run is still applying, or it stopped before writing its results)`,
        `let a running apply finish; resume a stopped run with \`steward apply <plan.json> --resume ${runId}\`, or merge a sharded run's wave with \`steward results merge ${runId}\`: either writes results.json and its summary`,
      );
    }
  }
}
