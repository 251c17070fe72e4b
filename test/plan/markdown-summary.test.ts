import { describe, expect, it } from "vitest";
import type { FactsResult } from "../../src/facts/types.ts";
import { renderPlanMarkdown } from "../../src/plan/markdown.ts";
import { plan } from "../../src/plan/planner.ts";
import type { Plan } from "../../src/plan/types.ts";
import type { Runbook } from "../../src/model/types.ts";
import { host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "./fixtures.ts";

/**
 * What the plan's Markdown says about waves and groups agrees with its body: the summary's
 * wave count is the number of wave sections, and every host row names the inventory
 * groups the host is in, whether or not the runbook orders the rollout by group.
 */

const HOSTS = [host("web-fra-01", ["web", "site-fra"]), host("db-fra-01", ["db", "site-fra"], "critical"), host("lone-01", [])];

function planOf(rollout: Runbook["rollout"]): Plan {
  const facts = new Map<string, FactsResult>(HOSTS.map((h) => [h.name, ok(h.name, withUpgrades([up("curl", "7.88.1-10", "7.88.1-11")]))]));
  return plan({ inventory: inventory(HOSTS), runbook: runbook(rollout ? { rollout } : {}), facts, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
}

/** The text a reader sees: the Markdown escapes undone. */
const seen = (md: string): string => md.replace(/\\(.)/g, "$1");

/** The cells of the wave table row of `name`. */
function row(md: string, name: string): string[] {
  const line = seen(md).split("\n").find((l) => new RegExp(`^\\| \\d+ \\| ${name} \\|`).test(l));
  if (!line) throw new Error(`no wave row for ${name}`);
  return line.split(" | ").map((cell) => cell.replace(/^\| |\s\|$/g, ""));
}

describe("plan Markdown summary and host tables", () => {
  it("counts waves as the body lists them: one wave of three hosts is 1 wave, not 3", () => {
    const p = planOf(undefined);
    const md = renderPlanMarkdown(p);
    expect(p.rollout.waves).toHaveLength(1);
    expect(md.match(/^### Wave /gm)).toHaveLength(1);
    expect(seen(md)).toContain("| Waves | 1 (hosts per wave: 3) |");
  });

  it("gives the count and the size of each wave when there are several", () => {
    const p = planOf({ waves: [1, "100%"] });
    const md = renderPlanMarkdown(p);
    expect(md.match(/^### Wave /gm)).toHaveLength(2);
    expect(seen(md)).toContain("| Waves | 2 (hosts per wave: 1 → 2) |");
  });

  it("says none when no host is planned", () => {
    const p = plan({ inventory: inventory(HOSTS), runbook: runbook(), facts: new Map(), now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    const md = renderPlanMarkdown(p);
    expect(md).not.toMatch(/^### Wave /m);
    expect(seen(md)).toContain("| Waves | none: no host is planned |");
  });

  it("names each host's inventory groups when the runbook has no rollout order", () => {
    const md = renderPlanMarkdown(planOf(undefined));
    expect(seen(md)).toContain("| # | Host | Groups | Criticality | Upgrades | Reboot |");
    expect(row(md, "lone-01")).toEqual(["1", "lone-01", "–", "medium", "1", "no"]);
    expect(row(md, "web-fra-01")).toEqual(["2", "web-fra-01", "site-fra, web", "medium", "1", "no"]);
    expect(row(md, "db-fra-01")).toEqual(["3", "db-fra-01", "db, site-fra", "critical", "1", "no"]);
  });

  it("adds the order group the host rolls out with when the runbook orders by group", () => {
    const md = renderPlanMarkdown(planOf({ order: ["db", "web"] }));
    expect(seen(md)).toContain("| # | Host | Order group | Groups | Criticality | Upgrades | Reboot |");
    expect(row(md, "db-fra-01")).toEqual(["1", "db-fra-01", "db", "db, site-fra", "critical", "1", "no"]);
    expect(row(md, "web-fra-01")).toEqual(["2", "web-fra-01", "web", "site-fra, web", "medium", "1", "no"]);
    expect(row(md, "lone-01")).toEqual(["3", "lone-01", "none: goes last", "–", "medium", "1", "no"]);
  });
});
