import { describe, expect, it } from "vitest";
import { runEngine } from "../../src/apply/engine.ts";
import { readJournal } from "../../src/apply/journal-replay.ts";
import type { Criticality } from "../../src/model/types.ts";
import { renderRunReport } from "../../src/report/run-report.ts";
import { FakeFleet, newJournal, rolloutPlan } from "../apply/fixtures.ts";

/** A run of 6 hosts in 2 waves, written by the real engine and journal; the report is rendered from its files. */
async function run(scripts: ConstructorParameters<typeof FakeFleet>[1], haltsAt = 3) {
  const plan = rolloutPlan({ hosts: Array.from({ length: 6 }, (_, i) => ({ name: `web-0${i + 1}`, wave: i < 2 ? 0 : 1 })), haltsAt });
  const journal = await newJournal(plan);
  const results = await runEngine({ plan, journal, runHost: new FakeFleet(plan, scripts).runHost });
  const { records } = await readJournal(journal.path);
  const criticality = new Map<string, Criticality>(plan.hosts.map((h) => [h.name, h.name === "web-02" ? "critical" : "low"]));
  return { plan, results, text: renderRunReport({ plan, results, journal: records, criticality, planFile: `plans/${plan.id}.json` }) };
}

describe("run report", () => {
  it("a clean run: summary and waves, no post-incident section", async () => {
    const { text, results } = await run({});
    expect(text).toMatch(new RegExp(`^# Run ${results.runId}\\n`));
    expect(text).toContain("| Status | ok (exit 0) |");
    expect(text).toContain("| Hosts | 6 changed |");
    expect(text).toContain("## Wave 2");
    expect(text).not.toContain("Post-incident");
    expect(text).not.toContain("Severity");
  });

  it("a failed critical host: severity from criticality, a UTC timeline, what failed and how to go on", async () => {
    const { text, plan, results } = await run({ "web-02": { outcome: "failed" }, "web-04": { outcome: "unreachable" } });
    expect(results.status).toBe("hosts-failed");
    expect(text).toContain("| Severity | SEV2 |");
    expect(text).toMatch(/\*\*Severity SEV2\*\*: web-02 \(critical\) failed/);
    expect(text).toMatch(/### Timeline \(UTC\)\n\n- \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ run \S+ started: plan /);
    expect(text).toMatch(/- [^\n]*web-02: failed/);
    expect(text).toMatch(/\| web-04 \| low \| SEV4 \| unknown: steward could not reach it \|/);
    expect(text).toContain("Every host reached an outcome");
    expect(text).toContain(`steward plan ${plan.runbook.name} --gather`);
  });

  it("a halted rollout says how to resume the same run", async () => {
    const { text, results } = await run({ "web-01": { outcome: "failed" }, "web-02": { outcome: "failed" } }, 1);
    expect(results.status).toBe("halted:budget");
    expect(text).toMatch(/failure budget tripped at web-0[12]/);
    expect(text).toContain(`--resume ${results.runId}`);
    expect(text).toContain("not-started:budget");
  });

  it("stays under the size limit by dropping per-host detail first", async () => {
    const { text } = await run({ "web-02": { outcome: "failed" } });
    const small = renderRunReport({ ...(await run({ "web-02": { outcome: "failed" } })), journal: [], criticality: new Map(), planFile: "p.json" }, 1500);
    expect(small.length).toBeLessThanOrEqual(1500);
    expect(text.length).toBeGreaterThan(small.length);
  });
});
