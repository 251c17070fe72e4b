import { describe, expect, it } from "vitest";
import type { FactsResult } from "../../src/facts/types.ts";
import type { Step } from "../../src/model/types.ts";
import { plan } from "../../src/plan/planner.ts";
import type { Plan } from "../../src/plan/types.ts";
import { host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "./fixtures.ts";

/**
 * When a host is "nothing to do". In a runbook that changes packages or apps, its other
 * steps (checks, backups, restarts, commands) serve that change: a host whose package
 * and app steps change nothing is skipped whole, and the plan says which of its steps
 * therefore do not run. A runbook with no package or app step always has work.
 */

const HOSTS = [host("web-01", ["web"]), host("web-02", ["web"]), host("db-01", ["db"])];
const FACTS = new Map<string, FactsResult>([
  ["web-01", ok("web-01", withUpgrades([up("curl", "7.88.1-10", "7.88.1-11")]))],
  ["web-02", ok("web-02", withUpgrades([]))],
  ["db-01", ok("db-01", withUpgrades([]))],
]);

const PACKAGES: Step = { kind: "packages", name: "updates", action: "upgrade" };
const CLEAR: Step = { kind: "command", name: "clear cache", command: "rm -rf /var/cache/shop" };

function planOf(steps: Step[]): Plan {
  return plan({ inventory: inventory(HOSTS), runbook: runbook({ steps }), facts: FACTS, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
}

describe("nothing-to-do", () => {
  it("skips a host whose package step changes nothing, and names the steps that therefore do not run", () => {
    const p = planOf([PACKAGES, CLEAR]);
    expect(p.hosts.map((h) => [h.name, h.actions.map((a) => a.kind)])).toEqual([["web-01", ["packages", "command"]]]);
    expect(p.skipped.map((s) => [s.host, s.reason, s.detail])).toEqual([
      ["db-01", "nothing-to-do", "no package changes are pending; so the runbook's other steps do not run here either: clear cache (command)"],
      ["web-02", "nothing-to-do", "no package changes are pending; so the runbook's other steps do not run here either: clear cache (command)"],
    ]);
  });

  it("says nothing more when the package step is the runbook's only step on the host", () => {
    const p = planOf([PACKAGES, { ...CLEAR, hosts: "group:db" }]);
    expect(p.skipped.find((s) => s.host === "web-02")?.detail).toBe("no package changes are pending");
  });

  it("plans the command on every host when the runbook changes no package", () => {
    const p = planOf([CLEAR]);
    expect(p.skipped).toEqual([]);
    expect(p.hosts.map((h) => h.name).sort()).toEqual(["db-01", "web-01", "web-02"]);
  });

  it("plans the command where the package step does not apply", () => {
    const p = planOf([{ ...PACKAGES, hosts: "group:web" }, CLEAR]);
    expect(p.hosts.find((h) => h.name === "db-01")?.actions.map((a) => a.kind)).toEqual(["command"]);
    expect(p.skipped.map((s) => [s.host, s.reason])).toEqual([["web-02", "nothing-to-do"]]);
  });
});
