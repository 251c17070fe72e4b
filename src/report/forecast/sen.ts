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
export function senFit(x: readonly number[], y: readonly number[], confidence: number): SenFit {
  if (x.length !== y.length) throw new RangeError(`x has ${x.length} values and y ${y.length}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence ${confidence} is not in (0, 1)`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) throw new RangeError(`point ${i} is not finite`);
  const slopes = pairwiseSlopes(x, y);
  if (slopes.length === 0) throw new RangeError("a line needs two points with distinct x");
  const model = new TheilSenRegression([...x], [...y]);
  const z = probit(1 - (1 - confidence) / 2);
  const c = z * Math.sqrt(kendallVariance(y));
  const m1 = (slopes.length - c) / 2;
  const m2 = (slopes.length + c) / 2;
  const lower = Math.min(rankedAt(slopes, m1), model.slope);
  const upper = Math.max(rankedAt(slopes, m2 + 1), model.slope);
  return { slope: model.slope, intercept: model.intercept, lower, upper, confidence, pairs: slopes.length };
}

/** median(y − b·x): the intercept of a line of slope b through the series. */
export function interceptFor(x: readonly number[], y: readonly number[], b: number): number {
  const cuts = Float64Array.from(x, (xi, i) => y[i]! - b * xi).sort();
  return medianSorted(Array.from(cuts));
}

/** Every (yj − yi)/(xj − xi) for i < j with xi ≠ xj, sorted ascending. */
function pairwiseSlopes(x: readonly number[], y: readonly number[]): Float64Array {
  const n = x.length;
  const out = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = x[j]! - x[i]!;
      if (dx !== 0) out[k++] = (y[j]! - y[i]!) / dx;
    }
  }
  return out.subarray(0, k).sort();
}

/** Var(S) of Mann–Kendall's S with ties in y: [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18. */
function kendallVariance(y: readonly number[]): number {
  const n = y.length;
  const counts = new Map<number, number>();
  for (const v of y) counts.set(v, (counts.get(v) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) ties += t * (t - 1) * (2 * t + 5);
  return Math.max(0, (n * (n - 1) * (2 * n + 5) - ties) / 18);
}

/** The value at 1-based rank r of ascending `sorted`, interpolated, clamped to the ends. */
function rankedAt(sorted: Float64Array, r: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, r - 1));
  const lo = Math.floor(i);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}
