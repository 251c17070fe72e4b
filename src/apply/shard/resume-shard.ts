/**
 * `steward apply <plan> --resume <run-id> --shard i/n [--wave K] [--retry-unknown]`:
 * continues one shard whose runner crashed (or was killed) from its own journal,
 * runs/<run-id>/shards/w<K>-<i>-of-<n>/journal.jsonl, with a one-runner resume's
 * guarantees (README, "Apply", Journal and resume): completed steps are never run
 * again; a step with an intent and no outcome is judged from the host (or left
 * `unknown`, run again only with --retry-unknown); a host the crashed attempt changed
 * is not judged stale; the failures so far count against the shard's share of the
 * budget; the journal gains a run-resume record and is then appended to, and
 * results.json is written, so `steward results merge` accepts the shard.
 *
 * A shard stopped by SIGINT/SIGTERM (its journal ends halted:signal) is continued the
 * same way: its interrupted and not-started hosts run, what they completed is kept.
 *
 * Refused before any host is touched, naming the folder and the way out:
 * - no journal in the folder, and nothing else records that the shard started (apply
 *   it; if it ran, restore its folder first) — exit 2; when something does (its lock
 *   left behind, a commit holding its journal: traces.ts), its record is missing — exit 5;
 * - a journal that is not this shard's (another plan, another run, another shard or
 *   wave, a whole run's, or run with another budget or concurrency share than the run
 *   now gives it) — exit 5, as the merge refuses it;
 * - a shard that finished (its journal ends with run-end and results.json is there) and
 *   was not stopped by a signal: nothing to resume, merge it — exit 2; except with
 *   --retry-unknown when the only hosts it left undone are hosts left with a step of
 *   unknown effect, which run again;
 * - a shard whose lock a live runner holds — exit 7 (a dead holder's lock is taken
 *   over, as for every lock: src/apply/lock.ts).
 * A shard that recorded its end (other than a stop by a signal) but died before writing
 * results.json gets its results.json written from its journal, and no host is touched.
 * A torn last line (a runner killed mid-write) is cut off and named in the outcome's notes.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { StewardError, UsageError } from "../../core/errors.ts";
import type { Plan } from "../../plan/types.ts";
import type { Transport } from "../../transport/types.ts";
import { closeWithin, CLOSE_GRACE_MS, exists, runTransport, type PreparedApply } from "../index.ts";
import { Journal } from "../journal.ts";
import type { JournalRecord } from "../journal-records.ts";
import { readJournal, replayJournal, type ReplayState } from "../journal-replay.ts";
import { lockPlan, PlanLockedError } from "../lock.ts";
import { budgetCount, runResults, writeResults, RESULTS_FILE, type RunResults } from "../results.ts";
import type { HostResult } from "../types.ts";
import type { ShardApplyOptions, ShardOutcome } from "./apply-shard.ts";
import type { ShardSpec } from "./partition.ts";
import { runShardEngine, type ShardPlace } from "./place.ts";
import { missingRecord, shardTraces } from "./traces.ts";
import { tornCutNote } from "../torn.ts";

/** The command that continues a shard (wave 0-based), as hints print it. */
export function shardResumeCommand(planFile: string, runId: string, shard: ShardSpec, wave: number, retryUnknown = false): string {
  return `steward apply ${planFile} --resume ${runId} --shard ${shard.index}/${shard.of} --wave ${wave + 1}${retryUnknown ? " --retry-unknown" : ""}`;
}

/**
 * Continues the shard `place` from its journal; see the module comment.
 * @throws UsageError, StewardError (stale-plan), PlanLockedError as listed there; as applyPlan.
 */
export async function resumeShard(options: ShardApplyOptions, prepared: PreparedApply, place: ShardPlace): Promise<ShardOutcome> {
  const { plan, inventory } = prepared;
  const { shard } = options;
  const { runId, shown } = place;
  const which = `shard ${shard.index}/${shard.of} of wave ${place.wave + 1} of run ${runId}`;
  const applyAgain = `steward apply ${prepared.shownPlan} --shard ${shard.index}/${shard.of} --wave ${place.wave + 1}`;
  if (!(await exists(place.journalPath))) {
    const traces = await shardTraces(options.root, runId, plan.id, place.folder);
    if (traces.lock?.live === true) throw new PlanLockedError(`${plan.id}.${place.folder}`, traces.lock.holder, 20_000);
    const verdict = missingRecord(traces, shown, place.hosts, { apply: applyAgain, then: `resume it: ${shardResumeCommand(prepared.shownPlan, runId, shard, place.wave)}` });
    const message = `there is no ${which} to resume: ${shown}journal.jsonl does not exist, ${verdict.message}`;
    throw verdict.started ? new StewardError("stale-plan", message, verdict.hint) : new UsageError(message, verdict.hint);
  }
  // The lock first: a live runner may still be appending to the journal read below.
  const lock = await lockPlan(place.runsDir, `${plan.id}.${place.folder}`, { runId, root: options.root, journal: `${place.shown}journal.jsonl` });
  let transport: Transport | undefined;
  try {
    if ((await readFile(place.journalPath)).indexOf(0x0a) === -1) {
      throw new UsageError(`${which} was killed while it started: ${shown}journal.jsonl holds no whole record, so no host of it was started`, `remove ${shown} and apply the shard: ${applyAgain}`);
    }
    const read = await readJournal(place.journalPath);
    checkIdentity(read.records[0] as JournalRecord, plan, place, shard, applyAgain);
    const replay = replayJournal(read);
    const taken = lock.takenOver ? { tookOver: lock.takenOver.message } : {};
    const notes: string[] = [];
    const outcome = (results: RunResults): ShardOutcome => ({ results, runId, wave: place.wave, shardDir: place.shardDir, hosts: place.hosts, allowed: place.allowed, resumed: true, notes, ...taken });
    // Stopped by SIGINT/SIGTERM: resumed as a crashed shard is (its latest end says so).
    const end = read.records.findLast((r) => r.type === "run-end");
    const stopped = end?.type === "run-end" && end.halt === "signal";
    if (replay.ended !== null && !stopped) {
      const hasResults = await exists(join(place.shardDir, RESULTS_FILE));
      if (!hasResults) return outcome(await rewriteResults(place, read.records, replay, options.root));
      const left = place.hosts.filter((h) => !replay.finished.has(h));
      const unknown = left.filter((h) => replay.hosts.get(h)?.result?.steps.some((s) => s.outcome === "unknown") === true);
      const retry = options.retryUnknown === true && unknown.length > 0 && unknown.length === left.length;
      if (!retry) {
        throw new UsageError(
          `${which} finished (${replay.ended.status}): ${shown}journal.jsonl ends with its run-end and results.json holds its results; there is nothing to resume`,
          unknown.length > 0 && unknown.length === left.length
            ? `its host(s) ${unknown.join(", ")} were left with a step of unknown effect: check them by hand, then run it again: ${shardResumeCommand(prepared.shownPlan, runId, shard, place.wave, true)}`
            : `merge the wave once every shard has ended: steward results merge ${runId}`,
        );
      }
    }
    const opened = await Journal.resume(place.journalPath, { root: options.root });
    if (opened.state.tornBytes > 0) notes.push(tornCutNote(`${shown}journal.jsonl`, opened.state.records + 1, opened.state.tornBytes));
    transport = runTransport(options, inventory);
    return outcome(await runShardEngine(options, prepared, place, opened.journal, transport, opened.state));
  } finally {
    try {
      if (transport !== undefined) await closeWithin(transport, CLOSE_GRACE_MS);
    } finally {
      await lock.release();
    }
  }
}

/**
 * The journal's run-start must be this shard's: this plan and run, this wave, index and
 * cut, the budget and concurrency shares the run gives it now (the merge's own checks,
 * src/apply/shard/merge-read.ts). @throws StewardError (stale-plan, exit 5) naming the folder.
 */
function checkIdentity(start: JournalRecord, plan: Plan, place: ShardPlace, shard: ShardSpec, applyAgain: string): void {
  const { shown, runId } = place;
  const file = `${shown}journal.jsonl`;
  const away = `this folder is not the shard's own: move ${shown} out of runs/ (keep it for review), then apply the shard: ${applyAgain}`;
  const refuse = (what: string, hint = away): never => {
    throw new StewardError("stale-plan", `${file} ${what}; a shard is resumed only from its own journal`, hint);
  };
  if (start.type !== "run-start") return refuse("does not begin with run-start");
  if (start.planDigest !== plan.digest || start.planId !== plan.id) refuse(`applied plan ${start.planId} (digest ${start.planDigest.slice(0, 12)}…), not plan ${plan.id} (digest ${plan.digest.slice(0, 12)}…)`);
  if (start.runId !== runId) refuse(`belongs to run ${start.runId}, not ${runId}`);
  const id = start.shard;
  if (id === undefined) return refuse("is the journal of a whole run, not of a shard");
  if (id.wave !== place.wave || id.index !== shard.index || id.of !== shard.of) {
    refuse(`is the journal of shard ${id.index}/${id.of} of wave ${id.wave + 1}, not of shard ${shard.index}/${shard.of} of wave ${place.wave + 1}: a shard's files were copied or moved`, `put the folder back where its journal says (runs/${runId}/shards/w${id.wave + 1}-${id.index}-of-${id.of}/) and resume that shard, or move it out of runs/ (keep it for review) and apply this one: ${applyAgain}`);
  }
  if (id.allowed !== place.allowed || id.concurrency !== place.concurrency) {
    refuse(`ran with a share of ${id.allowed} failure(s) and ${id.concurrency ?? "unlimited"} host(s) in flight, but the waves merged so far give shard ${shard.index}/${shard.of} ${place.allowed} and ${place.concurrency ?? "unlimited"}: it was applied against another state of the run`);
  }
}

/**
 * A shard that journaled its run-end and died before writing results.json: its results
 * are what its journal recorded (each host's latest host-end, the run-end's status),
 * written without touching a host. The halt's detail is rebuilt from the records that
 * caused it (the latest attempt's first signal, its gate verdict, the budget's count).
 */
async function rewriteResults(place: ShardPlace, records: readonly JournalRecord[], replay: ReplayState, root: string): Promise<RunResults> {
  const end = records.findLast((r) => r.type === "run-end");
  if (end?.type !== "run-end") throw new StewardError("internal", `${place.shown}journal.jsonl: a run-end was replayed and is not there`);
  const hosts = place.sliced.rollout.waves.flatMap((w) => w.hosts).map((name): HostResult => {
    const result = replay.hosts.get(name)?.result;
    if (result === undefined || result === null) throw new StewardError("stale-plan", `${place.shown}journal.jsonl ends the shard with no host-end for ${name}`, "the journal was edited; keep it for review, check the shard's hosts and start a new run from a fresh plan");
    return result;
  });
  const attempt = records.slice(records.findLastIndex((r) => r.type === "run-resume") + 1);
  const { allowed, haltsAt } = place.sliced.rollout.failureBudget;
  // A stop by a signal is resumed, never rewritten (resumeShard): the halt is the gate's or the budget's.
  const detail = (): string => {
    if (end.halt === "gate") {
      const gate = attempt.findLast((r) => r.type === "gate");
      return `the gate after wave ${place.wave + 1} failed: ${gate?.type === "gate" ? gate.detail : "(no verdict recorded)"}`;
    }
    return `the failure budget is exhausted: ${budgetCount(replay.failures, hosts)}, ${allowed} allowed; it halts at ${haltsAt}`;
  };
  const results = runResults({ runId: place.runId, plan: place.sliced, startedAt: replay.startedAt, finishedAt: end.time, status: end.status, halt: end.halt === null ? null : { reason: end.halt, detail: detail() }, failures: replay.failures, resumes: replay.resumes, hosts });
  await writeResults(place.shardDir, results, { summary: false, root });
  return results;
}
