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
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../../core/errors.ts";
import { runEngine } from "../engine.ts";
import { closeWithin, CLOSE_GRACE_MS, exists, prepareApply, runners, runTransport, type ApplyOptions } from "../index.ts";
import { Journal, JOURNAL_FILE } from "../journal.ts";
import { lockPlan } from "../lock.ts";
import { RESULTS_FILE, type RunResults } from "../results.ts";
import { concurrencyShare, partitionWave, SHARD_FOLDER, shardedRunId, shardFolder, shardPlan, shareOf, type ShardSpec } from "./partition.ts";
import { readMergedState } from "./state.ts";

export interface ShardApplyOptions extends Omit<ApplyOptions, "resume" | "retryUnknown" | "unattended"> {
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
  tookOver?: string;
}

/** Applies one shard; see the module comment. @throws as applyPlan; UsageError for a wave that is not next, a run that ended, a shard applied twice. */
export async function applyShard(options: ShardApplyOptions): Promise<ShardOutcome> {
  const prepared = await prepareApply(options);
  const { plan, inventory } = prepared;
  const { shard } = options;
  const runId = shardedRunId(plan);
  const runsDir = join(options.root, "runs");
  const runDir = join(runsDir, runId);
  const state = await readMergedState(runDir, runId, plan);
  if (state.ended !== null) throw new UsageError(`run ${runId} ended (${state.ended.status}) when wave ${state.next} was merged: nothing is left to apply`, `read runs/${runId}/report.md; re-plan to go on`);
  const waves = plan.rollout.waves.length;
  if (state.next >= waves) throw new UsageError(`every wave of run ${runId} is merged`, "nothing is left to apply");
  if (options.wave !== undefined && options.wave !== state.next + 1) {
    throw new UsageError(`--wave ${options.wave}: run ${runId} has merged ${state.next} of ${waves} wave(s), so the next wave is ${state.next + 1}`, options.wave > state.next + 1 ? `merge wave ${state.next + 1} first: steward results merge ${runId}` : `wave ${options.wave} is applied and merged already`);
  }
  const wave = state.next;
  const concurrency = concurrencyShare(plan, shard);
  const hosts = partitionWave(plan, wave, shard.of)[shard.index - 1] as string[];
  const remaining = Math.max(0, plan.rollout.failureBudget.allowed - state.failures);
  const allowed = shareOf(remaining, shard.index, shard.of);
  const shardDir = join(runDir, "shards", shardFolder(wave, shard));
  const journalPath = join(shardDir, JOURNAL_FILE);
  // A wave is cut one way: a shard of another n would apply hosts another shard had.
  const cuts = await otherCuts(join(runDir, "shards"), wave, shard.of);
  if (cuts.length > 0) throw new UsageError(`wave ${wave + 1} of run ${runId} is already cut into ${[...new Set(cuts.map((c) => c.of))].join(" and ")} shard(s) (runs/${runId}/shards/${cuts.map((c) => c.folder).join(", ")}/): --shard ${shard.index}/${shard.of} would apply its hosts a second way`, `apply the wave's other shards with --shard i/${cuts[0]!.of}`);
  if (await exists(journalPath)) {
    const where = `runs/${runId}/shards/${shardFolder(wave, shard)}/`;
    if (!(await exists(join(shardDir, RESULTS_FILE)))) throw new UsageError(`shard ${shard.index}/${shard.of} of wave ${wave + 1} of run ${runId} started but never finished (its runner crashed or was killed): ${where} has a journal and no results`, `check its hosts, remove ${where} and apply the shard again`);
    throw new UsageError(`shard ${shard.index}/${shard.of} of wave ${wave + 1} of run ${runId} was applied already (${where})`, `merge the wave: steward results merge ${runId}`);
  }
  const sliced = shardPlan(plan, wave, hosts, allowed, concurrency);
  const lock = await lockPlan(runsDir, `${plan.id}.${shardFolder(wave, shard)}`, { runId, root: options.root });
  const transport = runTransport(options, inventory);
  const clock = options.now ?? (() => new Date());
  try {
    const journal = await Journal.create(journalPath, { runId, planId: plan.id, planDigest: plan.digest, ...(options.now ? { clockOverride: clock().toISOString() } : {}), shard: { wave, index: shard.index, of: shard.of, allowed, concurrency } }, { root: options.root });
    const { runHost, runGate } = runners(options, { ...prepared, plan: sliced }, runId, journal, transport);
    const results = await runEngine({
      plan: sliced,
      journal,
      runHost,
      runGate,
      // The gate after the last wave would gate nothing.
      gateLastWave: wave < waves - 1,
      // Reports read the merged run's summary, never a shard's.
      summary: false,
      ...(options.now ? { now: options.now } : {}),
      ...(options.events ? { events: options.events } : {}),
      ...(options.stop ? { stop: options.stop } : {}),
    });
    return { results, runId, wave, shardDir, hosts, allowed, ...(lock.takenOver ? { tookOver: lock.takenOver.message } : {}) };
  } finally {
    try {
      await closeWithin(transport, CLOSE_GRACE_MS);
    } finally {
      await lock.release();
    }
  }
}

/** The shard folders of wave `wave` (0-based) cut into another number of shards than `of`. */
async function otherCuts(shardsDir: string, wave: number, of: number): Promise<Array<{ folder: string; of: number }>> {
  let names: string[];
  try {
    names = await readdir(shardsDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const out: Array<{ folder: string; of: number }> = [];
  for (const folder of names.sort()) {
    const m = SHARD_FOLDER.exec(folder);
    if (m !== null && Number(m[1]) === wave + 1 && Number(m[3]) !== of) out.push({ folder, of: Number(m[3]) });
  }
  return out;
}
