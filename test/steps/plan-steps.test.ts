import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { HostFacts } from "../../src/facts/types.ts";
import type { Runbook } from "../../src/model/types.ts";
import { parsePlan, planJson } from "../../src/plan/artifact.ts";
import { factsDigest, NO_FACTS_DIGEST } from "../../src/plan/digest.ts";
import { fromDocument } from "../../src/plan/document.ts";
import { plan } from "../../src/plan/planner.ts";
import type { Plan } from "../../src/plan/types.ts";
import { hostFactsDependencies } from "../../src/steps/registry.ts";
import { validateRepository } from "../../src/validate/index.ts";
import { ok, up, withUpgrades } from "../plan/fixtures.ts";

const NOW = new Date("2026-11-24T01:30:00Z");

/** Facts that give every kind something to decide: upgrades with a kernel, a pending reboot, an app with a newer version in range. */
function richFacts(runbook: Runbook): HostFacts {
  const apps = Object.fromEntries(runbook.steps.flatMap((s) => (s.kind === "app-upgrade" ? [[s.app, { current: "2.4.0", available: ["2.4.0", "2.5.1"] }]] : [])));
  return withUpgrades([up("openssl", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2"), up("linux-image-amd64", "6.1.66-1", "6.1.69-1")], { reboot: { required: true, reasons: ["/var/run/reboot-required"] }, apps });
}

describe("the plan carries each step's full definition (format 5)", async () => {
  // The repository's own runbooks hold every step kind, gate checks and vars.
  const repo = await validateRepository(join(import.meta.dirname, "../.."), { now: NOW });
  // And one with runbook vars, a secret among them (carried as its reference, never a value).
  const withVars: Runbook = { ...repo.runbooks[0]!, name: "with-vars", vars: { app_name: "shop-api", token: { env: "SHOP_TOKEN" }, retries: 3 } };
  const plans: Array<[Runbook, Plan]> = [...repo.runbooks, withVars].map((runbook) => {
    const hosts = [...repo.inventory.hosts.keys()];
    const source = new Map(hosts.map((h) => [h, ok(h, richFacts(runbook))]));
    return [runbook, plan({ inventory: repo.inventory, runbook, facts: source, now: NOW, toolVersion: "test", inputs: { files: [] } })];
  });

  it("plans every step kind of the schema from the repository's runbooks", () => {
    expect(repo.errors).toBe(0);
    const kinds = new Set(plans.flatMap(([, p]) => p.hosts.flatMap((h) => h.actions.map((a) => a.kind))));
    expect([...kinds].sort()).toEqual(["app-upgrade", "backup", "check", "command", "compliance", "database", "packages", "reboot", "restore", "service", "verify-backup"]);
  });

  it("writes the runbook's steps, vars and gate checks exactly as loaded, and reads them back through the schema", () => {
    // The repository's runbooks do set vars and gate checks, so carrying them is tested.
    expect(plans.some(([r]) => Object.keys(r.vars ?? {}).length > 0)).toBe(true);
    expect(plans.some(([r]) => (r.rollout?.gate?.checks ?? []).length > 0)).toBe(true);
    for (const [runbook, p] of plans) {
      expect(p.runbook.steps).toEqual(runbook.steps);
      expect(p.runbook.vars).toEqual(runbook.vars ?? {});
      expect(p.rollout.gate.checks).toEqual(runbook.rollout?.gate?.checks ?? []);
      const back = parsePlan(planJson(p), `plans/${p.id}.json`);
      expect(back).toEqual(p);
      expect(planJson(back)).toBe(planJson(p));
    }
  });

  it("names each action's step by an index into runbook.steps", () => {
    for (const [, p] of plans) {
      for (const h of p.hosts) {
        for (const a of h.actions) {
          const step = p.runbook.steps[a.index]!;
          expect([step.name, step.kind]).toEqual([a.step, a.kind]);
        }
      }
    }
  });

  it("writes each step once per plan, not once per host", () => {
    const [runbook, p] = plans.find(([, q]) => q.hosts.length > 1)!;
    const text = planJson(p);
    const name = JSON.stringify(runbook.steps[0]!.name);
    // Once in runbook.steps, once per host action referring to it.
    const actions = p.hosts.filter((h) => h.actions.some((a) => a.index === 0)).length;
    expect(text.split(name).length - 1).toBe(1 + actions);
  });

  it("lets apply recompute each host's facts digest from the actions alone (hostFactsDependencies)", () => {
    let checked = 0;
    let factFree = 0;
    for (const [runbook, p] of plans) {
      for (const h of p.hosts) {
        const { packages, apps, any } = hostFactsDependencies(h.actions);
        // A host whose actions are decided from no fact (commands, checks…) has the digest of no facts: nothing to go stale.
        const kinds = h.actions.map((a) => (a.kind === "reboot" ? `reboot:${a.when}` : a.kind));
        expect(any, `${p.runbook.name} ${h.name}: ${kinds.join(", ")}`).toBe(kinds.some((k) => k === "packages" || k === "app-upgrade" || k === "reboot:required"));
        expect(any ? factsDigest(richFacts(runbook), packages, apps) : NO_FACTS_DIGEST, `${p.runbook.name} ${h.name}`).toBe(h.factsDigest);
        if (!any) factFree++;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(factFree);
    expect(factFree).toBeGreaterThan(0);
  });

  it("refuses an action whose step index names another step", () => {
    const [, p] = plans.find(([, q]) => q.hosts.length > 0 && q.runbook.steps.length > 1)!;
    const doc = JSON.parse(planJson(p)) as { hosts: Array<{ name: string; actions: Array<{ index: number }> }> };
    doc.hosts[0]!.actions[0]!.index = p.runbook.steps.length;
    const host = doc.hosts[0]!.name;
    // Through fromDocument directly: parsePlan would refuse the changed digest first.
    expect(() => fromDocument(doc as unknown as Parameters<typeof fromDocument>[0], "plans/x.json")).toThrow(`plans/x.json: host ${host} has an action for step ${p.runbook.steps.length}`);
  });
});
