/**
 * `steward results merge <run-id>`: merges the shards of the run's next wave into the
 * run's own files, runs/<run-id>/journal.jsonl, results.json and report.md, decides
 * whether the next wave may start, and records one audit entry (type "merge").
 *
 * The merged journal, per wave: a wave-start; every host record of every shard
 * (host-start, host-wait, step-intent, step-outcome, host-end, window-close, signal),
 * each exactly once, in time order (ties: the lower shard first; each shard's own order
 * kept), re-chained with the journal's seq and prev and keeping its own time; a
 * wave-end; a shard-merge naming each shard's journal and results by sha256; then the
 * verdicts (merge-decide.ts). A shard's own run-start, wave records, gate, budget-trip
 * and run-end stay in its journal and are summed up by shard-merge.
 *
 * Before anything is written: a wave with a shard stopped by SIGINT/SIGTERM
 * (halted:signal) is refused (exit 2), naming the shard and its resume, since a merged
 * wave's shards can no longer be resumed; `acceptStopped` merges it as it stands. Then
 * the same for hosts left with a step of unknown effect (`acceptUnknown`).
 *
 * Verdicts (merge-decide.ts): a halt (signal, budget or gate) or a closed window ends
 * the run (exit 4, or 1 for the window); otherwise the gate's pause is waited out and
 * the next wave may start (exit 0, or 1 when some hosts failed).
 *
 * Crash safety: a merge killed at any point is completed by running the same command
 * again, which then ends as a merge that was not killed: every record once, one
 * shard-merge, one audit entry, the same verdict. The wave's records reach the journal
 * whole or not at all (a temporary file renamed into place: merge-journal.ts), and the
 * audit entry, written last, is what marks a merge complete. A merge that finds a
 * wave's records in the journal with no entry recording them checks that they are
 * exactly what it writes from the same shards, waits out what is left of the gate's
 * pause, and writes results.json, report.md and the entry; it merges no further wave.
 */
import { readdir } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { actorOf, approvalFromActions, approvalFromHistory } from "../../audit/approval.ts";
import { AUDIT_LOG, RUN_ID, type AuditEntry } from "../../audit/entry.ts";
import { recordRun } from "../../audit/record.ts";
import { UsageError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/fs.ts";
import type { RunSecrets } from "../../core/secrets.ts";
import { sleep as realSleep } from "../../core/sleep.ts";
import type { Plan } from "../../plan/types.ts";
import { renderRunReport } from "../../report/run-report.ts";
import { exists, readPlanFile } from "../index.ts";
import { JOURNAL_FILE } from "../journal.ts";
import type { JournalRecord } from "../journal-records.ts";
import { JournalError, readJournal } from "../journal-replay.ts";
import { tornNotesOf } from "../torn.ts";
import { lockPlan } from "../lock.ts";
import { runResults, runStatus, writeResults, type RunResults } from "../results.ts";
import { BUDGET_OUTCOMES } from "../types.ts";
import { allHosts, decideWave, replayed, sameRecords, type WaveDecision } from "./merge-decide.ts";
import { readRunJournal, removeLeftovers, writeRunJournal } from "./merge-journal.ts";
import { readWaveShards, type ReadShard } from "./merge-read.ts";
import { mergedStateOf } from "./state.ts";

export interface MergeOptions {
  root: string;
  runId: string;
  /** The plan file; default plans/<plan-id>.json, the plan id read from the run's journals. */
  planFile?: string;
  /** The wave to merge, 1-based; it must be the next one. */
  wave?: number;
  secrets: RunSecrets;
  env: NodeJS.ProcessEnv;
  /** Waits out the gate's pause; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Merge even when a shard left hosts with a step of unknown effect (`--accept-unknown`):
   * once the wave is merged its shards can no longer be resumed with `--retry-unknown`,
   * so without it such a merge is refused, naming the hosts.
   */
  acceptUnknown?: boolean;
  /**
   * Merge even when a shard was stopped by a signal (`--accept-stopped`): the run then
   * halts (halted:signal), its later hosts not-started:signal. Without it such a merge
   * is refused, naming the shard and its resume: merged, it could no longer be resumed.
   */
  acceptStopped?: boolean;
}

export interface MergeOutcome {
  results: RunResults;
  /** 0-based: the wave merged. */
  wave: number;
  shards: number;
  /** True when the run ended with this merge (the last wave, a halt, or a closed window). */
  ended: boolean;
  audit: AuditEntry;
  report: string;
  /** What the operator must be told besides the results (torn journal lines cut off: torn.ts), one sentence each. */
  notes: string[];
}

/** The plan id a sharded run applies: from its merged journal, else from the first shard's. */
async function planIdOf(runDir: string, runId: string): Promise<string> {
  const merged = join(runDir, JOURNAL_FILE);
  if (await exists(merged)) {
    // A journal cut before its first line ended (a merge killed as it began) names no plan: the shards do.
    const start = (await readJournal(merged).catch(() => null))?.records[0];
    if (start?.type === "run-start") return start.planId;
  }
  const folders = (await readdir(join(runDir, "shards")).catch(() => [] as string[])).sort();
  for (const folder of folders) {
    const path = join(runDir, "shards", folder, JOURNAL_FILE);
    if (!(await exists(path))) continue;
    const start = (await readJournal(path)).records[0];
    if (start?.type === "run-start" && RUN_ID.test(start.planId)) return start.planId;
  }
  throw new UsageError(`run ${runId} has no shard to merge (runs/${runId}/shards/ holds no journal)`, "apply the shards first: steward apply <plan> --shard i/n");
}

/**
 * Merges the next wave of run `runId`, or completes the merge of a wave that was killed
 * after it wrote the run's journal (module comment, merge-journal.ts).
 * @throws UsageError, ShardError (exit 5), JournalError (exit 5: the run's journal is not
 *   what the audit log and the shards say it must be), as readPlanFile.
 */
export async function mergeShards(o: MergeOptions): Promise<MergeOutcome> {
  if (!RUN_ID.test(o.runId)) throw new UsageError(`${JSON.stringify(o.runId)} is not a run id`, "use the run id steward apply --shard printed, <plan-id>-sharded");
  const runsDir = join(o.root, "runs");
  const runDir = join(runsDir, o.runId);
  const planFile = o.planFile ?? `plans/${await planIdOf(runDir, o.runId)}.json`;
  const planPath = isAbsolute(planFile) ? planFile : join(o.root, planFile);
  const plan = await readPlanFile(planPath, planFile);
  const lock = await lockPlan(runsDir, `${o.runId}.merge`, { runId: o.runId, root: o.root });
  try {
    const notes: string[] = [];
    const gone = lock.takenOver?.holder;
    if (lock.takenOver !== null) notes.push(gone === null || gone === undefined ? `took over the merge lock of run ${o.runId}, left by a merge that was killed before it said who it was` : `took over the merge lock of run ${o.runId}, left by a merge that was killed (pid ${gone.pid} on ${gone.machine}, since ${gone.startedAt}); this merge checks what it wrote and completes it`);
    const left = await removeLeftovers(runDir);
    if (left.length > 0) notes.push(`removed ${left.map((n) => `runs/${o.runId}/${n}`).join(", ")}: temporary files of a merge killed while it wrote them (never renamed into place, so never part of the run)`);
    const journal = await readRunJournal(o.root, runDir, o.runId);
    const state = mergedStateOf(journal.recorded, o.runId, plan);
    const shown = `runs/${o.runId}/${JOURNAL_FILE}`;
    /** Where the unrecorded records stand, as messages say it. */
    const past = journal.entry === null ? `that no entry of the run in ${AUDIT_LOG} recorded` : `after what ${AUDIT_LOG} line ${journal.entry.line} (seq ${journal.entry.entry.seq}) recorded`;
    // The wave's shard-merge is in the journal and no entry recorded it: its merge was killed after the rename.
    const interrupted = journal.unrecorded.some((r) => r.type === "shard-merge");
    if (state.ended !== null) {
      if (journal.unrecorded.length > 0) throw new JournalError(`${shown} holds ${journal.unrecorded.length} record(s) after the run's end ${past}: the journal was edited`, "run steward audit verify for every finding; restore the run's files from Git");
      throw new UsageError(`run ${o.runId} ended (${state.ended.status}) when wave ${state.next} was merged: nothing is left to merge`, `read runs/${o.runId}/report.md`);
    }
    const wave = state.next;
    if (wave >= plan.rollout.waves.length) throw new UsageError(`every wave of run ${o.runId} is merged`);
    if (o.wave !== undefined && o.wave !== wave + 1) {
      if (interrupted) throw new UsageError(`--wave ${o.wave}: the merge of wave ${wave + 1} of run ${o.runId} was killed after it wrote ${shown} and before ${AUDIT_LOG} recorded it`, `complete it first: steward results merge ${o.runId} --wave ${wave + 1}`);
      throw new UsageError(`--wave ${o.wave}: the next wave of run ${o.runId} to merge is ${wave + 1}`, o.wave > wave + 1 ? `merge wave ${wave + 1} first` : `wave ${o.wave} is merged already`);
    }
    const shards = await readWaveShards(runDir, o.runId, plan, wave, state.failures);
    // An interrupted merge got past these refusals (or was told to merge as it stands): what it wrote stands.
    if (!interrupted && o.acceptStopped !== true) refuseStopped(o.runId, plan, wave, shards);
    if (!interrupted && o.acceptUnknown !== true) refuseUnknown(o.runId, plan, wave, shards);
    notes.push(...shards.flatMap((s) => tornNotesOf(`runs/${o.runId}/shards/${s.folder}/journal.jsonl`, s.records)));
    const now = new Date().toISOString();
    const decided = decideWave({ plan, runId: o.runId, wave, shards, before: journal.recorded, failuresBefore: state.failures, now });
    let block: JournalRecord[];
    if (interrupted && journal.tornBytes === 0 && sameRecords(journal.unrecorded, decided.block)) {
      block = journal.unrecorded;
      notes.push(`the merge of wave ${wave + 1} of run ${o.runId} was killed after it wrote ${shown} and before ${AUDIT_LOG} recorded it; the wave's records there are the ones this merge writes from the same shards, so this merge completed it (results.json, report.md and its one audit entry)`);
    } else {
      if (!sameRecords(journal.unrecorded, decided.block, true)) {
        throw new JournalError(`${shown} holds ${journal.unrecorded.length} record(s) ${past} (from line ${journal.recorded.length + 1}) that are not the records of wave ${wave + 1} this merge writes from its shards: the journal or a shard's files were changed`, "run steward audit verify for every finding; keep the files for review");
      }
      if (journal.unrecorded.length > 0 || journal.tornBytes > 0) {
        const what = [journal.unrecorded.length > 0 ? `${journal.unrecorded.length} record(s) of wave ${wave + 1}` : "", journal.tornBytes > 0 ? `a torn line of ${journal.tornBytes} byte(s)` : ""].filter(Boolean).join(" and ");
        notes.push(`${shown} held ${what} ${past}, written by a merge killed before it completed; nothing acted on them (copies of shard records and the merge's own), so this merge wrote the wave again, whole`);
      }
      block = await writeRunJournal(o.root, runDir, journal.lines, decided.block, now);
    }
    const pause = block.find((r) => r.type === "pause");
    if (pause?.type === "pause") {
      // The pause runs from when the journal first held it: a completing merge waits only what is left.
      const ms = Date.parse(pause.until) - Date.now();
      if (ms > 0) await (o.sleep ?? ((n: number) => realSleep(n, new AbortController().signal)))(ms);
    }
    return await finish(o, plan, planFile, runDir, wave, shards.length, [...journal.recorded, ...block], decided, notes);
  } finally {
    await lock.release();
  }
}

/**
 * Refuses to merge a wave with a shard stopped by SIGINT/SIGTERM (its journal ends
 * halted:signal): its hosts not done are resumable from its journal, as a crashed
 * shard's are, but not once the wave is merged — and merging it would halt the run.
 * @throws UsageError (exit 2) naming each shard, the signal, its hosts not done and its
 *   resume, and the way to halt the run there instead (--accept-stopped).
 */
function refuseStopped(runId: string, plan: Plan, wave: number, shards: readonly ReadShard[]): void {
  const stopped = shards.filter((s) => s.status === "halted:signal");
  if (stopped.length === 0) return;
  const which = stopped.map((s) => {
    const attempt = s.records.slice(s.records.findLastIndex((r) => r.type === "run-resume") + 1);
    const signal = attempt.find((r) => r.type === "signal");
    const left = s.results.hosts.filter((h) => h.outcome === "interrupted" || h.outcome.startsWith("not-started"));
    const by = signal?.type === "signal" ? `${signal.reason} at ${signal.time}` : "a signal";
    return `shard ${s.index}/${s.identity.of} (runs/${runId}/shards/${s.folder}/, stopped by ${by}; ${left.length} host(s) not done: ${left.map((h) => `${h.host} ${h.outcome}`).join(", ") || "none, its gate did not run"})`;
  });
  const resumes = stopped.map((s) => `steward apply plans/${plan.id}.json --resume ${runId} --shard ${s.index}/${s.identity.of} --wave ${wave + 1}`);
  throw new UsageError(
    `wave ${wave + 1} of run ${runId} has ${stopped.length} shard(s) stopped by a signal before they were done: ${which.join("; ")}; a stopped shard is resumable from its journal (what it completed is kept), but not once the wave is merged`,
    `continue each (${resumes.join("; ")}), then merge again; or, to halt the run here (its later hosts not-started:signal), merge the wave as it stands: steward results merge ${runId} --accept-stopped`,
  );
}

/**
 * Refuses to merge a wave whose shards left hosts holding a step of unknown effect (a
 * crash mid-step that nothing on the host could judge): merged, the wave's shards can no
 * longer be resumed with `--retry-unknown`, and the decision — run the step again, or
 * accept it as it is after looking at the host — would be lost.
 * @throws UsageError (exit 2) naming each host and step, with both ways on.
 */
function refuseUnknown(runId: string, plan: Plan, wave: number, shards: readonly ReadShard[]): void {
  const held: string[] = [];
  const resumes: string[] = [];
  for (const s of shards) {
    const hosts = [...s.hosts.values()].filter((h) => h.steps.some((st) => st.outcome === "unknown"));
    if (hosts.length === 0) continue;
    for (const h of hosts) held.push(`${h.host} (${h.steps.filter((st) => st.outcome === "unknown").map((st) => st.step).join(", ")}, shard ${s.index}/${s.identity.of})`);
    resumes.push(`steward apply plans/${plan.id}.json --resume ${runId} --shard ${s.index}/${s.identity.of} --wave ${wave + 1} --retry-unknown`);
  }
  if (held.length === 0) return;
  throw new UsageError(
    `wave ${wave + 1} of run ${runId} holds steps of unknown effect (a runner crashed while they ran and nothing on the host tells whether they did): ${held.join("; ")}; once the wave is merged its shards cannot be resumed`,
    `check each host, then either run those steps again (${resumes.join("; ")}) and merge, or merge leaving them as they are: steward results merge ${runId} --accept-unknown`,
  );
}

/**
 * Writes results.json (and its summary), report.md and the merge's audit entry from the
 * run's journal as it now stands (`records`) and the wave's verdict.
 */
async function finish(o: MergeOptions, plan: Plan, planFile: string, runDir: string, wave: number, shards: number, records: JournalRecord[], decided: WaveDecision, notes: string[]): Promise<MergeOutcome> {
  const hosts = allHosts(plan, replayed(records));
  const status = runStatus(hosts, decided.halt?.reason ?? null);
  const end = decided.ended ? records.findLast((r) => r.type === "run-end") : undefined;
  const finishedAt = end?.time ?? new Date().toISOString();
  const results = runResults({ runId: o.runId, plan, startedAt: (records[0] as JournalRecord).time, finishedAt, status, halt: decided.halt, failures: hosts.filter((h) => BUDGET_OUTCOMES.has(h.outcome)).length, resumes: 0, hosts });
  await writeResults(runDir, results);
  const report = join(runDir, "report.md");
  const criticality = new Map(plan.hosts.map((h) => [h.name, h.criticality]));
  await writeFileAtomic(report, o.secrets.redact(renderRunReport({ plan, results, journal: records, criticality, planFile })), { root: o.root });
  const approval = (await approvalFromActions(o.env)) ?? (await approvalFromHistory(o.root, isAbsolute(planFile) ? planFile : join(o.root, planFile)));
  const audit = await recordRun({ root: o.root, runDir, resumed: false, merged: true, planFile, approval, actor: actorOf(o.env), results });
  return { results, wave, shards, ended: decided.ended, audit, report, notes };
}
