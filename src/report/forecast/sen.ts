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
 * Cost: the estimator ranks all n(n−1)/2 pairwise slopes, quadratic in n. Long series
 * are first reduced with {@link binMedians} to at most {@link MAX_FIT_POINTS} points
 * (trend.ts does so), which bounds one fit at about 7,000 slopes. Bin medians were
 * chosen over a random sample of pairs because the interval stays the textbook one:
 * Var(S) and N' are those of the binned series itself (n = bins actually fitted), with
 * no extra sampling error to account for; and the medians are themselves robust, so
 * the breakdown point holds per bin as well as across bins.
 */
import { TheilSenRegression } from "ml-regression-theil-sen";
import { medianSorted, probit } from "simple-statistics";

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
  const model = new TheilSenRegression(Array.from(x), Array.from(y));
  const z = probit(1 - (1 - confidence) / 2);
  const c = z * Math.sqrt(kendallVariance(y));
  const m1 = (slopes.length - c) / 2;
  const m2 = (slopes.length + c) / 2;
  const lower = Math.min(rankedAt(slopes, m1), model.slope);
  const upper = Math.max(rankedAt(slopes, m2 + 1), model.slope);
  return { slope: model.slope, intercept: model.intercept, lower, upper, confidence, pairs: slopes.length };
}

/** median(y − b·x): the intercept of a line of slope b through the series. */
export function interceptFor(x: ArrayLike<number>, y: ArrayLike<number>, b: number): number {
  const cuts = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) cuts[i] = y[i]! - b * x[i]!;
  // simple-statistics' medianSorted reads only length and indices: a typed array is one.
  return medianSorted(cuts.sort() as unknown as number[]);
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
  const n = x.length;
  if (n <= bins) return { x: Float64Array.from(x), y: Float64Array.from(y) };
  const x0 = x[0]!;
  const width = (x[n - 1]! - x0) / bins;
  const bx: number[] = [];
  const by: number[] = [];
  for (let i = 0; i < n; ) {
    const bin = width > 0 ? Math.min(bins - 1, Math.floor((x[i]! - x0) / width)) : 0;
    let j = i + 1;
    while (j < n && (width > 0 ? Math.min(bins - 1, Math.floor((x[j]! - x0) / width)) : 0) === bin) j++;
    bx.push(medianOf(x, i, j));
    by.push(medianOf(y, i, j));
    i = j;
  }
  return { x: Float64Array.from(bx), y: Float64Array.from(by) };
}

function medianOf(v: ArrayLike<number>, from: number, to: number): number {
  const s = new Float64Array(to - from);
  for (let k = from; k < to; k++) s[k - from] = v[k]!;
  s.sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Every (yj − yi)/(xj − xi) for i < j with xi ≠ xj, unordered (rankedAt selects in place). */
function pairwiseSlopes(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const n = x.length;
  const out = new Float64Array((n * (n - 1)) / 2);
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

/**
 * The value at 1-based rank r of the values, interpolated between the neighbouring
 * ranks, clamped to the ends: what indexing the sorted values would give, found by
 * selection (Hoare's quickselect, expected linear time) instead of a full sort.
 * Reorders `values` in place.
 */
function rankedAt(values: Float64Array, r: number): number {
  const i = Math.min(values.length - 1, Math.max(0, r - 1));
  const lo = Math.floor(i);
  const low = select(values, lo);
  if (lo + 1 >= values.length || i === lo) return low;
  // After selecting lo, everything right of it is ≥ it: the next rank is their minimum.
  let high = Number.POSITIVE_INFINITY;
  for (let k = lo + 1; k < values.length; k++) if (values[k]! < high) high = values[k]!;
  return low + (high - low) * (i - lo);
}

/** The k-th smallest (0-based) of `a`, leaving a partitioned around it (a[k] in place). */
function select(a: Float64Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    const pivot = a[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k]!;
  }
  return a[k]!;
}
