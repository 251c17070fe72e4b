import { describe, expect, it } from "vitest";
import { forecastDisk, forecastLoad, forecastMemory, type DiskSample } from "../../../src/report/forecast/resources.ts";
import { senFit } from "../../../src/report/forecast/sen.ts";
import { fitTrend } from "../../../src/report/forecast/trend.ts";
import { prng } from "../../support/prng.ts";

const GB = 1e9;
const DAY = 86_400_000;
const T0 = Date.parse("2026-01-01T06:00:00Z");
const at = (days: number): Date => new Date(T0 + days * DAY);


/** used = start + slope·day, on a disk of `size`, one reading a day for `days` days. */
function linear(days: number, start: number, slope: number, size = 100 * GB): DiskSample[] {
  return Array.from({ length: days }, (_, d) => ({ t: at(d), usedBytes: start + slope * d, sizeBytes: size }));
}

describe("disk forecast: known slopes", () => {
  it("a straight line gives its slope and the exact days until 95% full", () => {
    const trend = forecastDisk(linear(30, 10 * GB, 1 * GB), { now: at(29) });
    expect(trend.status).toBe("growing");
    expect(trend.fit!.slopePerDay).toBeCloseTo(1 * GB, 0);
    // 39 GB used at day 29; full at 95 GB: 56 days on.
    expect(trend.full!.days).toBeCloseTo(56, 6);
    expect(trend.full!.at).toBe(at(85).toISOString());
    expect(trend.fit!.lowerPerDay).toBeLessThanOrEqual(trend.fit!.slopePerDay);
    expect(trend.fit!.upperPerDay).toBeGreaterThanOrEqual(trend.fit!.slopePerDay);
    expect(trend.message).toMatch(/reaches the threshold in 56 days \(2026-03-27\); 95% interval/);
  });

  it("counts days from --now, not from the last reading", () => {
    const trend = forecastDisk(linear(30, 10 * GB, 1 * GB), { now: at(40) });
    expect(trend.full!.days).toBeCloseTo(45, 6);
  });

  it("tolerates gaps and irregular times: the slope is per real day", () => {
    const rand = prng(7);
    const samples = linear(120, 5 * GB, 0.5 * GB).filter(() => rand() > 0.6).map((s) => {
      const shift = (rand() - 0.5) * 0.8; // readings up to ±10 hours off their day
      const days = (s.t.getTime() - T0) / DAY + shift;
      return { t: at(days), usedBytes: 5 * GB + 0.5 * GB * days, sizeBytes: 100 * GB };
    });
    expect(samples.length).toBeLessThan(60);
    const trend = forecastDisk(samples, { now: samples.at(-1)!.t });
    expect(trend.fit!.slopePerDay / GB).toBeCloseTo(0.5, 9);
  });

  it("is robust to outliers: a fifth of wild readings barely moves the slope", () => {
    const rand = prng(11);
    const samples = linear(60, 20 * GB, 0.3 * GB).map((s, i) => ({
      ...s,
      usedBytes: i % 5 === 2 ? (rand() < 0.5 ? 95 * GB : 1 * GB) : s.usedBytes + (rand() - 0.5) * 0.2 * GB,
    }));
    const trend = forecastDisk(samples, { now: at(59) });
    expect(Math.abs(trend.fit!.slopePerDay / GB - 0.3)).toBeLessThan(0.03);
    expect(trend.cleanups).toEqual([]);
    // The same series by least squares would be far off: the outliers are what Theil–Sen ignores.
    const n = samples.length;
    const xs = samples.map((_, i) => i);
    const ys = samples.map((s) => s.usedBytes / GB);
    const mx = xs.reduce((a, b) => a + b) / n;
    const my = ys.reduce((a, b) => a + b) / n;
    const ols = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    expect(Math.abs(ols - 0.3)).toBeGreaterThan(Math.abs(trend.fit!.slopePerDay / GB - 0.3));
  });

  it("a cleanup starts a new segment: only the readings after it are fitted, and it says so", () => {
    const before = linear(20, 30 * GB, 1 * GB); // 30 → 49 GB
    const after = Array.from({ length: 10 }, (_, d) => ({ t: at(20 + d), usedBytes: 15 * GB + 2 * GB * d, sizeBytes: 100 * GB }));
    const trend = forecastDisk([...before, ...after], { now: at(29) });
    expect(trend.cleanups).toHaveLength(1);
    expect(trend.cleanups[0]!.at).toBe(at(20).toISOString());
    expect(trend.segment).toEqual({ from: at(20).toISOString(), to: at(29).toISOString(), points: 10 });
    expect(trend.fit!.slopePerDay / GB).toBeCloseTo(2, 9);
    expect(trend.full!.days).toBeCloseTo((95 - 33) / 2, 6);
    expect(trend.message).toMatch(/fitted only the 10 readings since the cleanup on 2026-01-21/);
  });

  it("one low reading is an outlier, not a cleanup; a fall at the last reading waits for confirmation", () => {
    const dip = linear(30, 30 * GB, 1 * GB).map((s, i) => (i === 15 ? { ...s, usedBytes: 2 * GB } : s));
    const a = forecastDisk(dip, { now: at(29) });
    expect(a.cleanups).toEqual([]);
    expect(a.fit!.slopePerDay / GB).toBeCloseTo(1, 6);
    const trailing = linear(30, 30 * GB, 1 * GB).map((s, i) => (i === 29 ? { ...s, usedBytes: 5 * GB } : s));
    const b = forecastDisk(trailing, { now: at(29) });
    expect(b.cleanups).toEqual([]);
    expect(b.unconfirmedDrop).toMatchObject({ at: at(29).toISOString(), to: 5 * GB });
    expect(b.fit!.slopePerDay / GB).toBeCloseTo(1, 6);
  });

  it("flat and shrinking usage have no fill date", () => {
    const flat = forecastDisk(linear(20, 40 * GB, 0), { now: at(19) });
    expect(flat.status).toBe("flat");
    expect(flat.full).toEqual({ at: null, days: null });
    expect(flat.message).toMatch(/^flat: no fill date/);
    const shrinking = forecastDisk(linear(20, 60 * GB, -0.5 * GB), { now: at(19) });
    expect(shrinking.status).toBe("shrinking");
    expect(shrinking.full!.at).toBeNull();
    expect(shrinking.latest!.at).toBeNull();
  });

  it("a disk already over the threshold is full, 0 days", () => {
    const trend = forecastDisk(linear(10, 90 * GB, 1 * GB), { now: at(9) });
    expect(trend.status).toBe("full");
    expect(trend.full!.days).toBe(0);
  });
});

describe("disk forecast: too little or bad data", () => {
  it("says how much data it has and needs, never a number", () => {
    for (const n of [0, 1, 3]) {
      const trend = forecastDisk(linear(n, 10 * GB, GB), { now: at(5) });
      expect(trend.status).toBe("insufficient-data");
      expect(trend.message).toBe(`insufficient data: ${n} point${n === 1 ? "" : "s"}, need 5`);
      expect(trend.full).toBeUndefined();
    }
  });

  it("readings all at one instant count once", () => {
    const same = Array.from({ length: 8 }, (_, i) => ({ t: at(3), usedBytes: (10 + i) * GB, sizeBytes: 100 * GB }));
    const trend = forecastDisk(same, { now: at(3) });
    expect(trend.status).toBe("insufficient-data");
    expect(trend.message).toBe("insufficient data: 1 point, need 5");
  });

  it("a short span is insufficient too", () => {
    const hourly = Array.from({ length: 12 }, (_, i) => ({ t: at(i / 24), usedBytes: (10 + i) * GB, sizeBytes: 100 * GB }));
    expect(forecastDisk(hourly, { now: at(1) }).message).toBe("insufficient data: 12 points over 0.46 days, need at least 2 days");
  });

  it("leaves out NaN, infinite, negative, impossible and undated readings and counts them", () => {
    const good = linear(10, 10 * GB, GB);
    const bad: DiskSample[] = [
      { t: at(1.5), usedBytes: Number.NaN, sizeBytes: 100 * GB },
      { t: at(2.5), usedBytes: Number.POSITIVE_INFINITY, sizeBytes: 100 * GB },
      { t: at(3.5), usedBytes: -1, sizeBytes: 100 * GB },
      { t: at(4.5), usedBytes: 200 * GB, sizeBytes: 100 * GB },
      { t: new Date(Number.NaN), usedBytes: GB, sizeBytes: 100 * GB },
      { t: at(5.5), usedBytes: GB, sizeBytes: 0 },
    ];
    const trend = forecastDisk([...good, ...bad], { now: at(9) });
    expect(trend.observed).toBe(10);
    expect(trend.rejected.reduce((n, r) => n + r.count, 0)).toBe(6);
    expect(trend.fit!.slopePerDay / GB).toBeCloseTo(1, 9);
    const allBad = forecastDisk(bad, { now: at(9) });
    expect(allBad.message).toMatch(/^insufficient data: 0 points, need 5 \(/);
  });

  it("handles exabyte filesystems without losing precision", () => {
    const size = 2 ** 62;
    const samples = Array.from({ length: 40 }, (_, d) => ({ t: at(d), usedBytes: 2 ** 60 + 1e15 * d, sizeBytes: size }));
    const trend = forecastDisk(samples, { now: at(39) });
    const expected = (0.95 * size - (2 ** 60 + 39e15)) / 1e15;
    expect(trend.full!.days! / expected).toBeCloseTo(1, 9);
  });

  it("a slope that would take centuries is not given a date", () => {
    const trend = forecastDisk(linear(30, 10 * GB, 200_000), { now: at(29) });
    expect(trend.status).toBe("growing");
    expect(trend.full).toEqual({ at: null, days: null });
    expect(trend.message).toBe("growing, but not reaching the threshold within 100 years");
  });
});

describe("Sen's slope interval", () => {
  it("covers the true slope about as often as its confidence says", () => {
    const rand = prng(2026);
    let covered = 0;
    const trials = 300;
    for (let k = 0; k < trials; k++) {
      const x = Array.from({ length: 25 }, (_, i) => i + rand() * 0.5);
      const y = x.map((xi) => 3 + 0.7 * xi + (rand() + rand() + rand() - 1.5) * 2);
      const fit = senFit(x, y, 0.95);
      if (fit.lower <= 0.7 && 0.7 <= fit.upper) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.9);
    expect(covered / trials).toBeLessThan(0.99);
  });

  it("a wider confidence gives a wider interval", () => {
    const rand = prng(5);
    const x = Array.from({ length: 30 }, (_, i) => i);
    const y = x.map((xi) => xi * 2 + rand() * 10);
    const a = senFit(x, y, 0.8);
    const b = senFit(x, y, 0.99);
    expect(b.upper - b.lower).toBeGreaterThan(a.upper - a.lower);
  });

  it("refuses what cannot be fitted rather than returning NaN", () => {
    expect(() => senFit([1, 1, 1], [1, 2, 3], 0.95)).toThrow(RangeError);
    expect(() => senFit([1, 2], [1, Number.NaN], 0.95)).toThrow(RangeError);
    expect(() => senFit([1, 2], [1, 2], 1)).toThrow(RangeError);
  });
});

describe("memory and load", () => {
  it("memory whose available falls steadily is forecast to exhaustion", () => {
    const samples = Array.from({ length: 20 }, (_, d) => ({ t: at(d), availableBytes: 8 * GB - 0.2 * GB * d, totalBytes: 16 * GB }));
    const trend = forecastMemory(samples, { now: at(19) });
    expect(trend.status).toBe("growing");
    // in use 8 + 0.2·19 = 11.8 GB at day 19; exhausted at 95% of 16 GB = 15.2 GB: 17 days.
    expect(trend.full!.days).toBeCloseTo(17, 6);
  });

  it("load rising against the CPUs is forecast to saturation; steady load is flat", () => {
    const rising = Array.from({ length: 14 }, (_, d) => ({ t: at(d), fifteen: 1 + 0.25 * d, cpus: 8 }));
    expect(forecastLoad(rising, { now: at(13) }).full!.days).toBeCloseTo((8 - 4.25) / 0.25, 6);
    const steady = Array.from({ length: 14 }, (_, d) => ({ t: at(d), fifteen: 2, cpus: 8 }));
    expect(forecastLoad(steady, { now: at(13) }).status).toBe("flat");
  });

  it("a generic series with no segmentation ignores falls", () => {
    const points = Array.from({ length: 12 }, (_, d) => ({ t: at(d), value: d < 6 ? d : d - 5, capacity: 100 }));
    const trend = fitTrend(points, { now: at(11), fullAt: 1, dropFraction: Number.POSITIVE_INFINITY });
    expect(trend.cleanups).toEqual([]);
  });
});
