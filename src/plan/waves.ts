import type { CountOrPercent } from "../model/types.ts";

/**
 * Rollout arithmetic, stated exactly because every tool in this field is bitten by
 * off-by-one semantics here. `n` below is the number of hosts the plan will start
 * (targeted, inside the limit, not skipped): a percentage of hosts that will never
 * start would only produce shrinking or empty waves.
 *
 * Waves are cumulative: each entry is the total number of hosts started by the end of
 * that wave.
 * - a count `k` means min(k, n);
 * - a percentage `p%` means ceil(p × n / 100), so a non-zero percentage of a non-empty
 *   rollout is never 0 hosts;
 * - an entry whose total does not exceed the previous total is dropped: never a 0-host wave;
 * - when the last entry covers fewer than n hosts, a final wave takes the rest;
 * - no `waves` at all is one wave of every host.
 * Example, n = 7, [1, "10%", "50%", "100%"]: totals 1, 1, 4, 7 → waves of 1, 3, 3.
 *
 * Failure budget: "more than N failed hosts halts the rollout", cumulative over all
 * waves, unreachable hosts included. A count is N itself; a percentage is
 * floor(p × n / 100) (5% of 30 = 1: the first failure is tolerated, the second halts).
 * No budget means N = 0: the first failure halts.
 *
 * Concurrency: at most C hosts in flight. A percentage is ceil(p × n / 100), at least 1;
 * a count is taken as written; none means a whole wave at once.
 *
 * Percentages are computed in exact decimal arithmetic: "33.3%" of 1000 is 333, never
 * 333.00000000000006 rounded up to 334.
 */

/** p% of n rounded as asked, exactly: the percentage is read as a decimal fraction. */
export function percentOf(percent: `${number}%` | string, n: number, rounding: "ceil" | "floor"): number {
  const text = percent.endsWith("%") ? percent.slice(0, -1) : percent;
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new RangeError(`'${percent}' is not a percentage`);
  const fraction = match[2] ?? "";
  const numerator = BigInt(match[1]! + fraction) * BigInt(n);
  const denominator = 100n * 10n ** BigInt(fraction.length);
  const quotient = numerator / denominator;
  const exact = quotient * denominator === numerator;
  return Number(rounding === "ceil" && !exact ? quotient + 1n : quotient);
}

/** A wave of the plan: the hosts it starts and the cumulative total it brings the rollout to. */
export interface WaveSlice {
  /** 0-based position in the wave list. */
  index: number;
  /** The runbook entry this wave came from; "rest" for the final wave that takes the remainder, "all" for no waves. */
  spec: CountOrPercent | "rest" | "all";
  /** Hosts started by the end of this wave (cumulative). */
  total: number;
  /** Hosts this wave starts. */
  size: number;
}

/** Cumulative total a wave entry asks for, capped at n. */
export function waveTarget(entry: CountOrPercent, n: number): number {
  return typeof entry === "number" ? Math.min(entry, n) : Math.min(percentOf(entry, n, "ceil"), n);
}

/** Cuts n ordered hosts into waves (see the module comment for the rules). */
export function computeWaves(entries: readonly CountOrPercent[] | undefined, n: number): WaveSlice[] {
  if (n <= 0) return [];
  if (!entries || entries.length === 0) return [{ index: 0, spec: "all", total: n, size: n }];
  const waves: WaveSlice[] = [];
  let previous = 0;
  for (const entry of entries) {
    const total = waveTarget(entry, n);
    if (total <= previous) continue;
    waves.push({ index: waves.length, spec: entry, total, size: total - previous });
    previous = total;
  }
  if (previous < n) waves.push({ index: waves.length, spec: "rest", total: n, size: n - previous });
  return waves;
}

/** The failure budget as a number of tolerated failures: the rollout halts at failures > allowed. */
export interface FailureBudget {
  spec: CountOrPercent | null;
  /** Failed hosts tolerated; one more halts the rollout. */
  allowed: number;
  /** The failure count that halts: allowed + 1. */
  haltsAt: number;
}

export function failureBudget(spec: CountOrPercent | undefined, n: number): FailureBudget {
  const allowed = spec === undefined ? 0 : typeof spec === "number" ? spec : percentOf(spec, n, "floor");
  return { spec: spec ?? null, allowed, haltsAt: allowed + 1 };
}

/** Hosts in flight at once. */
export interface Concurrency {
  spec: CountOrPercent | null;
  /** Null when unlimited: a whole wave starts at once. */
  hosts: number | null;
}

export function concurrency(spec: CountOrPercent | undefined, n: number): Concurrency {
  if (spec === undefined) return { spec: null, hosts: null };
  const hosts = typeof spec === "number" ? spec : Math.max(1, percentOf(spec, n, "ceil"));
  return { spec, hosts };
}
