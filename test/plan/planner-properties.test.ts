import { describe, expect, it } from "vitest";
import type { FactsResult, UpgradablePackage } from "../../src/facts/types.ts";
import { parseSelector } from "../../src/model/selector.ts";
import { CRITICALITIES, type CountOrPercent, type Host, type Runbook } from "../../src/model/types.ts";
import { plan, type PlanInput } from "../../src/plan/planner.ts";
import { failed, host, INPUTS, inventory, NOW, ok, withUpgrades } from "./fixtures.ts";
import { seeded, type Random } from "./random.ts";

/**
 * Invariants of the planner over random inventories, facts and runbooks. "Group order"
 * is checked as: for any two planned hosts a, b where a's first rollout.order group
 * comes before b's (hosts in no listed group rank last), wave(a) ≤ wave(b) and a
 * starts before b.
 */

const PACKAGES = ["openssl", "curl", "nginx", "linux-image-amd64", "postgresql-16", "tzdata", "vendor-agent", "libc6"];
const VERSIONS = ["1.0.0-1", "1.0.1-1", "1.2.0-1", "2.0.0-1", "1:1.0-1", "snapshot-1", "2.36-9+deb12u4", "3.0.13-1~deb12u1"];

function randomInput(rnd: Random): PlanInput {
  const groupCount = rnd.int(1, 7);
  const groups = Array.from({ length: groupCount }, (_, i) => `g${i}`);
  const parents: Record<string, string> = {};
  for (let i = 1; i < groupCount; i++) if (rnd.bool(0.3)) parents[`g${i}`] = `g${rnd.int(0, i - 1)}`;
  const hosts: Host[] = [];
  for (let i = rnd.int(0, 60); i > 0; i--) hosts.push(host(`h${String(i).padStart(2, "0")}`, rnd.subset(groups, 0.3), rnd.pick(CRITICALITIES), parents));
  const inv = inventory(hosts, parents);

  const facts = new Map<string, FactsResult>();
  for (const h of hosts) {
    const roll = rnd.next();
    if (roll < 0.1) continue;
    if (roll < 0.2) {
      facts.set(h.name, failed(h.name, rnd.bool() ? "unreachable" : "auth-failed"));
      continue;
    }
    const upgradable: UpgradablePackage[] = rnd.subset(PACKAGES, 0.4).map((name) => ({ name, from: rnd.pick(VERSIONS), to: rnd.pick(VERSIONS), security: rnd.bool() }));
    const f = withUpgrades(upgradable, { packageManager: roll < 0.25 ? null : "apt", reboot: { required: rnd.bool(0.2), reasons: [] } });
    if (rnd.bool(0.2) && f.installed[0]) f.installed[0].held = true;
    facts.set(h.name, ok(h.name, f));
  }

  const waves: CountOrPercent[] | undefined = rnd.bool(0.2) ? undefined : [];
  if (waves) {
    let last = 0;
    for (let i = rnd.int(1, 4); i > 0; i--) {
      if (rnd.bool()) waves.push(rnd.int(1, 10));
      else if (last < 100) waves.push(`${(last = rnd.int(last + 1, 100))}%`);
    }
  }
  const order = rnd.subset(groups, 0.5).sort(() => rnd.next() - 0.5);
  const targets = rnd.pick(["all", `group:${rnd.pick(groups)}`, `group:${rnd.pick(groups)} | group:${rnd.pick(groups)}`, `!group:${rnd.pick(groups)}`]);
  const runbook: Runbook = {
    name: "prop",
    targets,
    file: "runbooks/prop.yaml",
    rollout: { ...(waves ? { waves } : {}), order, failure_budget: rnd.bool() ? rnd.int(0, 3) : `${rnd.int(0, 50)}%` },
    policy: {
      ...(rnd.bool(0.3) ? { deny: ["linux-*"] } : {}),
      ...(rnd.bool(0.3) ? { holds: ["openssl"] } : {}),
      ...(rnd.bool(0.3) ? { security_only: true } : {}),
      ...(rnd.bool(0.3) ? { update_types: ["patch", "minor"] as Array<"patch" | "minor"> } : {}),
      ...(rnd.bool(0.3) ? { approvals: [{ package: "*", to: "2", approved_by: "ops" }] } : {}),
    },
    steps: [
      { kind: "packages", name: "upgrade", action: "upgrade" },
      { kind: "reboot", name: "reboot", when: rnd.bool() ? "always" : "required" },
    ],
  };
  const limit = rnd.bool(0.3) ? parseSelector(`group:${rnd.pick(groups)} | ${hosts[0]?.name ?? "nobody"}`) : undefined;
  return { inventory: inv, runbook, facts, now: NOW, toolVersion: "0.1.0", inputs: INPUTS, ...(limit ? { limit } : {}) };
}

const expectedTotal = (entry: CountOrPercent, n: number): number => (typeof entry === "number" ? Math.min(entry, n) : Math.min(n, Math.ceil((Number(entry.slice(0, -1)) * n) / 100 - 1e-9)));

describe("planner properties", () => {
  it("holds over 500 random fleets", () => {
    const rnd = seeded(424242);
    // The generator must reach the cases the invariants are about, not only empty fleets.
    const coverage = { multiWave: 0, mixedRanks: 0, skipped: 0 };
    for (let c = 0; c < 500; c++) {
      const input = randomInput(rnd);
      const p = plan(input);
      const ctx = `case ${c}`;
      const planned = new Set(p.hosts.map((h) => h.name));
      const skipped = new Set(p.skipped.map((s) => s.host));

      // Every planned host in exactly one wave; waves list exactly the planned hosts.
      const inWaves = p.rollout.waves.flatMap((w) => w.hosts);
      expect(inWaves.length, ctx).toBe(new Set(inWaves).size);
      expect(new Set(inWaves), ctx).toEqual(planned);
      for (const h of p.hosts) expect(p.rollout.waves[h.wave]?.hosts, ctx).toContain(h.name);
      // Skipped hosts never in waves, and never also planned.
      for (const s of skipped) expect(planned.has(s), ctx).toBe(false);
      // Waves never empty; cumulative totals non-decreasing and as documented.
      const n = p.hosts.length;
      expect(p.rollout.hostCount, ctx).toBe(n);
      let previous = 0;
      for (const w of p.rollout.waves) {
        expect(w.size, ctx).toBeGreaterThan(0);
        expect(w.hosts.length, ctx).toBe(w.size);
        expect(w.total, ctx).toBe(previous + w.size);
        if (w.spec !== "rest" && w.spec !== "all") expect(w.total, ctx).toBe(expectedTotal(w.spec, n));
        previous = w.total;
      }
      expect(previous, ctx).toBe(n);
      // Group order across waves and positions.
      const order = input.runbook.rollout?.order ?? [];
      const rankOf = (name: string): number => {
        const g = p.hosts.find((h) => h.name === name)?.orderGroup ?? null;
        return g === null ? order.length : order.indexOf(g);
      };
      for (const a of p.hosts) {
        const memberOf = input.inventory.hosts.get(a.name)!.memberOf;
        const first = order.find((g) => memberOf.includes(g)) ?? null;
        expect(a.orderGroup, ctx).toBe(first);
      }
      for (let i = 1; i < p.hosts.length; i++) {
        const a = p.hosts[i - 1]!;
        const b = p.hosts[i]!;
        expect(rankOf(a.name), ctx).toBeLessThanOrEqual(rankOf(b.name));
        expect(a.wave, ctx).toBeLessThanOrEqual(b.wave);
        expect(a.position, ctx).toBe(i);
      }
      // Every selected host is accounted for: planned or skipped with a reason, never both.
      expect(planned.size + skipped.size, ctx).toBe(p.skipped.length + p.hosts.length);
      expect(p.summary.selected, ctx).toBe(p.hosts.length + p.skipped.filter((s) => s.reason !== "excluded-by-limit" && s.reason !== "not-targeted").length);
      // Hosts with failed or missing facts are never planned.
      for (const h of p.hosts) expect(input.facts.get(h.name)?.ok, ctx).toBe(true);
      // Deterministic.
      expect(plan(input), ctx).toEqual(p);
      if (p.rollout.waves.length > 1) coverage.multiWave++;
      if (new Set(p.hosts.map((h) => rankOf(h.name))).size > 1) coverage.mixedRanks++;
      if (p.skipped.length > 0) coverage.skipped++;
    }
    expect(coverage.multiWave).toBeGreaterThan(200);
    expect(coverage.mixedRanks).toBeGreaterThan(100);
    expect(coverage.skipped).toBeGreaterThan(300);
  });
});
