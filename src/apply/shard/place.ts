/**
 * Where one shard of a sharded run stands (README, "Past one runner: sharding"), as a
 * first apply of it and a resume of it both compute it, and how its engine runs.
 *
 * - The run is `<plan-id>-sharded`; the wave is the next one its merged journal has not
 *   merged (`--wave K`, when given, must be that one: a stale job is refused).
 * - The shard's hosts are partitionWave's cut; its failure budget is its share of what
 *   the merged waves left, its concurrency its share of the plan's (partition.ts).
 * - A wave is cut one way: a shard of another n would apply hosts another shard had.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../../core/errors.ts";
import type { Plan } from "../../plan/types.ts";
import { runEngine } from "../engine.ts";
import { runners, type ApplyOptions, type PreparedApply } from "../index.ts";
import type { Journal } from "../journal.ts";
import { JOURNAL_FILE } from "../journal.ts";
import type { ReplayState } from "../journal-replay.ts";
import type { RunResults } from "../results.ts";
import type { Transport } from "../../transport/types.ts";
import { concurrencyShare, partitionWave, SHARD_FOLDER, shardedRunId, shardFolder, shardPlan, shareOf, type ShardSpec } from "./partition.ts";
import { readMergedState } from "./state.ts";

/** One shard of the next wave of a plan's sharded run, as every apply of it computes it. */
export interface ShardPlace {
  /** `<plan-id>-sharded`. */
  runId: string;
  runsDir: string;
  /** runs/<run-id>/ */
  runDir: string;
  /** 0-based. */
  wave: number;
  /** The plan's number of waves. */
  waves: number;
  hosts: string[];
  /** The shard's share of the wave's remaining failure budget. */
  allowed: number;
  /** The shard's share of `concurrency`; null when unlimited. */
  concurrency: number | null;
  /** w<K>-<i>-of-<n> */
  folder: string;
  /** runs/<run-id>/shards/<folder>/ (absolute). */
  shardDir: string;
  journalPath: string;
  /** The folder as messages name it: `runs/<run-id>/shards/<folder>/`. */
  shown: string;
  /** The plan restricted to the shard: its hosts, one wave, its shares. */
  sliced: Plan;
}

/**
 * Places shard `shard` of the next wave of `plan`'s sharded run under `root`.
 * @throws UsageError (exit 2) for a run that ended, a run whose waves are all merged, a
 *   `wave` (1-based) that is not the next, or a wave already cut into another number of
 *   shards; StewardError (stale-plan, exit 5) for a merged journal of another plan;
 *   StewardError (invalid-input, exit 3) for more shards than `concurrency` allows.
 */
export async function placeShard(root: string, plan: Plan, shard: ShardSpec, wave: number | undefined): Promise<ShardPlace> {
  const runId = shardedRunId(plan);
  const runsDir = join(root, "runs");
  const runDir = join(runsDir, runId);
  const state = await readMergedState(runDir, runId, plan);
  if (state.ended !== null) throw new UsageError(`run ${runId} ended (${state.ended.status}) when wave ${state.next} was merged: nothing is left to apply`, `read runs/${runId}/report.md; re-plan to go on`);
  const waves = plan.rollout.waves.length;
  if (state.next >= waves) throw new UsageError(`every wave of run ${runId} is merged`, "nothing is left to apply");
  if (wave !== undefined && wave !== state.next + 1) {
    throw new UsageError(`--wave ${wave}: run ${runId} has merged ${state.next} of ${waves} wave(s), so the next wave is ${state.next + 1}`, wave > state.next + 1 ? `merge wave ${state.next + 1} first: steward results merge ${runId}` : `wave ${wave} is applied and merged already`);
  }
  const next = state.next;
  const concurrency = concurrencyShare(plan, shard);
  const hosts = partitionWave(plan, next, shard.of)[shard.index - 1] as string[];
  const remaining = Math.max(0, plan.rollout.failureBudget.allowed - state.failures);
  const allowed = shareOf(remaining, shard.index, shard.of);
  const cuts = await otherCuts(join(runDir, "shards"), next, shard.of);
  if (cuts.length > 0) throw new UsageError(`wave ${next + 1} of run ${runId} is already cut into ${[...new Set(cuts.map((c) => c.of))].join(" and ")} shard(s) (runs/${runId}/shards/${cuts.map((c) => c.folder).join(", ")}/): --shard ${shard.index}/${shard.of} would apply its hosts a second way`, `apply the wave's other shards with --shard i/${cuts[0]!.of}`);
  const folder = shardFolder(next, shard);
  const shardDir = join(runDir, "shards", folder);
  return { runId, runsDir, runDir, wave: next, waves, hosts, allowed, concurrency, folder, shardDir, journalPath: join(shardDir, JOURNAL_FILE), shown: `runs/${runId}/shards/${folder}/`, sliced: shardPlan(plan, next, hosts, allowed, concurrency) };
}

/**
 * Runs a shard's engine on its open journal: its hosts, then the gate's checks on them
 * (unless the wave is the last), results.json written next to the journal without a
 * summary (reports read the merged run's). `resume`: the shard journal's replayed state.
 */
export async function runShardEngine(options: Pick<ApplyOptions, "root" | "secrets" | "retryUnknown" | "events" | "now" | "stop">, prepared: PreparedApply, place: ShardPlace, journal: Journal, transport: Transport, resume?: ReplayState): Promise<RunResults> {
  const { runHost, runGate } = runners(options, { ...prepared, plan: place.sliced }, place.runId, journal, transport);
  return runEngine({
    plan: place.sliced,
    journal,
    runHost,
    runGate,
    // The gate after the last wave would gate nothing.
    gateLastWave: place.wave < place.waves - 1,
    // Reports read the merged run's summary, never a shard's.
    summary: false,
    ...(resume !== undefined ? { resume } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.events ? { events: options.events } : {}),
    ...(options.stop ? { stop: options.stop } : {}),
  });
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
