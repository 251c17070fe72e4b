import { describe, expect, it } from "vitest";
import { median as ssMedian, medianSorted, probit } from "simple-statistics";
import { TheilSenRegression } from "ml-regression-theil-sen";
import { medianInPlace, medianLinearInPlace, OrderStatistics, selectInPlace } from "../../../src/report/forecast/select.ts";
import { interceptFor, senFit } from "../../../src/report/forecast/sen.ts";
import { prng } from "../../support/prng.ts";

/** Random sets of every shape selection must handle: noise, heavy ties, sorted, reversed, constant, infinities. */
function sets(seed: number, count: number): Float64Array[] {
  const rand = prng(seed);
  const out: Float64Array[] = [];
  for (let k = 0; k < count; k++) {
    const n = 1 + Math.floor(rand() ** 2 * 9000);
    const shape = k % 6;
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = shape === 0 ? (rand() - 0.5) * 1e6 : shape === 1 ? Math.floor(rand() * 5) : shape === 2 ? i * 0.5 : shape === 3 ? -i : shape === 4 ? 7 : rand() < 0.01 ? (rand() < 0.5 ? -Infinity : Infinity) : rand();
    }
    out.push(a);
  }
  return out;
}

const sorted = (a: Float64Array): Float64Array => Float64Array.from(a).sort();

describe("order statistics by selection (select.ts), against sorting and simple-statistics", () => {
  it("selectInPlace finds the value a sort puts at each rank and partitions around it", () => {
    const rand = prng(1);
    for (const a of sets(11, 120)) {
      const s = sorted(a);
      const k = Math.floor(rand() * a.length);
      const copy = Float64Array.from(a);
      expect(selectInPlace(copy, k)).toBe(s[k]);
      expect(copy[k]).toBe(s[k]);
      let partitioned = true;
      for (let i = 0; i < copy.length; i++) if (i < k ? !(copy[i]! <= copy[k]!) : !(copy[i]! >= copy[k]!)) partitioned = false;
      expect(partitioned).toBe(true);
    }
  });

  it("medianInPlace is the median of the sorted values, and simple-statistics' median to the last bits", () => {
    for (const a of sets(12, 120)) {
      const s = sorted(a);
      const m = s.length >> 1;
      const expected = s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
      const got = medianInPlace(Float64Array.from(a));
      expect(got).toBe(expected);
      const library = ssMedian(Array.from(a));
      if (Number.isFinite(library)) expect(got).toBeCloseTo(library, 6);
    }
    expect(() => medianInPlace(new Float64Array(0))).toThrow(RangeError);
    // Two middles whose mean (a + b) / 2 and a + (b − a) / 2 differ in the last bit: the mean, as the trend's medians always took it.
    expect(medianInPlace(Float64Array.of(1.1493108790131803, 0.4704461621448613))).toBe(0.8098785205790208);
  });

  it("medianLinearInPlace is exactly simple-statistics' medianSorted of the sorted values", () => {
    for (const a of sets(17, 120)) {
      expect(medianLinearInPlace(Float64Array.from(a))).toBe(medianSorted(Array.from(sorted(a))));
    }
    // The two middles whose mean and lower + (upper − lower)/2 differ: the library's form.
    expect(medianLinearInPlace(Float64Array.of(1.1493108790131803, 0.4704461621448613))).toBe(medianSorted([0.4704461621448613, 1.1493108790131803]));
    expect(medianLinearInPlace(Float64Array.of(1.1493108790131803, 0.4704461621448613))).toBe(0.8098785205790209);
  });

  it("OrderStatistics gives every rank of a band, asked in any order, from a narrowed band or the whole set", () => {
    const rand = prng(13);
    for (const a of sets(14, 150)) {
      const s = sorted(a);
      const lo = Math.floor(rand() * a.length);
      const hi = Math.min(a.length - 1, lo + Math.floor(rand() * 1500));
      const stats = new OrderStatistics(Float64Array.from(a), lo, hi);
      const ranks = Array.from({ length: 12 }, () => lo + Math.floor(rand() * (hi - lo + 1)));
      ranks.push(lo, hi, lo, hi);
      if (a.length % 2 === 0) ranks.sort((x, y) => x - y);
      for (const k of ranks) expect(stats.value(k)).toBe(s[k]);
    }
  });

  it("a sample that misses the band falls back to the whole set, never a wrong value", () => {
    // The sampled positions (every n/512-th value) hold the largest values: the band the sample suggests is far too high.
    const n = 8192;
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = i % 16 === 0 ? 1e9 + i : i;
    const s = sorted(a);
    for (const [lo, hi] of [[3000, 3900], [0, 10], [8000, 8191]] as const) {
      const stats = new OrderStatistics(Float64Array.from(a), lo, hi);
      for (let k = lo; k <= hi; k += 7) expect(stats.value(k)).toBe(s[k]);
    }
    expect(() => new OrderStatistics(Float64Array.from(a), 3000, 3900).value(5000)).not.toThrow();
  });
});

/** Sen's interval as it was computed by sorting every pairwise slope (Gilbert 1987 §16.5), the reference. */
function sortedInterval(x: number[], y: number[], confidence: number): { lower: number; upper: number } {
  const slopes: number[] = [];
  for (let i = 0; i < x.length; i++) for (let j = i + 1; j < x.length; j++) if (x[j] !== x[i]) slopes.push((y[j]! - y[i]!) / (x[j]! - x[i]!));
  const s = Float64Array.from(slopes).sort();
  const counts = new Map<number, number>();
  for (const v of y) counts.set(v, (counts.get(v) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) ties += t * (t - 1) * (2 * t + 5);
  const n = y.length;
  const c = probit(1 - (1 - confidence) / 2) * Math.sqrt(Math.max(0, (n * (n - 1) * (2 * n + 5) - ties) / 18));
  const at = (r: number): number => {
    const i = Math.min(s.length - 1, Math.max(0, r - 1));
    const lo = Math.floor(i);
    return lo + 1 >= s.length || i === lo ? s[lo]! : s[lo]! + (s[lo + 1]! - s[lo]!) * (i - lo);
  };
  const slope = new TheilSenRegression(x, y).slope;
  return { lower: Math.min(at((s.length - c) / 2), slope), upper: Math.max(at((s.length + c) / 2 + 1), slope) };
}

describe("senFit's interval by selection, against sorting every slope; its line, the library's", () => {
  it("gives exactly the sorted interval and ml-regression-theil-sen's slope and intercept on random series", () => {
    const rand = prng(15);
    for (let k = 0; k < 80; k++) {
      const n = 2 + Math.floor(rand() * 180);
      const x = Array.from({ length: n }, (_, i) => (k % 4 === 0 ? Math.floor(i / 3) : i + rand()));
      const y = x.map((xi) => (k % 5 === 0 ? Math.round(rand() * 4) : 10 + 0.3 * xi + (rand() - 0.5) * 8 * (rand() < 0.05 ? 20 : 1)));
      if (new Set(x).size < 2) continue;
      const fit = senFit(Float64Array.from(x), Float64Array.from(y), 0.95);
      const library = new TheilSenRegression(x, y);
      expect(fit.slope).toBe(library.slope);
      expect(fit.intercept).toBe(library.intercept);
      expect({ lower: fit.lower, upper: fit.upper }).toEqual(sortedInterval(x, y, 0.95));
    }
  });

  it("interceptFor is simple-statistics' median of the sorted residuals", () => {
    const rand = prng(16);
    for (let k = 0; k < 60; k++) {
      const n = 1 + Math.floor(rand() * 400);
      const x = Array.from({ length: n }, (_, i) => i + rand());
      const y = x.map((xi) => (k % 3 === 0 ? Math.round(rand() * 3) : 5 + 2 * xi + (rand() - 0.5) * 30));
      const b = rand() * 4 - 1;
      expect(interceptFor(x, y, b)).toBe(medianSorted(x.map((xi, i) => y[i]! - b * xi).sort((p, q) => p - q)));
    }
  });
});
