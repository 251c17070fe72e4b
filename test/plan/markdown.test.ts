import { describe, expect, it } from "vitest";
import type { FactsResult, UpgradablePackage } from "../../src/facts/types.ts";
import type { CountOrPercent } from "../../src/model/types.ts";
import { type MarkdownBudget, renderPlanMarkdown, renderPlanMarkdownAt } from "../../src/plan/markdown.ts";
import { plan } from "../../src/plan/planner.ts";
import type { Plan } from "../../src/plan/types.ts";
import { failed, host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "./fixtures.ts";
import { seeded } from "./random.ts";

/**
 * The size cap of the plan's Markdown: the cap always holds, the summary is never cut,
 * and each degradation step keeps as much as fits, judged against renderPlanMarkdownAt,
 * which renders any one degradation whatever its length.
 */

const PACKAGES = [
  up("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"),
  up("curl", "7.88.1-10", "7.88.1-11", false),
  up("postgresql-16", "15.5-0+deb12u1", "16.2-1"),
  up("vendor-agent", "nightly", "nightly2"),
  up("linux-image-amd64", "6.1.76-1", "6.1.90-1"),
  up("nginx", "1.22.1-9", "1.22.1-10"),
  up("lib_pipe|star*", "1.0.0-1", "1.0.1-1"),
];

interface FleetShape {
  hosts: number;
  seed: number;
  /** Probability of each package being upgradable on a host. */
  packages?: number;
  waves?: CountOrPercent[];
  /** Extra generated packages per host, for plans with long per-host detail. */
  extra?: number;
}

/** A fleet in three ordered groups, with skipped hosts of several kinds. */
function fleet({ hosts: count, seed, packages = 0.6, waves = [1, "10%", "50%", "100%"], extra = 0 }: FleetShape): Plan {
  const rnd = seeded(seed);
  const hosts = Array.from({ length: count }, (_, i) => host(`host-${String(i).padStart(5, "0")}${i % 17 === 3 ? "_x" : ""}`, [rnd.pick(["db", "app", "web", "mail"])], rnd.pick(["low", "medium", "high", "critical"] as const)));
  const facts = new Map<string, FactsResult>();
  for (const [i, h] of hosts.entries()) {
    const roll = rnd.next();
    if (roll < 0.05) facts.set(h.name, failed(h.name));
    else if (roll < 0.08) facts.set(h.name, ok(h.name, withUpgrades([], { packageManager: null })));
    else if (roll < 0.1) continue;
    else {
      const generated: UpgradablePackage[] = Array.from({ length: extra }, (_, p) => up(`pkg-${p}`, `1.${p}.${i % 9}-1`, `1.${p}.${(i % 9) + 1}-1`, p % 3 === 0));
      facts.set(h.name, ok(h.name, withUpgrades([...rnd.subset(PACKAGES, packages), ...generated], { reboot: { required: rnd.bool(0.1), reasons: ["/var/run/reboot-required"] } })));
    }
  }
  return plan({
    inventory: inventory(hosts),
    runbook: runbook({
      rollout: { waves, order: ["db", "app", "web"], failure_budget: "5%", concurrency: "10%" },
      policy: { holds: ["nginx"], approvals: [{ package: "postgresql-*", to: "16", approved_by: "dba", reference: "CHG-7" }] },
    }),
    facts,
    now: NOW,
    toolVersion: "0.1.0",
    inputs: INPUTS,
  });
}

/** The most host rows any one table shows: wave rows start with a position, skipped rows with a host name. */
function rowsShown(md: string): number {
  const sections = md.split(/\n(?=### Wave |## Skipped hosts)/).slice(1);
  const rows = sections.map((section) => section.split("\n").filter((line) => (section.startsWith("###") ? /^\| \d+ \| /.test(line) : /^\| (?!Host \| Reason)/.test(line) && !line.startsWith("|---"))).length);
  return Math.max(0, ...rows);
}

const SUMMARY_LINES = ["| Hosts | ", "| Waves | ", "| Package upgrades | ", "| Failure budget | ", "| Fingerprint | ", "## Steps", "## Waves"];

describe("plan Markdown size cap", () => {
  it("keeps a 10,000-host plan under 60,000 characters with the summary and notes on what was cut", () => {
    const big = fleet({ hosts: 10_000, seed: 11, extra: 30 });
    const md = renderPlanMarkdown(big);
    expect(md.length).toBeLessThanOrEqual(60_000);
    for (const line of SUMMARY_LINES) expect(md).toContain(line);
    expect(md).toContain(`| Hosts | ${big.summary.planned} planned, ${big.summary.skipped} skipped, ${big.summary.selected} selected |`);
    for (const wave of big.rollout.waves) expect(md).toContain(`### Wave ${wave.index + 1}: ${wave.size} `);
    expect(md).toContain(`Per-host detail is shown for the first 0 of ${big.hosts.length} hosts in rollout order`);
    expect(md).toMatch(/_… and \d+ more hosts in this wave \(see the plan JSON\)\._/);
    expect(md).toMatch(/_… and \d+ more skipped hosts \(see the plan JSON\)\._/);
    expect(md).not.toContain("truncated");
    // As many rows per table as fit: one more row each would not.
    const rows = rowsShown(md);
    expect(rows).toBeGreaterThan(0);
    expect(renderPlanMarkdownAt(big, { collapse: true, detailHosts: 0, rows: rows + 1 }).length).toBeGreaterThan(60_000);
    expect(renderPlanMarkdownAt(big, { collapse: true, detailHosts: 0, rows })).toBe(md);
  });

  it("shows detail for the first hosts of a large plan when the tables fit", () => {
    const p = fleet({ hosts: 2_000, seed: 5, extra: 35 });
    const all = Math.max(p.hosts.length, p.skipped.length);
    const tablesOnly = renderPlanMarkdownAt(p, { collapse: true, detailHosts: 0, rows: all }).length;
    const cap = tablesOnly + 20_000;
    const md = renderPlanMarkdown(p, cap);
    const shown = Number(/Per-host detail is shown for the first (\d+) of/.exec(md)?.[1]);
    expect(shown).toBeGreaterThan(0);
    expect(md.length).toBeLessThanOrEqual(cap);
    expect(md).toBe(renderPlanMarkdownAt(p, { collapse: true, detailHosts: shown, rows: all }));
    expect(renderPlanMarkdownAt(p, { collapse: true, detailHosts: shown + 1, rows: all }).length).toBeGreaterThan(cap);
  });

  it("holds the cap for many sizes and caps, keeping as much as fits at each step", () => {
    const rnd = seeded(2024);
    const waveSets: CountOrPercent[][] = [[1, "10%", "50%", "100%"], [1, 1, 2], ["100%"], [3, "40%"]];
    let checked = 0;
    for (let round = 0; round < 24; round++) {
      const p = fleet({ hosts: rnd.int(0, 45), seed: round + 1, packages: rnd.pick([0.2, 0.6, 1]), waves: rnd.pick(waveSets), extra: rnd.pick([0, 0, 4]) });
      const n = p.hosts.length;
      const all = Math.max(n, p.skipped.length);
      const at = (budget: MarkdownBudget): string => renderPlanMarkdownAt(p, budget);
      const full = at({ collapse: false, detailHosts: n, rows: all }).length;
      const collapsed = at({ collapse: true, detailHosts: n, rows: all }).length;
      const byDetail = Array.from({ length: n + 1 }, (_, k) => at({ collapse: true, detailHosts: k, rows: all }).length);
      const byRows = Array.from({ length: all + 1 }, (_, r) => at({ collapse: true, detailHosts: 0, rows: r }).length);
      const caps = [full, full - 1, collapsed, collapsed - 1, byDetail[0]!, byDetail[0]! - 1, byRows[0]!, byRows[0]! - 1, 0, 1, 79, 80, 200];
      for (let i = 0; i < 12; i++) caps.push(rnd.int(0, full + 10));
      for (const cap of caps) {
        const md = renderPlanMarkdown(p, cap);
        const label = `${p.id} (${n} hosts) at ${cap}`;
        expect(md.length, label).toBeLessThanOrEqual(cap);
        checked++;
        if (full <= cap) expect(md, label).toBe(at({ collapse: false, detailHosts: n, rows: all }));
        else if (collapsed <= cap) expect(md, label).toBe(at({ collapse: true, detailHosts: n, rows: all }));
        else if (byDetail[0]! <= cap) {
          // The most hosts in rollout order whose detail fits; one more would not.
          const k = byDetail.slice(0, n).findLastIndex((length) => length <= cap);
          expect(md, label).toBe(at({ collapse: true, detailHosts: k, rows: all }));
          expect(byDetail[k + 1], label).toBeGreaterThan(cap);
          expect(md, label).toContain(`Per-host detail is shown for the first ${k} of ${n} hosts`);
        } else {
          const r = byRows.findLastIndex((length) => length <= cap);
          if (r >= 0) {
            expect(md, label).toBe(at({ collapse: true, detailHosts: 0, rows: r }));
            expect(byRows[r + 1], label).toBeGreaterThan(cap);
          } else if (cap >= 80) {
            expect(md.endsWith("_… truncated; the full plan is in the JSON._\n"), label).toBe(true);
          }
        }
        if (byRows.some((length) => length <= cap)) for (const line of SUMMARY_LINES) expect(md, label).toContain(line);
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it("renders identical text for identical plans", () => {
    for (const shape of [{ hosts: 30, seed: 3 }, { hosts: 600, seed: 4, extra: 10 }]) {
      const a = fleet(shape);
      const b = fleet(shape);
      for (const cap of [60_000, 20_000, 3_000, 500]) {
        const md = renderPlanMarkdown(a, cap);
        expect(renderPlanMarkdown(a, cap)).toBe(md);
        expect(renderPlanMarkdown(b, cap)).toBe(md);
      }
    }
  });

  it("escapes values in rows and per-host detail", () => {
    const p = fleet({ hosts: 40, seed: 8, packages: 1 });
    const md = renderPlanMarkdown(p, 1_000_000);
    expect(md).toContain("| lib\\_pipe\\|star\\* | 1.0.0-1 | 1.0.1-1 |");
    expect(md).toMatch(/\| host-00003\\_x \|/);
    expect(md).toContain("#### host-00003\\_x");
    expect(md).not.toContain("lib_pipe");
  });
});
