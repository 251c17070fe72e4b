import { describe, expect, it } from "vitest";
import { concurrencyShare, parseShard, parseWave, partitionWave, shardPlan, shareOf } from "../../src/apply/shard/partition.ts";
import { StewardError } from "../../src/core/errors.ts";
import type { Plan } from "../../src/plan/types.ts";

/** A plan with only what the partition reads: hosts with their order group, one wave, the rollout's limits. */
function planOf(hosts: Array<[string, string | null]>, rollout: { groupConcurrency?: Record<string, number>; serialWithinGroup?: boolean; concurrency?: number | null; allowed?: number } = {}): Plan {
  return {
    id: "p-20260101T0000-000000000000",
    digest: "0".repeat(64),
    hosts: hosts.map(([name, orderGroup]) => ({ name, orderGroup, wave: 0 })),
    rollout: {
      serialWithinGroup: rollout.serialWithinGroup ?? false,
      groupConcurrency: rollout.groupConcurrency ?? {},
      concurrency: { spec: null, hosts: rollout.concurrency ?? null },
      failureBudget: { spec: null, allowed: rollout.allowed ?? 0, haltsAt: (rollout.allowed ?? 0) + 1 },
      waves: [{ index: 0, spec: "all", total: hosts.length, size: hosts.length, hosts: hosts.map(([n]) => n) }],
    },
  } as unknown as Plan;
}

describe("sharding a wave", () => {
  it("reads --shard i/n and --wave K, refusing anything else with exit 3 naming the flag", () => {
    expect(parseShard("2/3")).toEqual({ index: 2, of: 3 });
    expect(parseShard("256/256")).toEqual({ index: 256, of: 256 });
    for (const bad of ["0/3", "4/3", "1/257", "01/3", "1/", "/3", "1/3 ", "-1/3", "a/b", "1\\3", ""]) {
      const error = (() => {
        try {
          parseShard(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(error, bad).toBeInstanceOf(StewardError);
      expect((error as StewardError).code).toBe("invalid-input");
      expect((error as StewardError).message).toContain("--shard");
    }
    expect(parseWave("2")).toBe(2);
    expect(() => parseWave("0")).toThrow(/--wave/);
  });

  it("splits a total so the shares add up to it exactly, the remainder to the lowest shards", () => {
    for (let total = 0; total < 20; total++) {
      for (let of = 1; of <= 7; of++) {
        const shares = Array.from({ length: of }, (_, k) => shareOf(total, k + 1, of));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
        expect([...shares].sort((a, b) => b - a)).toEqual(shares);
      }
    }
    expect([1, 2, 3].map((i) => shareOf(1, i, 3))).toEqual([1, 0, 0]);
  });

  it("covers every host once, keeps a capped group in one shard, and balances the rest", () => {
    const hosts: Array<[string, string | null]> = [["db1", "db"], ["db2", "db"], ["db3", "db"], ["web1", "web"], ["web2", "web"], ["app1", null], ["app2", null], ["app3", null]];
    const plan = planOf(hosts, { groupConcurrency: { db: 1 } });
    const cut = partitionWave(plan, 0, 3);
    expect(cut.flat().sort()).toEqual(hosts.map(([n]) => n).sort());
    expect(cut.filter((s) => s.some((h) => h.startsWith("db")))).toHaveLength(1);
    expect(cut.find((s) => s.includes("db1"))).toEqual(expect.arrayContaining(["db1", "db2", "db3"]));
    // web has no cap: its hosts may go to different shards.
    expect(cut.map((s) => s.length).sort()).toEqual([2, 3, 3]);
    // Deterministic: the same plan, the same cut.
    expect(partitionWave(plan, 0, 3)).toEqual(cut);
    // serial_within_group caps every group.
    const serial = partitionWave(planOf(hosts, { serialWithinGroup: true }), 0, 3);
    expect(serial.filter((s) => s.some((h) => h.startsWith("web")))).toHaveLength(1);
    // More shards than hosts: some shards are empty.
    expect(partitionWave(planOf([["a", null]]), 0, 3)).toEqual([["a"], [], []]);
  });

  it("shares the concurrency and refuses more shards than hosts allowed in flight", () => {
    const plan = planOf([["a", null]], { concurrency: 5 });
    expect([1, 2].map((i) => concurrencyShare(plan, { index: i, of: 2 }))).toEqual([3, 2]);
    expect(() => concurrencyShare(plan, { index: 1, of: 6 })).toThrow(/at most 5 shard/);
    expect(concurrencyShare(planOf([["a", null]]), { index: 1, of: 256 })).toBeNull();
  });

  it("gives a shard its hosts, one wave and its budget share: a share of 0 halts at the first failure", () => {
    const plan = planOf([["a", null], ["b", null], ["c", null]], { allowed: 1 });
    const sliced = shardPlan(plan, 0, ["b"], 0, null);
    expect(sliced.hosts.map((h) => h.name)).toEqual(["b"]);
    expect(sliced.rollout.waves).toEqual([expect.objectContaining({ index: 0, hosts: ["b"], size: 1 })]);
    expect(sliced.rollout.failureBudget).toMatchObject({ allowed: 0, haltsAt: 1 });
    expect(sliced.digest).toBe(plan.digest);
  });
});
