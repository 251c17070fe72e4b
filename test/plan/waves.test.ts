import { describe, expect, it } from "vitest";
import type { CountOrPercent } from "../../src/model/types.ts";
import { computeWaves, concurrency, failureBudget, percentOf } from "../../src/plan/waves.ts";
import { seeded } from "./random.ts";

const sizes = (entries: CountOrPercent[] | undefined, n: number): number[] => computeWaves(entries, n).map((w) => w.size);

describe("waves (cumulative, percentages rounded up, empty waves dropped)", () => {
  // Each row worked out by hand from the rules in src/plan/waves.ts.
  const table: Array<[CountOrPercent[] | undefined, number, number[]]> = [
    [[1, "10%", "50%", "100%"], 7, [1, 3, 3]], // totals 1, ceil(0.7)=1 dropped, ceil(3.5)=4, 7
    [[1, "10%", "50%", "100%"], 1, [1]],
    [[1, "10%", "50%", "100%"], 3, [1, 1, 1]], // 1, ceil(0.3)=1 dropped, ceil(1.5)=2, 3
    [[1, "10%", "50%", "100%"], 10, [1, 4, 5]], // 1, 1 dropped, 5, 10
    [[1, "10%", "50%", "100%"], 30, [1, 2, 12, 15]], // 1, 3, 15, 30
    [[1, "10%", "50%", "100%"], 100, [1, 9, 40, 50]],
    [[1, 3, "50%", "100%"], 4, [1, 2, 1]], // 1, 3, ceil(2)=2 dropped, 4
    [[2], 5, [2, 3]], // the last entry covers 2: a final wave takes the rest
    [[10], 3, [3]], // counts cap at the host count
    [["33.3%"], 1000, [333, 667]], // exact decimal: 333, not 334
    [["12.5%", "100%"], 8, [1, 7]], // exactly 1
    [["0.1%", "100%"], 5, [1, 4]], // a non-zero percentage is never 0 hosts
    [undefined, 5, [5]],
    [[], 5, [5]],
    [[1, "100%"], 0, []],
  ];
  for (const [entries, n, expected] of table) {
    it(`${JSON.stringify(entries)} of ${n} hosts → ${JSON.stringify(expected)}`, () => {
      expect(sizes(entries, n)).toEqual(expected);
    });
  }

  it("records the entry each wave came from and the final remainder", () => {
    expect(computeWaves([1, "10%", "50%"], 7).map((w) => [w.spec, w.total])).toEqual([
      [1, 1],
      ["50%", 4],
      ["rest", 7],
    ]);
    expect(computeWaves(undefined, 2)[0]?.spec).toBe("all");
  });

  it("holds its invariants over random wave lists", () => {
    const rnd = seeded(20261122);
    for (let c = 0; c < 2000; c++) {
      const n = rnd.int(0, 300);
      const entries: CountOrPercent[] = [];
      for (let i = rnd.int(0, 5); i > 0; i--) entries.push(rnd.bool() ? rnd.int(1, 400) : (`${rnd.int(0, 100)}${rnd.bool(0.2) ? `.${rnd.int(0, 99)}` : ""}%` as CountOrPercent));
      const waves = computeWaves(entries, n);
      const context = JSON.stringify({ entries, n });
      expect(waves.reduce((s, w) => s + w.size, 0), context).toBe(n);
      for (const w of waves) expect(w.size, context).toBeGreaterThan(0);
      let previous = 0;
      for (const w of waves) {
        expect(w.total, context).toBe(previous + w.size);
        if (w.spec !== "rest" && w.spec !== "all") {
          const want = typeof w.spec === "number" ? Math.min(w.spec, n) : Math.min(n, Math.ceil((Number(w.spec.slice(0, -1)) * n) / 100 - 1e-9));
          expect(w.total, context).toBe(want);
        }
        previous = w.total;
      }
    }
  });
});

describe("failure budget (more than N halts; percentages rounded down)", () => {
  it.each([
    [undefined, 30, 0],
    [2, 30, 2],
    [0, 30, 0],
    ["5%", 30, 1],
    ["5%", 19, 0],
    ["10%", 10, 1],
    ["33.3%", 1000, 333],
    ["100%", 7, 7],
  ] as Array<[CountOrPercent | undefined, number, number]>)("%s of %i hosts tolerates %i failures", (spec, n, allowed) => {
    const budget = failureBudget(spec, n);
    expect(budget.allowed).toBe(allowed);
    expect(budget.haltsAt).toBe(allowed + 1);
  });
});

describe("concurrency (percentages rounded up, at least 1)", () => {
  it.each([
    ["10%", 7, 1],
    ["50%", 5, 3],
    ["1%", 0, 1],
    [5, 100, 5],
  ] as Array<[CountOrPercent, number, number]>)("%s of %i hosts → %i", (spec, n, hosts) => {
    expect(concurrency(spec, n).hosts).toBe(hosts);
  });
  it("is unlimited when not set", () => expect(concurrency(undefined, 9)).toEqual({ spec: null, hosts: null }));
});

describe("percentOf", () => {
  it("is exact for decimal percentages", () => {
    expect(percentOf("33.3%", 1000, "ceil")).toBe(333);
    expect(percentOf("33.3%", 1001, "ceil")).toBe(334);
    expect(percentOf("33.3%", 1001, "floor")).toBe(333);
  });
  it("rejects text that is not a percentage", () => expect(() => percentOf("abc%", 3, "ceil")).toThrow(RangeError));
});
