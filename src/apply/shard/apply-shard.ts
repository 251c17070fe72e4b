/**
 * `steward apply <plan> --shard i/n [--wave K]`: applies one shard of one wave of a
 * plan, for a fleet applied by several runners at once (README, "Past one runner:
 * sharding"). The plan is verified exactly as a whole apply verifies it; then:
 *
 * - the run is `<plan-id>-sharded` (every shard of every wave of the plan shares it),
 *   and the wave is the next one its merged journal has not merged (`--wave K`, when
 *   given, must be that one: a stale workflow artifact is refused, not applied);
 * - the shard's hosts are partitionWave's cut; its failure budget is its share of what
 *   the merged waves left (partition.ts), so the shards' shares add up to the wave's
 *   remaining budget; a shard with a share of 0 halts at its first failure;
 * - the engine runs the shard's hosts, the gate's checks after them (unless the wave is
 *   the last), and journals into runs/<run-id>/shards/w<K>-<i>-of-<n>/journal.jsonl and
 *   results.json. No audit entry: shards run in parallel on separate runners, and one
 *   hash chain cannot take parallel appends; the merge records the wave, naming each
 *   shard's files by digest.
 *
 * With `resume` (`--resume <run-id>`), a shard whose runner crashed or was stopped by a
 * signal is continued from its own journal instead (resume-shard.ts). A shard with no
 * journal that something else records as started (its lock left behind, a commit
 * holding its journal: traces.ts) is not applied afresh: its record is missing, and a
 * fresh start would run its hosts' steps a second time (exit 5, naming the traces).
 */
import { StewardError, UsageError } from "../../core/errors.ts";
import { jsonQuoted } from "../../core/text.ts";
import { closeWithin, CLOSE_GRACE_MS, exists, prepareApply, runTransport, type ApplyOptions } from "../index.ts";
import { Journal } from "../journal.ts";
import { readJournal } from "../journal-replay.ts";
import { lockPlan, refuseLiveHolder } from "../lock.ts";
import { RESULTS_FILE, type RunResults } from "../results.ts";
import { join } from "node:path";
import { placeShard, runShardEngine } from "./place.ts";
import { shardedRunId, type ShardSpec } from "./partition.ts";
import { resumeShard, shardResumeCommand } from "./resume-shard.ts";
import { missingRecord, shardTraces } from "./traces.ts";

export interface ShardApplyOptions extends Omit<ApplyOptions, "unattended"> {
  shard: ShardSpec;
  /** The wave to apply, 1-based; it must be the next one not merged. */
  wave?: number;
}

export interface ShardOutcome {
  /** The shard's own results: its hosts, its share of the budget. */
  results: RunResults;
  runId: string;
  /** 0-based. */
  wave: number;
  /** runs/<run-id>/shards/<folder>/ */
  shardDir: string;
  hosts: string[];
  /** This shard's share of the failure budget. */
  allowed: number;
  /** True when this apply continued a shard from its journal (`--resume`). */
  resumed: boolean;
  tookOver?: string;
  /** What the operator must be told besides the results (a torn journal line cut off: torn.ts), one sentence each. */
  notes: string[];
}

/**
 * Applies one shard, or continues it with `resume`; see the module comment.
 * @throws as applyPlan; UsageError for a wave that is not next, a run that ended, a
 *   shard applied twice (or stopped: resume it), or a `resume` that names another run
 *   than the plan's sharded run; StewardError (stale-plan) for a shard whose record is
 *   missing; the refusals of resumeShard.
 */
export async function applyShard(options: ShardApplyOptions): Promise<ShardOutcome> {
  const prepared = await prepareApply(options);
  const { plan, inventory } = prepared;
  const { shard } = options;
  if (options.resume !== undefined && options.resume !== shardedRunId(plan)) {
    throw new UsageError(`--resume ${jsonQuoted(options.resume)} with --shard ${shard.index}/${shard.of}: the shards of plan ${plan.id} belong to its sharded run ${shardedRunId(plan)}, and to no other`, `steward apply ${prepared.shownPlan} --resume ${shardedRunId(plan)} --shard ${shard.index}/${shard.of}${options.wave === undefined ? "" : ` --wave ${options.wave}`}`);
  }
  const place = await placeShard(options.root, plan, shard, options.wave);
  if (options.resume !== undefined) return resumeShard(options, prepared, place);
  const { runId, wave, shardDir, journalPath, shown } = place;
  if (await exists(journalPath)) {
    const which = `shard ${shard.index}/${shard.of} of wave ${wave + 1} of run ${runId}`;
    if (!(await exists(join(shardDir, RESULTS_FILE)))) {
      // Still running? Its lock says so (PlanLockedError, exit 7, naming the live runner); else its runner is gone.
      await refuseLiveHolder(place.runsDir, `${plan.id}.${place.folder}`);
      throw new UsageError(`${which} started but never finished (its runner crashed or was killed): ${shown} has a journal and no results`, `continue it from its journal: ${shardResumeCommand(prepared.shownPlan, runId, shard, wave)}`);
    }
    const end = (await readJournal(journalPath)).records.findLast((r) => r.type === "run-end");
    if (end?.type === "run-end" && end.halt === "signal") throw new UsageError(`${which} was stopped by a signal (halted:signal, ${shown}): its hosts not done are resumable`, `continue it from its journal: ${shardResumeCommand(prepared.shownPlan, runId, shard, wave)}`);
    throw new UsageError(`${which} was applied already (${shown})`, `merge the wave: steward results merge ${runId}`);
  }
  // No journal: a fresh start, unless something records that the shard started (traces.ts).
  const traces = await shardTraces(options.root, runId, plan.id, place.folder);
  if (traces.lock?.live !== true && (traces.lock !== null || traces.commit !== null)) {
    const verdict = missingRecord(traces, shown, place.hosts, { apply: `steward apply ${prepared.shownPlan} --shard ${shard.index}/${shard.of} --wave ${wave + 1}`, then: `resume it: ${shardResumeCommand(prepared.shownPlan, runId, shard, wave)}` });
    throw new StewardError("stale-plan", `shard ${shard.index}/${shard.of} of wave ${wave + 1} of run ${runId} is not applied afresh: ${shown}journal.jsonl does not exist, ${verdict.message}`, verdict.hint);
  }
  const lock = await lockPlan(place.runsDir, `${plan.id}.${place.folder}`, { runId, root: options.root, journal: `${place.shown}journal.jsonl` });
  const transport = runTransport(options, inventory);
  const clock = options.now ?? (() => new Date());
  try {
    const journal = await Journal.create(journalPath, { runId, planId: plan.id, planDigest: plan.digest, ...(options.now ? { clockOverride: clock().toISOString() } : {}), shard: { wave, index: shard.index, of: shard.of, allowed: place.allowed, concurrency: place.concurrency } }, { root: options.root });
    const results = await runShardEngine(options, prepared, place, journal, transport);
    return { results, runId, wave, shardDir, hosts: place.hosts, allowed: place.allowed, resumed: false, notes: [], ...(lock.takenOver ? { tookOver: lock.takenOver.message } : {}) };
  } finally {
    try {
      await closeWithin(transport, CLOSE_GRACE_MS);
    } finally {
      await lock.release();
    }
  }
}
