import { describe, expect, it } from "vitest";
import { collectSeries, DailySeries } from "../../../src/report/forecast/collect.ts";
import { forecastDisk, forecastSeries } from "../../../src/report/forecast/resources.ts";
import { binMedians, MAX_FIT_POINTS, senFit } from "../../../src/report/forecast/sen.ts";
import type { FactSnapshot } from "../../../src/report/history/snapshots.ts";
import { prng } from "../../support/prng.ts";

const GB = 1e9;
const DAY = 86_400_000;
const T0 = Date.parse("2026-01-01T01:00:00Z");
const at = (days: number): Date => new Date(T0 + days * DAY);


describe("long series: Sen's slope over bin medians", () => {
  it("a year of daily readings is fitted on at most 120 bin medians, and an exact line keeps its slope and fill date", () => {
    const samples = Array.from({ length: 365 }, (_, d) => ({ t: at(d), usedBytes: 10 * GB + 0.2 * GB * d, sizeBytes: 200 * GB }));
    const trend = forecastDisk(samples, { now: at(364) });
    expect(trend.fit!.fittedPoints).toBeLessThanOrEqual(MAX_FIT_POINTS);
    expect(trend.fit!.fittedPoints).toBeGreaterThan(100);
    expect(trend.segment!.points).toBe(365);
    expect(trend.fit!.slopePerDay / GB).toBeCloseTo(0.2, 9);
    // 82.8 GB at day 364; full at 190 GB: 536 days on.
    expect(trend.full!.days).toBeCloseTo((190 - 82.8) / 0.2, 6);
  });

  it("up to 120 readings are fitted as they are", () => {
    const samples = Array.from({ length: 120 }, (_, d) => ({ t: at(d), usedBytes: 10 * GB + GB * d, sizeBytes: 500 * GB }));
    expect(forecastDisk(samples, { now: at(119) }).fit!.fittedPoints).toBe(120);
  });

  it("with noise and outliers the slope stays close, and the interval (from the bins) covers the truth about as often as it says", () => {
    const rand = prng(365);
    let covered = 0;
    const trials = 60;
    for (let k = 0; k < trials; k++) {
      const samples = Array.from({ length: 365 }, (_, d) => {
        const noise = (rand() + rand() + rand() - 1.5) * 2 * GB;
        const used = 40 * GB + 0.3 * GB * d + noise;
        return { t: at(d), usedBytes: rand() < 0.02 ? used * (0.7 + 0.6 * rand()) : used, sizeBytes: 1000 * GB };
      });
      const trend = forecastDisk(samples, { now: at(364) });
      expect(Math.abs(trend.fit!.slopePerDay / GB - 0.3)).toBeLessThan(0.01);
      if (trend.fit!.lowerPerDay <= 0.3 * GB && 0.3 * GB <= trend.fit!.upperPerDay) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.85);
  });

  it("the interval is computed from the points fitted: wider than the raw count would claim", () => {
    const rand = prng(9);
    const x = Array.from({ length: 365 }, (_, i) => i);
    const y = x.map((xi) => 5 + 0.5 * xi + (rand() - 0.5) * 20);
    const all = senFit(x, y, 0.95);
    const bins = binMedians(x, y, MAX_FIT_POINTS);
    const binned = senFit(bins.x, bins.y, 0.95);
    expect(bins.x.length).toBeLessThanOrEqual(MAX_FIT_POINTS);
    expect(binned.pairs).toBe((bins.x.length * (bins.x.length - 1)) / 2);
    expect(binned.upper - binned.lower).toBeGreaterThan(0);
    expect(Math.abs(binned.slope - all.slope)).toBeLessThan(0.02);
  });

  it("bins skip gaps: empty bins give no point", () => {
    const x = [...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 100 }, (_, i) => 300 + i)];
    const y = x.map((xi) => 2 * xi);
    const b = binMedians(x, y, 120);
    expect(b.x.length).toBeLessThan(120);
    for (let i = 0; i < b.x.length; i++) expect(b.y[i]).toBeCloseTo(2 * b.x[i]!, 9);
  });
});

describe("collected daily series", () => {
  it("keeps one point per UTC day (the median), counts readings it cannot fit, and fits like the sample path", () => {
    const s = new DailySeries("disk");
    for (let d = 0; d < 30; d++) s.push(at(d).getTime(), (10 + d) * GB, 100 * GB);
    // A second and third reading on day 29: the day's median is kept.
    s.push(at(29.1).getTime(), 50 * GB, 100 * GB);
    s.push(at(29.2).getTime(), 40 * GB, 100 * GB);
    s.push(at(29.3).getTime(), 200 * GB, 100 * GB); // more than the size: refused
    s.push(at(29.4).getTime(), 1 * GB, 0); // zero capacity: refused
    const points = s.points();
    expect(points).toHaveLength(30);
    expect(points.at(-1)!.value).toBe(40 * GB);
    const trend = forecastSeries(s, { now: at(29) });
    expect(trend.rejected).toEqual([
      { reason: "more used than the capacity", count: 1 },
      { reason: "capacity is zero", count: 1 },
    ]);
    expect(trend.observed).toBe(30);
  });

  it("keeps one capacity while it holds and a capacity per point from a resize on, fitting as the sample path does", () => {
    const s = new DailySeries("disk");
    const samples = Array.from({ length: 200 }, (_, d) => ({ t: at(d), usedBytes: (20 + 0.3 * d) * GB, sizeBytes: (d < 120 ? 100 : 150) * GB }));
    for (const p of samples) s.push(p.t.getTime(), p.usedBytes, p.sizeBytes);
    s.settle();
    expect(typeof s.capacity).not.toBe("number");
    expect([s.capacityAt(0), s.capacityAt(119), s.capacityAt(120), s.capacityAt(199)]).toEqual([100 * GB, 100 * GB, 150 * GB, 150 * GB]);
    const steady = new DailySeries("disk");
    for (const p of samples.slice(0, 100)) steady.push(p.t.getTime(), p.usedBytes, p.sizeBytes);
    expect(steady.capacity).toBe(100 * GB);
    const plain = (t: ReturnType<typeof forecastSeries>): unknown => ({ ...t, line: undefined });
    expect(plain(forecastSeries(s, { now: at(199) }))).toEqual(plain(forecastDisk(samples, { now: at(199) })));
    expect(plain(forecastSeries(steady, { now: at(99) }))).toEqual(plain(forecastDisk(samples.slice(0, 100), { now: at(99) })));
  });

  it("collectSeries keeps typed columns per series, never the snapshots", async () => {
    async function* lines(): AsyncIterable<FactSnapshot> {
      for (let d = 0; d < 200; d++) {
        const takenAt = at(d).toISOString();
        yield { v: 1, host: "a", takenAt, groups: ["web"], os: "debian 12", disks: [{ mount: "/", sizeBytes: 100 * GB, usedBytes: (10 + 0.1 * d) * GB }], memory: { totalBytes: 16 * GB, availableBytes: 8 * GB }, load: { one: 1, five: 1, fifteen: 1, cpus: 4 }, uptimeSeconds: 1, bootId: "x", rebootRequired: false, upgradable: [] };
        if (d % 10 === 0) yield { v: 1, host: "b", takenAt, groups: [], unreachable: true };
      }
    }
    const c = await collectSeries(lines());
    expect(c.snapshots).toBe(220);
    expect(c.days).toBe(200);
    const a = c.hosts.get("a")!;
    expect(a.disks.get("/")!.length).toBe(200);
    expect(a.disks.get("/")!.t).toBeInstanceOf(Float64Array);
    expect(c.hosts.get("b")!.unreachable).toBe(20);
    const trend = forecastSeries(a.disks.get("/")!, { now: at(199) });
    expect(trend.fit!.slopePerDay / GB).toBeCloseTo(0.1, 9);
    expect(trend.fit!.fittedPoints).toBeLessThanOrEqual(MAX_FIT_POINTS);
  });
});
