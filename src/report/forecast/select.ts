/**
 * Order statistics by selection: the value a full sort would put at a rank, found in
 * expected linear time (Hoare's quickselect, C. A. R. Hoare, "Algorithm 65: Find",
 * CACM 4(7), 1961) instead of the n log n of sorting. The forecast ranks the same
 * kinds of values many times per series (pairwise slopes around a fall, the interval's
 * ends among the slopes of a fit, the residuals of a line), so each rank is selected,
 * never sorted for.
 *
 * The values returned are exactly those of indexing the sorted values (a numeric sort,
 * as `Float64Array.prototype.sort` does): the same numbers, with one exception no
 * figure shows — of a +0 and a −0 at the same rank, either may be returned (they
 * compare equal; the sort puts −0 first). Inputs must not hold NaN (a NaN compares
 * false both ways and would leave the partition unordered): every caller ranks
 * quotients and differences of finite values, which are never NaN.
 */

/** Ranges this short are finished by insertion sort: fewer moves than partitioning them again. */
const SHORT_RANGE = 24;

/**
 * The k-th smallest (0-based) of `a[left..right]`, leaving that range partitioned
 * around it: `a[k]` holds it, nothing before it is larger and nothing after it is
 * smaller. Reorders `a` in place; values outside the range are not touched. The pivot
 * is the median of the first, middle and last values (sorted or reversed input stays
 * linear). Each partition moves every value without a branch on it (Lomuto's scheme:
 * swap, and advance the boundary by the comparison's 0 or 1): the values ranked here
 * come in no order, and a branch on each comparison was mispredicted half the time,
 * measured 2.4 times slower than this on a fit's slopes.
 */
export function selectInPlace(a: Float64Array, k: number, left = 0, right = a.length - 1): number {
  while (right - left > SHORT_RANGE) {
    const p = a[left]!;
    const q = a[(left + right) >> 1]!;
    const r = a[right]!;
    const pivot = p < q ? (q < r ? q : p < r ? r : p) : p < r ? p : q < r ? r : q;
    // a[left..below) < pivot ≤ a[below..right]
    let below = left;
    for (let i = left; i <= right; i++) {
      const v = a[i]!;
      a[i] = a[below]!;
      a[below] = v;
      below += +(v < pivot);
    }
    if (k < below) {
      right = below - 1;
      continue;
    }
    // a[below..equal) = pivot < a[equal..right]; the pivot is among them, so the range always shrinks.
    let equal = below;
    for (let i = below; i <= right; i++) {
      const v = a[i]!;
      a[i] = a[equal]!;
      a[equal] = v;
      equal += +(v <= pivot);
    }
    if (k < equal) return a[k]!;
    left = equal;
  }
  for (let i = left + 1; i <= right; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= left && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
  return a[k]!;
}

/** The smallest of `a[from..to]` (inclusive; Infinity when empty). */
export function minOf(a: Float64Array, from: number, to: number): number {
  let min = Number.POSITIVE_INFINITY;
  for (let k = from; k <= to; k++) if (a[k]! < min) min = a[k]!;
  return min;
}

/**
 * The median of `a[left..right]`: the middle value, or for an even count the mean of
 * the two middle ones as `(lower + upper) / 2`. Reorders that range in place.
 * @throws RangeError for an empty range.
 */
export function medianInPlace(a: Float64Array, left = 0, right = a.length - 1): number {
  const n = right - left + 1;
  if (n <= 0) throw new RangeError("the median of no values");
  const m = left + (n >> 1);
  if (n % 2 === 1) return selectInPlace(a, m, left, right);
  const lower = selectInPlace(a, m - 1, left, right);
  // Everything right of the lower middle is at least it: the upper middle is their minimum.
  return (lower + minOf(a, m, right)) / 2;
}

/** Fewest values worth narrowing to a band before selecting (below it, selecting over all is as quick). */
const BAND_MIN_VALUES = 2048;
/** Values sampled to place a band: their ranks estimate the band's ends to within a few percent. */
const BAND_SAMPLE = 512;
/**
 * Sample positions added on each side of the estimated ends: about three standard
 * deviations of a sample rank (√(S·p(1−p)) ≤ √S/2), so the band misses a rank asked for
 * rarely; when it does, the full set is used (slower, never wrong).
 */
const BAND_MARGIN = Math.ceil(1.5 * Math.sqrt(BAND_SAMPLE)) + 1;
/** Room reused by every band (grown as needed): a fit asks for ranks thousands of times. */
let bandRoom = new Float64Array(0);
const sampleRoom = new Float64Array(BAND_SAMPLE);

/**
 * The values at 0-based ranks of a set (the values a full sort would put at those
 * indices), for ranks asked mostly in ascending order. Given the lowest and highest
 * rank that will be asked, a large set is first narrowed to the band of values that
 * can hold them (Floyd and Rivest's idea, "Expected time bounds for selection", CACM
 * 18(3), 1975: ranks of a sample bound the band, one pass keeps what lies in it, and
 * the selections run over the band only); the band is checked to hold those ranks, and
 * the whole set used when it does not. Reorders `values`; the band lives in room
 * shared by every instance, so only one may be in use at a time (a fit's interval).
 */
export class OrderStatistics {
  readonly #values: Float64Array;
  /** The rank of `#values[0]` in the whole set. */
  readonly #offset: number;
  /** Index in `#values` of the last value placed by a selection (−1: none). */
  #placed = -1;

  /** @param lowest, highest the ranks that will be asked lie in [lowest, highest] (0-based; narrowed to the values' range). */
  constructor(values: Float64Array, lowest = 0, highest = values.length - 1) {
    const band = narrow(values, Math.max(0, lowest), Math.min(values.length - 1, highest));
    this.#values = band === undefined ? values : band.values;
    this.#offset = band === undefined ? 0 : band.offset;
  }

  /** The value at 0-based rank k of the whole set. @throws RangeError for a rank outside the band given. */
  value(k: number): number {
    const values = this.#values;
    const i = k - this.#offset;
    const last = values.length - 1;
    if (!(i >= 0 && i <= last)) throw new RangeError(`rank ${k} is outside the ranks ${this.#offset} to ${this.#offset + last} asked for`);
    const placed = this.#placed;
    // Everything right of a placed value is at least it: the next rank is their minimum.
    if (placed >= 0 && i === placed + 1) return minOf(values, i, last);
    if (i === placed) return values[i]!;
    // Below the placed value the ranks are among the values before it (all at most it); above, among those after.
    const v = placed >= 0 && i < placed ? selectInPlace(values, i, 0, placed - 1) : selectInPlace(values, i, placed + 1, last);
    this.#placed = i;
    return v;
  }
}

/** The values of `values` that can hold the ranks lowest..highest, and the rank of the first of them; undefined: use them all. */
function narrow(values: Float64Array, lowest: number, highest: number): { values: Float64Array; offset: number } | undefined {
  const n = values.length;
  if (n < BAND_MIN_VALUES || highest < lowest) return undefined;
  const sample = sampleRoom;
  const s = BAND_SAMPLE;
  const stride = n / s;
  for (let k = 0; k < s; k++) sample[k] = values[Math.floor(k * stride)]!;
  const a = Math.floor((lowest / n) * s) - BAND_MARGIN;
  const b = Math.ceil((highest / n) * s) + BAND_MARGIN;
  const low = a <= 0 ? Number.NEGATIVE_INFINITY : selectInPlace(sample, a);
  const high = b >= s - 1 ? Number.POSITIVE_INFINITY : selectInPlace(sample, b, a > 0 ? a : 0);
  if (low === Number.NEGATIVE_INFINITY && high === Number.POSITIVE_INFINITY) return undefined;
  if (bandRoom.length < n) bandRoom = new Float64Array(n);
  const band = bandRoom;
  let below = 0;
  let m = 0;
  // Without a branch per value (every value is written, kept only when it lies in the band): slopes come in no
  // order, so a branch here would be mispredicted half the time, measured five times slower.
  for (let k = 0; k < n; k++) {
    const v = values[k]!;
    band[m] = v;
    m += +(v >= low) & +(v <= high);
    below += +(v < low);
  }
  // The band holds ranks below..below+m−1 of the whole set exactly: every value under it is smaller, every one over it larger.
  if (below > lowest || below + m - 1 < highest) return undefined;
  return { values: band.subarray(0, m), offset: below };
}

/**
 * The median as simple-statistics computes it (quantileSorted at 0.5, numpy's "linear"
 * method): the middle value, or for an even count `lower + 0.5·(upper − lower)` of the
 * two middle ones (which can differ in the last bit from their mean). Reorders
 * `a[left..right]` in place.
 * @throws RangeError for an empty range.
 */
export function medianLinearInPlace(a: Float64Array, left = 0, right = a.length - 1): number {
  const n = right - left + 1;
  if (n <= 0) throw new RangeError("the median of no values");
  const m = left + (n >> 1);
  if (n % 2 === 1) return selectInPlace(a, m, left, right);
  const lower = selectInPlace(a, m - 1, left, right);
  return lower + 0.5 * (minOf(a, m, right) - lower);
}

/** Most values a {@link Room} keeps for reuse; a longer request gets an array of its own. */
const ROOM_LIMIT = 1 << 16;

/**
 * A buffer reused from call to call of one computation (a fit's working arrays, 4,000
 * fits a report): each take returns a view of the first `n` values, valid until the
 * next take from the same room. Values are not cleared.
 */
export class Room {
  #buffer = new Float64Array(0);

  take(n: number): Float64Array {
    if (n > ROOM_LIMIT) return new Float64Array(n);
    if (this.#buffer.length < n) this.#buffer = new Float64Array(Math.min(ROOM_LIMIT, Math.max(n, 2 * this.#buffer.length)));
    return this.#buffer.subarray(0, n);
  }
}
