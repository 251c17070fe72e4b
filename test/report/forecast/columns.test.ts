import { describe, expect, it } from "vitest";
import { fitTrend, fitTrendColumns, type TrendPoint } from "../../../src/report/forecast/trend.ts";

const DAY = 86_400_000;
const T0 = Date.parse("2026-01-01T01:00:00.000Z");
const options = { now: new Date(T0 + 200 * DAY), fullAt: 0.95, dropFraction: 0.05, valueAtMostCapacity: true, rejected: [{ reason: "capacity is zero", count: 2 }] };
const plain = (t: ReturnType<typeof fitTrend>): unknown => ({ ...t, line: t.line?.() });

/** Growth of 1% a day with a cleanup on day 60 and a wild reading on day 90. */
function series(): TrendPoint[] {
  const out: TrendPoint[] = [];
  for (let d = 0; d < 180; d++) out.push({ t: new Date(T0 + d * DAY + (d % 3) * 1000), value: d === 90 ? 990 : 200 + (d % 60) * 10 + (d >= 60 ? 50 : 0), capacity: 1000 });
  return out;
}
const columns = (points: readonly TrendPoint[]) => ({ t: points.map((p) => p.t.getTime()), value: points.map((p) => p.value), capacity: points.map((p) => p.capacity), length: points.length });

describe("a trend fitted from columns (no object or Date per reading)", () => {
  it("is the trend fitTrend gives for the same readings, cleanups, fit, crossings and line included", () => {
    const points = series();
    const expected = fitTrend(points, options);
    expect(expected.cleanups.length).toBeGreaterThan(0);
    expect(expected.fit).toBeDefined();
    expect(plain(fitTrendColumns(columns(points), options))).toEqual(plain(expected));
  });

  it("checks and orders readings that are not in order or not fit to be fitted, as fitTrend does", () => {
    const points = series();
    const shuffled = [points[5]!, ...points.slice(0, 5), { t: new Date(Number.NaN), value: 1, capacity: 1000 }, { t: points[7]!.t, value: 2000, capacity: 1000 }, points[7]!, ...points.slice(6)];
    const expected = fitTrend(shuffled, options);
    expect(expected.rejected).toEqual([{ reason: "capacity is zero", count: 2 }, { reason: "time is not a valid date", count: 1 }, { reason: "more used than the capacity", count: 1 }]);
    expect(plain(fitTrendColumns(columns(shuffled), options))).toEqual(plain(expected));
  });
});
