import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FactsResult } from "../../src/facts/types.ts";
import { parsePlan, planJson, renderPlanMarkdown, writePlan } from "../../src/plan/artifact.ts";
import { fromDocument, type PlanDocument } from "../../src/plan/document.ts";
import { plan } from "../../src/plan/planner.ts";
import type { Plan } from "../../src/plan/types.ts";
import { failed, host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "./fixtures.ts";
import { seeded } from "./random.ts";

const schemas = new URL("../../schemas/", import.meta.url);
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true, strictRequired: false, discriminator: true }));
ajv.addVocabulary(["x-message", "x-format"]);
for (const name of ["inventory", "runbook", "plan"]) ajv.addSchema(JSON.parse(await readFile(new URL(`${name}.schema.json`, schemas), "utf8")) as object, `${name}.schema.json`);
const validatePlan = ajv.getSchema("plan.schema.json")!;

/** A fleet of `count` hosts in three ordered groups with a mix of every kind of fact. */
function fleet(count: number, seed = 7): Plan {
  const rnd = seeded(seed);
  const hosts = Array.from({ length: count }, (_, i) => host(`host-${String(i).padStart(5, "0")}`, [rnd.pick(["db", "app", "web", "mail"])], rnd.pick(["low", "medium", "high", "critical"] as const)));
  const facts = new Map<string, FactsResult>();
  for (const h of hosts) {
    const roll = rnd.next();
    if (roll < 0.03) facts.set(h.name, failed(h.name));
    else if (roll < 0.05) facts.set(h.name, ok(h.name, withUpgrades([], { packageManager: null })));
    else if (roll < 0.06) continue;
    else {
      const pkgs = [up("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"), up("curl", "7.88.1-10", "7.88.1-11", false), up("postgresql-16", "15.5-0+deb12u1", "16.2-1"), up("vendor-agent", "nightly", "nightly2"), up("linux-image-amd64", "6.1.76-1", "6.1.90-1"), up("nginx", "1.22.1-9", "1.22.1-10")];
      const f = withUpgrades(rnd.subset(pkgs, 0.6), { reboot: { required: rnd.bool(0.1), reasons: ["/var/run/reboot-required"] } });
      if (f.installed[0] && rnd.bool(0.1)) f.installed[0].held = true;
      facts.set(h.name, ok(h.name, f));
    }
  }
  return plan({
    inventory: inventory(hosts),
    runbook: runbook({
      rollout: { waves: [1, "10%", "50%", "100%"], order: ["db", "app", "web"], failure_budget: "5%", concurrency: "10%" },
      policy: { holds: ["nginx"], approvals: [{ package: "postgresql-*", to: "16", approved_by: "dba", reference: "CHG-7" }] },
      window: { timezone: "Europe/Berlin", days: ["tue"], start: "02:00", duration: "3h" },
    }),
    facts,
    now: NOW,
    toolVersion: "0.1.0",
    inputs: INPUTS,
  });
}

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), "steward-plan-"))));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("plan artifact", () => {
  const small = fleet(40);

  it("validates against schemas/plan.schema.json", () => {
    for (const p of [small, fleet(0), fleet(300, 99)]) {
      const valid = validatePlan(JSON.parse(planJson(p)));
      expect(validatePlan.errors ?? [], p.id).toEqual([]);
      expect(valid).toBe(true);
    }
  });

  it("covers every kind of entry the schema allows for hosts and skips", () => {
    const p = fleet(300, 99);
    expect(Object.keys(p.summary.skippedByReason).sort()).toEqual(["no-facts", "no-package-manager", "nothing-to-do", "unreachable"]);
    expect(Object.keys(p.summary.excludedByReason).sort()).toEqual(["held", "unparsable-version"]);
    expect(p.hosts.some((h) => h.actions.some((a) => a.kind === "packages" && a.action === "upgrade" && a.upgrades.some((u) => u.approval?.approved_by === "dba")))).toBe(true);
  });

  it("writes byte-identical files for identical inputs", async () => {
    const a = await writePlan(fleet(200), join(dir, "a"));
    const b = await writePlan(fleet(200), join(dir, "b"));
    expect(await readFile(a.json, "utf8")).toBe(await readFile(b.json, "utf8"));
    expect(await readFile(a.markdown, "utf8")).toBe(await readFile(b.markdown, "utf8"));
    expect(a.json.endsWith(`${fleet(200).id}.json`)).toBe(true);
    // No temporary files are left behind.
    expect((await readdir(join(dir, "a"))).sort()).toEqual([`${fleet(200).id}.json`, `${fleet(200).id}.md`]);
  });

  it("reads back to the same plan, writing each package decision once", () => {
    for (const p of [small, fleet(0), fleet(300, 99)]) expect(parsePlan(planJson(p), "x.json")).toEqual(p);
    const p = fleet(300, 99);
    const doc = JSON.parse(planJson(p)) as { packages: { planned: unknown[]; excluded: unknown[] } };
    const references = p.hosts.flatMap((h) => h.actions.flatMap((a) => ("upgrades" in a ? a.upgrades : [])));
    expect(doc.packages.planned.length).toBeGreaterThan(0);
    expect(doc.packages.planned.length).toBeLessThan(references.length);
    expect(new Set(doc.packages.planned.map((e) => JSON.stringify(e))).size).toBe(doc.packages.planned.length);
  });

  it("refuses a plan file with a dangling package index or another format", () => {
    const doc = JSON.parse(planJson(small)) as PlanDocument;
    const host = doc.hosts.find((h) => h.actions.some((a) => "upgrades" in a && a.upgrades.length > 0))!;
    const action = host.actions.find((a) => "upgrades" in a) as { upgrades: number[] };
    action.upgrades[0] = 9999;
    // Edited by hand: the digest no longer matches.
    expect(() => parsePlan(JSON.stringify(doc), "plans/x.json")).toThrow("plans/x.json: the plan was changed after it was written");
    // Written so by steward (a bug): the index itself is caught when the plan is read.
    expect(() => fromDocument(doc, "plans/x.json")).toThrow(`plans/x.json: host ${host.name} refers to package entry 9999, which does not exist`);
    expect(() => parsePlan(JSON.stringify({ ...doc, format: 2 }), "plans/x.json")).toThrow("plans/x.json: plan format 2 was written by an older steward; this steward reads format 5 only");
    expect(() => parsePlan("{", "plans/x.json")).toThrow(/^plans\/x\.json: not JSON/);
  });

  it("sorts keys at every level", () => {
    const text = planJson(small);
    const keysInOrder = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(keysInOrder);
      else if (value && typeof value === "object") {
        const keys = Object.keys(value);
        expect(keys).toEqual([...keys].sort());
        Object.values(value).forEach(keysInOrder);
      }
    };
    keysInOrder(JSON.parse(text));
    expect(text).not.toMatch(/\d{4}-\d\d-\d\dT(?!00:00:00\.000Z|01:30:00\.000Z|01:00:00\.000Z|04:00:00\.000Z)/);
  });

  it("renders the summary table first, then waves and skipped hosts with reasons", () => {
    const md = renderPlanMarkdown(small);
    // Values are Markdown-escaped; compare the text a reader sees.
    const seen = md.replace(/\\(.)/g, "$1");
    expect(md.split("\n").slice(0, 4)).toEqual([`# Plan ${small.id}`, "", "| | |", "|---|---|"]);
    expect(md.indexOf("| Waves |")).toBeLessThan(md.indexOf("## Waves"));
    expect(md.indexOf("## Waves")).toBeLessThan(md.indexOf("## Skipped hosts"));
    expect(seen).toContain("| Failure budget | more than 1 failed host halts (5%; unreachable hosts count) |");
    expect(seen).toContain("| Waves | 4 (hosts per wave: 1 → 3 → 14 → 18) |");
    expect(seen).toMatch(/\| host-\d+ \| no-package-manager \| the runbook manages packages/);
    expect(seen).toContain("vendor-agent nightly → nightly2: unparsable-version (semver could not read 'nightly'; assumed major;");
    expect(md).not.toContain("<details>");
  });

  it("stays under 60,000 characters for 5,000 hosts and says what it left out", () => {
    const big = fleet(5000);
    const md = renderPlanMarkdown(big);
    expect(md.length).toBeLessThanOrEqual(60_000);
    expect(md).toContain("| Hosts | ");
    expect(md).toMatch(/_… and \d+ more (hosts in this wave|skipped hosts)/);
    expect(renderPlanMarkdown(big)).toBe(md);
  });

  it("collapses per-host detail, then keeps detail only for the first hosts", () => {
    const mid = fleet(400);
    const full = renderPlanMarkdown(mid, 10_000_000);
    expect(full).not.toContain("<details>");
    const collapsed = renderPlanMarkdown(mid, full.length + 1000);
    expect(collapsed).toBe(full);
    const limited = renderPlanMarkdown(mid, Math.floor(full.length / 2));
    expect(limited.length).toBeLessThanOrEqual(Math.floor(full.length / 2));
    expect(limited).toContain("<details><summary>");
    expect(limited).toMatch(/Per-host detail is shown for the first \d+ of \d+ hosts/);
  });
});
