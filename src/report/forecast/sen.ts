/**
 * Sen's slope with its confidence interval: the Theil–Sen line through a series
 * (ml-regression-theil-sen) and the interval read from the ranked pairwise slopes.
 *
 * The interval is the nonparametric one of Sen (1968), as Gilbert, *Statistical
 * Methods for Environmental Pollution Monitoring* (1987), §16.5 computes it: with N'
 * pairwise slopes ranked, Var(S) the variance of Mann–Kendall's S (ties in y
 * corrected), and z the two-sided normal quantile of the confidence,
 *
 *   C = z·√Var(S),  M1 = (N' − C)/2,  M2 = (N' + C)/2,
 *
 * the lower limit is the M1-th smallest slope and the upper the (M2 + 1)-th
 * (interpolated between neighbours when not whole). It assumes independent
 * residuals and is approximate for small n: the caller demands a minimum of points.
 *
 * Cost: the estimator ranks all n(n−1)/2 pairwise slopes, quadratic in n: the line is
 * the library's (which selects its median), and the interval's ends are selected from
 * the band of slopes that holds them (select.ts), never sorted for. Long series
 * are first reduced with {@link binMedians} to at most {@link MAX_FIT_POINTS} points
 * (trend.ts does so), which bounds one fit at about 7,000 slopes. Bin medians were
 * chosen over a random sample of pairs because the interval stays the textbook one:
 * Var(S) and N' are those of the binned series itself (n = bins actually fitted), with
 * no extra sampling error to account for; and the medians are themselves robust, so
 * the breakdown point holds per bin as well as across bins.
 */
import { TheilSenRegression } from "ml-regression-theil-sen";
import { probit } from "simple-statistics";
import { medianInPlace, medianLinearInPlace, OrderStatistics, Room } from "./select.ts";

/** A Theil–Sen line with the interval of its slope, in the units of x and y given. */
export interface SenFit {
  /** The median pairwise slope (y per x). */
  slope: number;
  /** median(y − slope·x): the line's value at x = 0. */
  intercept: number;
  /** The slope's confidence interval: lower ≤ slope ≤ upper. */
  lower: number;
  upper: number;
  /** The two-sided confidence of [lower, upper], e.g. 0.95. */
  confidence: number;
  /** Pairs with distinct x that gave a slope. */
  pairs: number;
}

/**
 * Fits y = intercept + slope·x robustly. Up to 29% of the points can be arbitrary
 * (Theil–Sen's breakdown point) without moving the line far.
 * @param x finite values, at least two distinct.
 * @param y finite values, same length as x.
 * @param confidence in (0, 1).
 * @throws RangeError for mismatched lengths, non-finite values, fewer than two distinct
 * x, or a confidence outside (0, 1): the caller checks data before fitting.
 */
export function senFit(x: ArrayLike<number>, y: ArrayLike<number>, confidence: number): SenFit {
  if (x.length !== y.length) throw new RangeError(`x has ${x.length} values and y ${y.length}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence ${confidence} is not in (0, 1)`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) throw new RangeError(`point ${i} is not finite`);
  const slopes = pairwiseSlopes(x, y);
  if (slopes.length === 0) throw new RangeError("a line needs two points with distinct x");
  // The library takes typed arrays as they are (ml-regression-base's checkArrayLength accepts any array).
  const model = new TheilSenRegression(x as readonly number[], y as readonly number[]);
  const z = probit(1 - (1 - confidence) / 2);
  const c = z * Math.sqrt(kendallVariance(y));
  const m1 = (slopes.length - c) / 2;
  const m2 = (slopes.length + c) / 2;
  // Only the ranks about the interval's ends are read: selected from the band of slopes that holds them.
  const ranked = new OrderStatistics(slopes, rankIndex(slopes.length, m1), rankIndex(slopes.length, m2 + 1) + 1);
  const lower = Math.min(rankedAt(ranked, slopes.length, m1), model.slope);
  const upper = Math.max(rankedAt(ranked, slopes.length, m2 + 1), model.slope);
  return { slope: model.slope, intercept: model.intercept, lower, upper, confidence, pairs: slopes.length };
}

const cutRoom = new Room();

/**
 * median(y − b·x): the intercept of a line of slope b through the series, the median
 * as simple-statistics' medianSorted takes it (select.ts, medianLinearInPlace; checked
 * against it in the tests), found by selection in reused room.
 * @throws RangeError for an empty series.
 */
export function interceptFor(x: ArrayLike<number>, y: ArrayLike<number>, b: number): number {
  const cuts = cutRoom.take(x.length);
  for (let i = 0; i < x.length; i++) cuts[i] = y[i]! - b * x[i]!;
  return medianLinearInPlace(cuts);
}

/** Most points a Sen fit ranks the pairwise slopes of (see the module comment). */
export const MAX_FIT_POINTS = 120;

/**
 * A long series reduced to the medians of equal time bins: [x0, x_last] cut into `bins`
 * bins of equal width, each non-empty bin giving one point (median x, median y); empty
 * bins (gaps) give none. For a straight line the medians lie on it, so the slope is
 * unchanged; a wild reading moves its bin's median only if it is most of the bin.
 * `x` ascending. Returns the series itself (copied) when it has at most `bins` points.
 */
export function binMedians(x: ArrayLike<number>, y: ArrayLike<number>, bins: number): { x: Float64Array; y: Float64Array } {
  if (x.length <= bins) return { x: Float64Array.from(x), y: Float64Array.from(y) };
  return binMediansIn(x, y, bins, new Float64Array(bins), new Float64Array(bins), new Float64Array(x.length));
}

const binRoom = { x: new Room(), y: new Room(), scratch: new Room() };

/**
 * {@link binMedians} of a series longer than `bins` into reused room: the bins are valid
 * until the next call (a fit reads them at once).
 */
export function binMediansInRoom(x: ArrayLike<number>, y: ArrayLike<number>, bins: number): { x: Float64Array; y: Float64Array } {
  return binMediansIn(x, y, bins, binRoom.x.take(bins), binRoom.y.take(bins), binRoom.scratch.take(x.length));
}

/** The bin medians of a series longer than `bins`, into bx and by (`bins` long) through `scratch` (as long as the series). */
function binMediansIn(x: ArrayLike<number>, y: ArrayLike<number>, bins: number, bx: Float64Array, by: Float64Array, scratch: Float64Array): { x: Float64Array; y: Float64Array } {
  const n = x.length;
  const x0 = x[0]!;
  const width = (x[n - 1]! - x0) / bins;
  let count = 0;
  for (let i = 0; i < n; ) {
    const bin = width > 0 ? Math.min(bins - 1, Math.floor((x[i]! - x0) / width)) : 0;
    let j = i + 1;
    while (j < n && (width > 0 ? Math.min(bins - 1, Math.floor((x[j]! - x0) / width)) : 0) === bin) j++;
    bx[count] = medianOf(x, i, j, scratch);
    by[count] = medianOf(y, i, j, scratch);
    count++;
    i = j;
  }
  return { x: bx.subarray(0, count), y: by.subarray(0, count) };
}

/** The median of v[from..to) (the mean of the two middle values for an even count), through `scratch` (at least to − from long). */
function medianOf(v: ArrayLike<number>, from: number, to: number, scratch: Float64Array): number {
  for (let k = from; k < to; k++) scratch[k - from] = v[k]!;
  return medianInPlace(scratch, 0, to - from - 1);
}

/**
 * Room for the pairwise slopes of a fit of up to {@link MAX_FIT_POINTS} points, reused
 * by every such fit (thousands a report): 57 KB each would otherwise be allocated and
 * collected again per series. A longer series (a caller fitting raw readings) gets
 * room of its own, so this never holds more than one fit's worth.
 */
const slopeRoom = new Float64Array((MAX_FIT_POINTS * (MAX_FIT_POINTS - 1)) / 2);

/** Every (yj − yi)/(xj − xi) for i < j with xi ≠ xj, unordered (rankedAt selects in place); valid until the next call. */
function pairwiseSlopes(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const n = x.length;
  const pairs = (n * (n - 1)) / 2;
  const out = pairs <= slopeRoom.length ? slopeRoom : new Float64Array(pairs);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = x[j]! - x[i]!;
      if (dx !== 0) out[k++] = (y[j]! - y[i]!) / dx;
    }
  }
  return out.subarray(0, k);
}

/** Var(S) of Mann–Kendall's S with ties in y: [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18. */
function kendallVariance(y: ArrayLike<number>): number {
  const n = y.length;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(y[i]!, (counts.get(y[i]!) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) ties += t * (t - 1) * (2 * t + 5);
  return Math.max(0, (n * (n - 1) * (2 * n + 5) - ties) / 18);
}

/** The 0-based index below 1-based rank r among n values, clamped to them (see {@link rankedAt}). */
function rankIndex(n: number, r: number): number {
  return Math.floor(Math.min(n - 1, Math.max(0, r - 1)));
}

/**
 * The value at 1-based rank r of the n values, interpolated between the neighbouring
 * ranks, clamped to the ends: what indexing the sorted values would give.
 */
function rankedAt(ranked: OrderStatistics, n: number, r: number): number {
  const i = Math.min(n - 1, Math.max(0, r - 1));
  const lo = Math.floor(i);
  const low = ranked.value(lo);
  if (lo + 1 >= n || i === lo) return low;
  const high = ranked.value(lo + 1);
  return low + (high - low) * (i - lo);
}
