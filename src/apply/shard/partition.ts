/**
 * How one wave of a plan is cut into shards (`steward apply --shard i/n`), and how the
 * failure budget and the concurrency are shared between them. Pure functions of the
 * plan: every shard process, and the merge, compute the same cut.
 *
 * - Partition: the wave's hosts, in plan order, form units. A group with a cap
 *   (`group_concurrency[g]`, or every group with `serial_within_group`) is one unit,
 *   so all its hosts of the wave are in one shard and that shard's engine keeps the cap
 *   for the whole fleet; every other host is a unit of its own. Units are dealt
 *   largest first (ties: first in plan order) to the shard with the fewest hosts so
 *   far (ties: the lowest index). Within a shard, hosts keep plan order.
 * - Shares: a total `t` (the wave's remaining failure budget, or `concurrency`) is
 *   split as floor(t/n) to every shard plus one to each of the lowest `t mod n`
 *   shards, so the shares add up to exactly `t` and never more.
 */
import { StewardError } from "../../core/errors.ts";
import type { Plan } from "../../plan/types.ts";

/** Most shards a wave is cut into. */
export const MAX_SHARDS = 256;

/** One shard: `index` of `of`, both 1-based (`--shard 2/3`). */
export interface ShardSpec {
  index: number;
  of: number;
}

/**
 * Parses `--shard i/n` (1 ≤ i ≤ n ≤ 256, decimal, no sign or leading zero).
 * @throws StewardError (invalid-input, exit 3) naming the flag and the grammar.
 */
export function parseShard(value: string): ShardSpec {
  const m = /^([1-9]\d{0,2})\/([1-9]\d{0,2})$/.exec(value);
  const index = Number(m?.[1]);
  const of = Number(m?.[2]);
  if (m === null || index > of || of > MAX_SHARDS) {
    throw new StewardError("invalid-input", `--shard ${JSON.stringify(value)} is not a shard: write i/n with 1 ≤ i ≤ n ≤ ${MAX_SHARDS}`, "e.g. --shard 2/4 applies the second of four shards of the next wave");
  }
  return { index, of };
}

/**
 * Parses `--wave K` (1-based, as the README and reports count waves).
 * @throws StewardError (invalid-input, exit 3) naming the flag.
 */
export function parseWave(value: string): number {
  if (!/^[1-9]\d{0,6}$/.test(value)) throw new StewardError("invalid-input", `--wave ${JSON.stringify(value)} is not a wave number: write 1, 2, …`, "waves are numbered from 1, as the plan's Markdown lists them");
  return Number(value);
}

/** floor(total/of), plus one for each of the lowest `total mod of` shards (`index` 1-based). */
export function shareOf(total: number, index: number, of: number): number {
  return Math.floor(total / of) + (index <= total % of ? 1 : 0);
}

/** True when a group's hosts must stay in one shard: it has a cap. */
function capped(plan: Plan, group: string | null): group is string {
  return group !== null && (plan.rollout.serialWithinGroup || plan.rollout.groupConcurrency[group] !== undefined);
}

/**
 * The hosts of wave `wave` (0-based) per shard: element k is shard k+1's hosts in
 * plan order (possibly none). See the module comment for the rule.
 * @throws StewardError (stale-plan) when the plan has no such wave or names an unknown host.
 */
export function partitionWave(plan: Plan, wave: number, of: number): string[][] {
  const w = plan.rollout.waves[wave];
  if (w === undefined) throw new StewardError("stale-plan", `plan ${plan.id} has no wave ${wave + 1}`, "re-plan");
  const byName = new Map(plan.hosts.map((h) => [h.name, h]));
  const units = new Map<string, string[]>();
  for (const name of w.hosts) {
    const host = byName.get(name);
    if (host === undefined) throw new StewardError("stale-plan", `plan ${plan.id}: wave ${wave + 1} names host ${name}, which the plan does not list`, "re-plan");
    const key = capped(plan, host.orderGroup) ? `group:${host.orderGroup}` : `host:${name}`;
    units.set(key, [...(units.get(key) ?? []), name]);
  }
  const order = [...units.values()].map((hosts, first) => ({ hosts, first }));
  order.sort((a, b) => b.hosts.length - a.hosts.length || a.first - b.first);
  const load = new Array<number>(of).fill(0);
  const member = new Map<string, number>();
  for (const unit of order) {
    let best = 0;
    for (let k = 1; k < of; k++) if ((load[k] as number) < (load[best] as number)) best = k;
    load[best] = (load[best] as number) + unit.hosts.length;
    for (const name of unit.hosts) member.set(name, best);
  }
  const shards: string[][] = Array.from({ length: of }, () => []);
  for (const name of w.hosts) (shards[member.get(name) as number] as string[]).push(name);
  return shards;
}

/**
 * The plan one shard runs: the same plan (id, digest, steps, window, gate) with only
 * the shard's hosts, one wave (wave `wave`, the shard's hosts), and its shares of the
 * failure budget (`allowed`, halting at `allowed + 1`) and of the concurrency. Never
 * written to a file: the journal names the real plan's id and digest.
 */
export function shardPlan(plan: Plan, wave: number, hosts: readonly string[], allowed: number, concurrency: number | null): Plan {
  const w = plan.rollout.waves[wave];
  if (w === undefined) throw new StewardError("stale-plan", `plan ${plan.id} has no wave ${wave + 1}`, "re-plan");
  const mine = new Set(hosts);
  return {
    ...plan,
    hosts: plan.hosts.filter((h) => mine.has(h.name)),
    rollout: {
      ...plan.rollout,
      failureBudget: { ...plan.rollout.failureBudget, allowed, haltsAt: allowed + 1 },
      concurrency: { ...plan.rollout.concurrency, hosts: concurrency },
      waves: [{ ...w, hosts: [...hosts], size: hosts.length }],
    },
  };
}

/**
 * The concurrency a shard may use: its share of `concurrency` (null: unlimited).
 * @throws StewardError (invalid-input) when there are more shards than hosts allowed in
 *   flight: each shard runs at least one host, so the fleet-wide limit would not hold.
 */
export function concurrencyShare(plan: Plan, shard: ShardSpec): number | null {
  const total = plan.rollout.concurrency.hosts;
  if (total === null) return null;
  if (shard.of > total) throw new StewardError("invalid-input", `--shard ${shard.index}/${shard.of}: plan ${plan.id} allows ${total} host(s) in flight, so at most ${total} shard(s) keep that limit`, `cut the waves into at most ${total} shards`);
  return shareOf(total, shard.index, shard.of);
}

/** The folder of one shard under runs/<run-id>/shards/: `w<wave>-<i>-of-<n>` (wave 1-based). */
export function shardFolder(wave: number, shard: ShardSpec): string {
  return `w${wave + 1}-${shard.index}-of-${shard.of}`;
}

/** A shard folder's name: wave (1-based), index, of. */
export const SHARD_FOLDER = /^w([1-9]\d{0,6})-([1-9]\d{0,2})-of-([1-9]\d{0,2})$/;

/** The run id every shard and merge of a plan's sharded rollout shares: `<plan-id>-sharded`. */
export function shardedRunId(plan: Pick<Plan, "id">): string {
  return `${plan.id}-sharded`;
}
