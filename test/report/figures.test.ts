/**
 * The report's figures against a synthetic history with a known generating model
 * (test/support/history-model.ts): first exactly against the truth the generator
 * recorded from its own events (the report reads only the files), then the truth
 * against what the model's parameters predict, within stated statistical tolerances.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import type { StatusReport } from "../../src/report/status.ts";
import type { TrendsReport } from "../../src/report/trends.ts";
import { generateHistory, type HistoryModelTruth } from "../support/history-model.ts";

const PROJECT = resolve(import.meta.dirname, "../..");
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
const schema = (name: string) => ajv.compile(JSON.parse(readFileSync(join(PROJECT, `schemas/report-${name}.schema.json`), "utf8")) as object);

async function steward(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd: process.cwd() });
  return { code, stdout, stderr };
}

const HOSTS = 36;
const DAYS = 120;

describe("report figures against the history model", () => {
  let root: string;
  let truth: HistoryModelTruth;
  let trends: TrendsReport;
  let status: StatusReport;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-figures-"));
    truth = await generateHistory(root, { hosts: HOSTS, days: DAYS, seed: 20261207 });
    const t = await steward(["report", "trends", "--root", root, "--since", `${DAYS}d`, "--now", truth.end, "--format", "json"]);
    expect(t.stderr).toBe("");
    trends = JSON.parse(t.stdout) as TrendsReport;
    const s = await steward(["report", "status", "--root", root, "--now", truth.end, "--format", "json"]);
    status = JSON.parse(s.stdout) as StatusReport;
  }, 300_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("writes real files through the product's writers, and the reports are valid against their schemas", async () => {
    expect((await readdir(join(root, "facts/snapshots"))).length).toBe(DAYS);
    expect((await readdir(join(root, "runs"))).filter((n) => /^(patching|weekly-checks)-/.test(n)).length).toBe(truth.runs);
    expect(await readFile(join(root, "incidents/patching-sev3.md"), "utf8")).toMatch(/^---\nstatus: (open|closed)\nrunbook: patching\nseverity: SEV3\n/);
    const audit = await steward(["audit", "verify", "--root", root]);
    expect(audit.stdout).toMatch(new RegExp(`audit verified: ${truth.runs} entries`));
    const vt = schema("trends");
    expect(vt(trends), JSON.stringify(vt.errors)).toBe(true);
    const vs = schema("status");
    expect(vs(status), JSON.stringify(vs.errors)).toBe(true);
    expect(trends.problems).toEqual([]);
    expect(trends.source.files).toBeGreaterThan(truth.runs + DAYS);
  });

  it("counts runs, rates, exposure, MTTR and patch latency exactly as the generated events give them", () => {
    const s = trends.summary;
    expect(s.runs).toBe(truth.runs);
    expect(s.ok).toBe(truth.okRuns);
    expect(s.hostResults).toBe(truth.hostResults);
    expect(s.hostFailures).toBe(truth.hostFailures);
    for (const [name, rb] of Object.entries(truth.runbooks)) expect(trends.runbooks.find((r) => r.runbook === name)).toMatchObject({ runs: rb.runs, ok: rb.ok, hostResults: rb.hostResults, hostFailures: rb.hostFailures });
    expect(s.exposureHostDays).toBe(truth.exposureHostDays);
    expect(s.observedHostDays).toBe(truth.observedHostDays);
    for (const [g, e] of Object.entries(truth.exposureByGroup)) expect(trends.groups.find((x) => x.group === g)).toMatchObject({ exposureHostDays: e.exposed, observedHostDays: e.observed, hosts: HOSTS / 3 });
    expect(s.mttr.incidents).toBe(truth.incidents.filter((i) => i.closedAt !== undefined).length);
    expect(s.mttr.meanHours).toBeCloseTo(truth.mttrHours!, 1);
    expect(s.patchLatency.count).toBe(truth.installs.length);
    const mean = truth.installs.reduce((a, i) => a + i.days, 0) / truth.installs.length;
    expect(s.patchLatency.meanDays).toBeCloseTo(mean, 1);
    for (const type of ["security", "patch", "minor", "major"] as const) expect(trends.patchLatencyByType[type].count).toBe(truth.installs.filter((i) => i.type === type).length);
    expect(trends.goneWithoutInstall).toBe(0);
  });

  it("the truth agrees with what the model's parameters predict, within stated tolerances", () => {
    const o = truth.options;
    const patching = truth.runbooks["patching"]!;
    // Host failure rate: unreachable (gapRate) or failed (failureRate of the reachable). ±0.01 absolute.
    expect(patching.hostFailures / patching.hostResults).toBeCloseTo(o.gapRate + (1 - o.gapRate) * o.failureRate, 1);
    expect(Math.abs(patching.hostFailures / patching.hostResults - (o.gapRate + (1 - o.gapRate) * o.failureRate))).toBeLessThan(0.01);
    // Run success: every host reachable and none failing. ±0.15 absolute: about 3 standard deviations of a share over 120 runs.
    const q = ((1 - o.gapRate) * (1 - o.failureRate)) ** HOSTS;
    expect(Math.abs(patching.ok / patching.runs - q)).toBeLessThan(0.15);
    // MTTR: a failed daily run is repaired by the next ok one: geometric, mean 24/q hours. ±35%.
    expect(Math.abs(trends.summary.mttr.meanHours! - 24 / q) / (24 / q)).toBeLessThan(0.35);
    // Patch latency: L uniform on [2, 6] days (mean 4) plus 1 h from the 01:00 snapshot to the 02:00 run's step; failures add a little. ±0.3 d.
    expect(Math.abs(trends.summary.patchLatency.meanDays! - ((o.latencyDays[0] + o.latencyDays[1]) / 2 + 1 / 24))).toBeLessThan(0.3);
    // Exposure: a security update appearing on day a is listed by the snapshots of days a … a+L.
    const ps = o.updateRate * o.typeMix.security;
    let clear = 1;
    const span = o.latencyDays[1] - o.latencyDays[0] + 1;
    for (let k = 0; k <= o.latencyDays[1]; k++) clear *= 1 - ps * Math.min(1, (o.latencyDays[1] - k + 1) / span);
    expect(Math.abs(trends.summary.exposureShare! - (1 - clear))).toBeLessThan(0.05);
  });

  it("status lists each host's pending updates by type as the last snapshot left them, with groups, compliance and backups", () => {
    expect(status.hosts.length).toBe(HOSTS);
    for (const h of status.hosts) {
      expect(h.pending, h.host).toEqual(truth.finalPending[h.host]);
      expect(h.updates.every((u) => u.ageDays >= 0 && u.ageDays <= o7(truth))).toBe(true);
      expect(h.compliance.map((c) => c.rule)).toEqual(["ssh-no-root"]);
      expect(h.lastBackup?.tool).toBe("restic");
      expect(h.lastSuccess).not.toBeNull();
    }
    expect(status.groups.map((g) => g.group)).toEqual(["app", "db", "web"]);
    expect(status.summary.openIncidents).toBe(truth.incidents.at(-1)?.closedAt === undefined ? 1 : 0);
  });

  it("renders Markdown with the summary first, Mermaid charts and escaped tables", async () => {
    const md = (await steward(["report", "trends", "--root", root, "--since", `${DAYS}d`, "--now", truth.end])).stdout;
    expect(md.startsWith("# Maintenance trends")).toBe(true);
    expect(md).toMatch(/```mermaid\nxychart-beta\n/);
    expect(md).toMatch(/```mermaid\npie showData\n/);
    expect(md).toContain(`**${truth.runs}** run(s)`);
    const out = join(root, "status.md");
    const r = await steward(["report", "status", "--root", root, "--now", truth.end, "--out", out]);
    expect(r.code).toBe(0);
    expect(await readFile(out, "utf8")).toMatch(/^# Fleet status\n/);
  });
});

/** Longest an update can stay pending in the model, in days (latency plus a week of slack for failures and gaps). */
const o7 = (t: HistoryModelTruth): number => t.options.latencyDays[1] + 7;
