/**
 * Where a sharded run stands: read from its merged journal, runs/<run-id>/journal.jsonl,
 * which only `steward results merge` writes. Each merged wave has a shard-merge record;
 * a run-end record means the run is over (halted, window closed, or every wave merged).
 */
import { join } from "node:path";
import { StewardError } from "../../core/errors.ts";
import type { Plan } from "../../plan/types.ts";
import { exists } from "../index.ts";
import { JOURNAL_FILE } from "../journal.ts";
import type { JournalRecord } from "../journal-records.ts";
import { readJournal, replayJournal, type ReplayState } from "../journal-replay.ts";

export interface MergedState {
  /** The next wave to apply (0-based): the number of waves merged so far. */
  next: number;
  /** Failures counted against the budget by the merged waves. */
  failures: number;
  /** The run's end, when a merge ended it. */
  ended: ReplayState["ended"];
  /** The merged journal's records ([] before the first merge). */
  records: JournalRecord[];
}

/**
 * Reads the merged state of run `runId` of `plan`; an absent journal is a run whose
 * first wave is next.
 * @throws JournalError (exit 5) for a damaged journal; StewardError (stale-plan) when the
 *   journal is another plan's, or its merged waves are not 1, 2, … in order.
 */
export async function readMergedState(runDir: string, runId: string, plan: Pick<Plan, "id" | "digest">): Promise<MergedState> {
  const path = join(runDir, JOURNAL_FILE);
  if (!(await exists(path))) return { next: 0, failures: 0, ended: null, records: [] };
  return mergedStateOf((await readJournal(path)).records, runId, plan);
}

/**
 * The merged state of run `runId` from its journal's records (checked by readJournal);
 * no record is a run whose first wave is next. @throws as readMergedState.
 */
export function mergedStateOf(records: JournalRecord[], runId: string, plan: Pick<Plan, "id" | "digest">): MergedState {
  if (records.length === 0) return { next: 0, failures: 0, ended: null, records: [] };
  const state = replayJournal({ records, tornBytes: 0 });
  if (state.planDigest !== plan.digest || state.runId !== runId) {
    throw new StewardError("stale-plan", `runs/${runId}/journal.jsonl is run ${state.runId} of plan ${state.planId} (digest ${state.planDigest.slice(0, 12)}…), not run ${runId} of plan ${plan.id}`, "apply each shard with the plan the run was started with");
  }
  let next = 0;
  for (const r of records) {
    if (r.type !== "shard-merge") continue;
    if (r.wave !== next) throw new StewardError("stale-plan", `runs/${runId}/journal.jsonl line ${r.seq} merges wave ${r.wave + 1} after wave ${next}: waves are merged in order, once`, "the journal was edited; keep it for review and start a new run from a fresh plan");
    next += 1;
  }
  return { next, failures: state.failures, ended: state.ended, records };
}
