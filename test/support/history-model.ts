/**
 * A synthetic but realistic repository history from a stated generating model, written
 * as REAL files through the product's own writers: facts snapshots (writeSnapshots),
 * runs/<id>/results.json (writeResults, checked against schemas/results.schema.json),
 * the audit log (recordRun) and incidents/<runbook>-sev3.md (the git publisher's
 * `incident`). Reports, forecasts and the bench read it like any repository.
 *
 * The generating model (every random draw from one seeded PRNG, mulberry32):
 * - `hosts` hosts `h-0001…`, host i in group `groups[i % groups.length]`.
 * - Each UTC day d of `days` days from `start`: at 01:00 (+ i seconds) a facts snapshot
 *   of every host; a host is unreachable that day with probability `gapRate` (its
 *   snapshot line is a gap and it is `unreachable` in that day's runs).
 * - Updates: at 00:00 of each day each host gains a new pending update with probability
 *   `updateRate`, of type security/patch/minor/major with probabilities
 *   `typeMix`; each has a latency L drawn uniformly from the integers
 *   [`latencyDays[0]`, `latencyDays[1]`]: it is installed by the first `patching` run
 *   on or after day (appearance + L) in which the host is reachable and does not fail.
 * - Runs: the `patching` runbook runs daily at 02:00; each reachable host fails with
 *   probability `failureRate`; a run with any failed or unreachable host is
 *   `hosts-failed`, else `ok`. A failed patching run opens (or repeats) the SEV3 incident of
 *   the runbook; the next ok patching run closes it (times = the runs' ends).
 *   The `weekly-checks` runbook runs on Mondays at 03:00 on reachable hosts: a compliance
 *   rule `ssh-no-root` (non-compliant with probability `nonCompliantRate`) and a restic
 *   backup, test-restored (verified) with probability `verifyRate`.
 * - Disks, memory and load: the resource model of resource-model.ts (its own seeded
 *   stream; growing, flat and shrinking mounts with noise, outliers at `outlierRate`,
 *   cleanups at 90% and operator cleanups at `cleanupRate`, memory leaks with restarts,
 *   rising load), and its multi-day outages (`outageRate`, default 0), during which a
 *   host is unreachable exactly as on a `gapRate` day.
 * The truth returned is computed from the generated events themselves (not from the
 * files), so a report read from the files can be checked against it exactly, and the
 * truth against the model's expectations within statistical tolerances.
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { runResults, writeResults } from "../../src/apply/results.ts";
import type { HostResult, StepResult } from "../../src/apply/types.ts";
import { recordRun } from "../../src/audit/record.ts";
import { writeSnapshots } from "../../src/facts/snapshot.ts";
import { GitPublisher } from "../../src/publish/git/index.ts";
import type { FactSnapshot, SnapshotUpdateType } from "../../src/report/history/snapshots.ts";
import { ResourceModel, type ResourceTruth } from "./resource-model.ts";
import { prng } from "./prng.ts";

export interface HistoryModelOptions {
  hosts: number;
  days: number;
  seed: number;
  /** First day, 00:00 UTC. Default 2026-01-05 (a Monday). */
  start?: string;
  groups?: string[];
  gapRate?: number;
  failureRate?: number;
  updateRate?: number;
  typeMix?: Record<SnapshotUpdateType, number>;
  latencyDays?: [number, number];
  nonCompliantRate?: number;
  verifyRate?: number;
  outlierRate?: number;
  /** Resource model (resource-model.ts): the chance of an operator cleanup on a growing mount, of a host's multi-day outage. */
  cleanupRate?: number;
  outageRate?: number;
  /** Leave out the weekly compliance and backup runs (smaller, faster histories). */
  weekly?: boolean;
}


export interface HistoryModelTruth {
  options: Required<Omit<HistoryModelOptions, "start" | "groups">> & { start: string; groups: string[] };
  /** The end of the last day (a natural `until`). */
  end: string;
  runs: number;
  okRuns: number;
  hostResults: number;
  hostFailures: number;
  /** Per runbook: runs and ok runs. */
  runbooks: Record<string, { runs: number; ok: number; hostResults: number; hostFailures: number }>;
  incidents: Array<{ openedAt: string; closedAt?: string }>;
  mttrHours: number | null;
  /** Latency of every install, first seen → the installing step's end, in days, with the update type and group. */
  installs: Array<{ host: string; group: string; type: SnapshotUpdateType; days: number; at: string }>;
  exposureHostDays: number;
  observedHostDays: number;
  exposureByGroup: Record<string, { exposed: number; observed: number }>;
  /** Every disk, memory and load series with its true current segment and fill time (resource-model.ts). */
  resources: ResourceTruth[];
  /** Per host at the end: pending updates by type (as the last reachable snapshot lists them). */
  finalPending: Record<string, Record<SnapshotUpdateType, number>>;
}


const DAY = 86_400_000;
const hex = (s: string, n: number): string => createHash("sha256").update(s).digest("hex").slice(0, n);
const stamp = (t: number): string => new Date(t).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
const iso = (t: number): string => new Date(t).toISOString();

interface Update { name: string; type: SnapshotUpdateType; from: string; to: string; dueDay: number; firstSeen?: number }

/** Writes the history under `root` (a repository folder) and returns the model's truth. */
export async function generateHistory(root: string, o: HistoryModelOptions): Promise<HistoryModelTruth> {
  const opt = {
    hosts: o.hosts, days: o.days, seed: o.seed, start: o.start ?? "2026-01-05T00:00:00Z", groups: o.groups ?? ["web", "db", "app"],
    gapRate: o.gapRate ?? 0.01, failureRate: o.failureRate ?? 0.01, updateRate: o.updateRate ?? 0.3,
    typeMix: o.typeMix ?? { security: 0.3, patch: 0.4, minor: 0.2, major: 0.1 }, latencyDays: o.latencyDays ?? [2, 6] as [number, number],
    nonCompliantRate: o.nonCompliantRate ?? 0.1, verifyRate: o.verifyRate ?? 0.8, outlierRate: o.outlierRate ?? 0.02, weekly: o.weekly ?? true,
    cleanupRate: o.cleanupRate ?? 0.3, outageRate: o.outageRate ?? 0,
  };
  const rnd = prng(opt.seed);
  const t0 = Date.parse(opt.start);
  await mkdir(join(root, "runs"), { recursive: true });
  const names = Array.from({ length: opt.hosts }, (_, i) => `h-${String(i + 1).padStart(4, "0")}`);
  const groupOf = (i: number): string => opt.groups[i % opt.groups.length]!;
  const pending = names.map(() => [] as Update[]);
  const known = names.map(() => [] as Update[]); // as of the last reachable snapshot
  let counter = 0;
  const resources = new ResourceModel(names, { days: opt.days, outlierRate: opt.outlierRate, cleanupRate: opt.cleanupRate, outageRate: opt.outageRate }, prng((opt.seed ^ 0x5bd1e995) >>> 0));
  const truth: HistoryModelTruth = { options: opt, end: iso(t0 + opt.days * DAY), runs: 0, okRuns: 0, hostResults: 0, hostFailures: 0, runbooks: {}, incidents: [], mttrHours: null, installs: [], exposureHostDays: 0, observedHostDays: 0, exposureByGroup: {}, resources: resources.truth, finalPending: {} };
  const publisherClock = { now: 0 };
  const publisher = new GitPublisher({ root, now: () => new Date(publisherClock.now) });
  const pick = (): SnapshotUpdateType => {
    let x = rnd();
    for (const t of ["security", "patch", "minor", "major"] as const) if ((x -= opt.typeMix[t]) < 0) return t;
    return "major";
  };

  for (let day = 0; day < opt.days; day++) {
    const dayStart = t0 + day * DAY;
    const reachable = names.map((_, i) => rnd() >= opt.gapRate && !resources.inOutage(i, day));
    // 00:00: new updates appear.
    for (const [i] of names.entries()) {
      if (rnd() >= opt.updateRate) continue;
      const type = pick();
      const n = ++counter;
      const [a, b] = type === "major" ? ["1.4.2-1", "2.0.0-1"] : type === "minor" ? ["1.4.2-1", "1.5.0-1"] : ["1.4.2-1", "1.4.3-1"];
      const L = opt.latencyDays[0] + Math.floor(rnd() * (opt.latencyDays[1] - opt.latencyDays[0] + 1));
      pending[i]!.push({ name: `pkg${n}`, type, from: a!, to: b!, dueDay: day + L });
    }
    // 01:00: snapshots.
    const lines: FactSnapshot[] = [];
    for (const [i, host] of names.entries()) {
      const takenAt = dayStart + 3_600_000 + i * 1000;
      const g = groupOf(i);
      const eg = (truth.exposureByGroup[g] ??= { exposed: 0, observed: 0 });
      resources.advance(i, day, takenAt);
      if (!reachable[i]) {
        lines.push({ v: 1, host, takenAt: iso(takenAt), groups: [g], unreachable: true });
      } else {
        for (const u of pending[i]!) u.firstSeen ??= takenAt;
        known[i] = [...pending[i]!];
        lines.push({
          v: 1, host, takenAt: iso(takenAt), groups: [g], os: "debian 12",
          ...resources.reading(i, takenAt),
          uptimeSeconds: 3600 + day * 86_400, bootId: hex(`${host}`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-"), rebootRequired: pending[i]!.some((u) => u.type === "security"),
          upgradable: pending[i]!.map((u) => ({ name: u.name, from: u.from, to: u.to, type: u.type })).sort((x, y) => (x.name < y.name ? -1 : 1)),
        });
      }
      truth.observedHostDays += 1;
      eg.observed += 1;
      if (known[i]!.some((u) => u.type === "security")) {
        truth.exposureHostDays += 1;
        eg.exposed += 1;
      }
    }
    await writeSnapshots(root, lines);
    // 02:00: the daily patching run.
    const runStart = dayStart + 2 * 3_600_000;
    const hosts: HostResult[] = names.map((host, i) => {
      const hs = runStart + i * 1000;
      if (!reachable[i]) return { host, wave: 0, outcome: "unreachable", detail: "connection refused", startedAt: null, finishedAt: null, steps: [] };
      const stepEnd = hs + 30_000;
      const step = (outcome: StepResult["outcome"], detail: string, packages?: StepResult["packages"]): StepResult => ({ step: "upgrade", kind: "packages", outcome, startedAt: iso(hs), finishedAt: iso(stepEnd), durationMs: 30_000, detail, ...(packages ? { packages } : {}) });
      if (rnd() < opt.failureRate) return { host, wave: 0, outcome: "failed", detail: "upgrade: apt-get exited 100", startedAt: iso(hs), finishedAt: iso(stepEnd), steps: [step("failed", "apt-get exited 100")] };
      const due = pending[i]!.filter((u) => u.dueDay <= day && u.firstSeen !== undefined);
      pending[i] = pending[i]!.filter((u) => !due.includes(u));
      for (const u of due) truth.installs.push({ host, group: groupOf(i), type: u.type, days: (stepEnd - u.firstSeen!) / DAY, at: iso(stepEnd) });
      return { host, wave: 0, outcome: due.length > 0 ? "changed" : "unchanged", detail: due.length > 0 ? `${due.length} package(s) upgraded` : "nothing to upgrade", startedAt: iso(hs), finishedAt: iso(stepEnd), steps: [step(due.length > 0 ? "changed" : "unchanged", `${due.length} package(s)`, due.map((u) => ({ name: u.name, from: u.from, to: u.to })))] };
    });
    await writeRun(root, "patching", runStart, runStart + 1800_000, hosts, truth, publisher, publisherClock);
    if (opt.weekly && new Date(dayStart).getUTCDay() === 1) {
      const start = dayStart + 3 * 3_600_000;
      const weekly: HostResult[] = names.map((host, i) => {
        if (!reachable[i]) return { host, wave: 0, outcome: "unreachable", detail: "connection refused", startedAt: null, finishedAt: null, steps: [] };
        const at = iso(start + i * 1000 + 10_000);
        const bad = rnd() < opt.nonCompliantRate;
        const snapshotId = hex(`${host}-${day}`, 64);
        const verified = rnd() < opt.verifyRate;
        const base = { startedAt: iso(start + i * 1000), finishedAt: at, durationMs: 10_000 };
        const steps: StepResult[] = [
          { step: "hardening", kind: "compliance", outcome: "unchanged", detail: bad ? "1 rule not met" : "all rules met", ...base, evidence: { compliance: { observedAt: at, rules: [{ id: "ssh-no-root", type: "sshd", severity: "high", status: bad ? "non-compliant" : "compliant", observed: bad ? "permitrootlogin yes" : "permitrootlogin no", expected: "permitrootlogin no", observedAt: at }] } } },
          { step: "backup", kind: "backup", outcome: "changed", detail: "snapshot saved", ...base, evidence: { tool: "restic", snapshotId } },
          { step: "verify", kind: "verify-backup", outcome: verified ? "unchanged" : "unchanged", detail: verified ? "10 files restored" : "restic check passed", ...base, evidence: { tool: "restic", snapshotId, ...(verified ? { testRestore: { ok: true, filesCompared: 10 } } : {}) } },
        ];
        return { host, wave: 0, outcome: "changed", detail: "", startedAt: base.startedAt, finishedAt: at, steps };
      });
      await writeRun(root, "weekly-checks", start, start + 1800_000, weekly, truth, publisher, publisherClock);
    }
  }
  resources.finish();
  const closed = truth.incidents.filter((x) => x.closedAt !== undefined);
  truth.mttrHours = closed.length === 0 ? null : closed.reduce((a, x) => a + (Date.parse(x.closedAt!) - Date.parse(x.openedAt)), 0) / closed.length / 3_600_000;
  for (const [i, host] of names.entries()) {
    const c = { security: 0, patch: 0, minor: 0, major: 0 };
    for (const u of known[i]!) c[u.type] += 1;
    truth.finalPending[host] = c;
  }
  return truth;
}

async function writeRun(root: string, runbook: string, start: number, end: number, hosts: HostResult[], truth: HistoryModelTruth, publisher: GitPublisher, clock: { now: number }): Promise<void> {
  const runId = `${runbook}-${stamp(start)}-${hex(`${runbook}${start}`, 4)}`;
  const digest = hex(`plan-${runbook}-${start}`, 64);
  const planId = `${runbook}-${stamp(start - 3_600_000).slice(0, 13)}-${digest.slice(0, 12)}`;
  const failed = hosts.filter((h) => h.outcome === "failed" || h.outcome === "unreachable").length;
  const status = failed > 0 ? "hosts-failed" : "ok";
  const results = runResults({ runId, plan: { id: planId, digest, rollout: { failureBudget: { haltsAt: hosts.length + 1 } } as never }, startedAt: iso(start), finishedAt: iso(end), status, halt: null, failures: failed, resumes: 0, hosts });
  const runDir = join(root, "runs", runId);
  await writeResults(runDir, results);
  await recordRun({ root, runDir, resumed: false, unattended: true, planFile: `plans/${planId}.json`, approval: null, actor: "history-model", results });
  const rb = (truth.runbooks[runbook] ??= { runs: 0, ok: 0, hostResults: 0, hostFailures: 0 });
  truth.runs += 1;
  rb.runs += 1;
  truth.hostResults += hosts.length;
  rb.hostResults += hosts.length;
  truth.hostFailures += failed;
  rb.hostFailures += failed;
  clock.now = end;
  const open = truth.incidents.at(-1)?.closedAt === undefined ? truth.incidents.at(-1) : undefined;
  const report = { runbook, severity: "SEV3" as const, runId, title: `SEV3: ${runbook} failed`, labels: ["steward:incident", "severity:sev3"], assignees: [] };
  if (status === "ok") {
    truth.okRuns += 1;
    rb.ok += 1;
    if (runbook === "patching" && open !== undefined) {
      open.closedAt = iso(end);
      await publisher.incident({ ...report, status: "resolved", body: { summary: `Resolved by run \`${runId}\`.`, details: [] }, comment: `Resolved: run ${runId} completed cleanly.` });
    }
  } else if (runbook === "patching") {
    if (open === undefined) truth.incidents.push({ openedAt: iso(end) });
    await publisher.incident({ ...report, status: "failing", body: { summary: `**SEV3** — runbook \`${runbook}\`, run \`${runId}\`: ${failed} host(s) not done.`, details: [] } });
  }
}
