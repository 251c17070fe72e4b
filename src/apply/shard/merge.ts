/**
 * `steward results merge <run-id>`: merges the shards of the run's next wave into the
 * run's own files, runs/<run-id>/journal.jsonl, results.json and report.md, decides
 * whether the next wave may start, and records one audit entry (type "merge").
 *
 * The merged journal, per wave: a wave-start; every host record of every shard
 * (host-start, host-wait, step-intent, step-outcome, host-end, window-close, signal),
 * each exactly once, in time order (ties: the lower shard first; each shard's own order
 * kept), re-chained with the journal's seq and prev and keeping its own time; a
 * wave-end; a shard-merge naming each shard's journal and results by sha256; then the
 * verdicts. A shard's own run-start, wave records, gate, budget-trip and run-end stay
 * in its journal and are summed up by shard-merge.
 *
 * Before anything is written: a wave with a shard stopped by SIGINT/SIGTERM
 * (halted:signal) is refused (exit 2), naming the shard and its resume, since a merged
 * wave's shards can no longer be resumed; `acceptStopped` merges it as it stands. Then
 * the same for hosts left with a step of unknown effect (`acceptUnknown`).
 *
 * Verdicts, in order: a shard stopped by a signal (merged with acceptStopped) halts the run (signal); the run's
 * cumulative failures reaching `haltsAt` halt it (budget), as does a shard that spent
 * its share of the budget and so left hosts of the wave unstarted (budget: more
 * conservative than one runner, which would have started them while the whole was
 * within budget), and a failing gate on any shard (gate). A halted run's hosts of later waves
 * are `not-started:budget` (or `:signal`), a closed window's `not-started:window`, and
 * the run ends (exit 4, or 1 for the window); otherwise the gate's pause is waited
 * out and the next wave may start (exit 0, or 1 when some hosts failed).
 */
import { readdir } from "node:fs/promises";
import { hostname } from "node:os";
import { isAbsolute, join } from "node:path";
import { actorOf, approvalFromActions, approvalFromHistory } from "../../audit/approval.ts";
import { RUN_ID, type AuditEntry } from "../../audit/entry.ts";
import { recordRun } from "../../audit/record.ts";
import { parseDuration } from "../../core/duration.ts";
import { UsageError } from "../../core/errors.ts";
import type { HaltReason } from "../../core/events.ts";
import { writeFileAtomic } from "../../core/fs.ts";
import type { RunSecrets } from "../../core/secrets.ts";
import { sleep as realSleep } from "../../core/sleep.ts";
import type { Plan } from "../../plan/types.ts";
import { renderRunReport } from "../../report/run-report.ts";
import { exists, readPlanFile } from "../index.ts";
import { Journal, JOURNAL_FILE } from "../journal.ts";
import type { JournalBody, JournalRecord } from "../journal-records.ts";
import { readJournal, replayJournal } from "../journal-replay.ts";
import { tornMergeNote, tornNotesOf } from "../torn.ts";
import { lockPlan } from "../lock.ts";
import { budgetCount, runResults, runStatus, writeResults, type RunResults } from "../results.ts";
import { BUDGET_OUTCOMES, type HostOutcome, type HostResult } from "../types.ts";
import { readWaveShards, type ReadShard } from "./merge-read.ts";
import { readMergedState } from "./state.ts";

export interface MergeOptions {
  root: string;
  runId: string;
  /** The plan file; default plans/<plan-id>.json, the plan id read from the run's journals. */
  planFile?: string;
  /** The wave to merge, 1-based; it must be the next one. */
  wave?: number;
  secrets: RunSecrets;
  env: NodeJS.ProcessEnv;
  /** Waits out the gate's pause; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Merge even when a shard left hosts with a step of unknown effect (`--accept-unknown`):
   * once the wave is merged its shards can no longer be resumed with `--retry-unknown`,
   * so without it such a merge is refused, naming the hosts.
   */
  acceptUnknown?: boolean;
  /**
   * Merge even when a shard was stopped by a signal (`--accept-stopped`): the run then
   * halts (halted:signal), its later hosts not-started:signal. Without it such a merge
   * is refused, naming the shard and its resume: merged, it could no longer be resumed.
   */
  acceptStopped?: boolean;
}

export interface MergeOutcome {
  results: RunResults;
  /** 0-based: the wave merged. */
  wave: number;
  shards: number;
  /** True when the run ended with this merge (the last wave, a halt, or a closed window). */
  ended: boolean;
  audit: AuditEntry;
  report: string;
  /** What the operator must be told besides the results (torn journal lines cut off: torn.ts), one sentence each. */
  notes: string[];
}

/** Host records a shard's journal passes to the run's journal. */
const COPIED: ReadonlySet<JournalRecord["type"]> = new Set<JournalRecord["type"]>(["host-start", "host-wait", "step-intent", "step-outcome", "host-end", "window-close", "signal"]);

/** The plan id a sharded run applies: from its merged journal, else from the first shard's. */
async function planIdOf(runDir: string, runId: string): Promise<string> {
  const merged = join(runDir, JOURNAL_FILE);
  if (await exists(merged)) {
    const start = (await readJournal(merged)).records[0];
    if (start?.type === "run-start") return start.planId;
  }
  const folders = (await readdir(join(runDir, "shards")).catch(() => [] as string[])).sort();
  for (const folder of folders) {
    const path = join(runDir, "shards", folder, JOURNAL_FILE);
    if (!(await exists(path))) continue;
    const start = (await readJournal(path)).records[0];
    if (start?.type === "run-start" && RUN_ID.test(start.planId)) return start.planId;
  }
  throw new UsageError(`run ${runId} has no shard to merge (runs/${runId}/shards/ holds no journal)`, "apply the shards first: steward apply <plan> --shard i/n");
}

/** Merges the next wave of run `runId`; see the module comment. @throws UsageError, ShardError (exit 5), as readPlanFile. */
export async function mergeShards(o: MergeOptions): Promise<MergeOutcome> {
  if (!RUN_ID.test(o.runId)) throw new UsageError(`${JSON.stringify(o.runId)} is not a run id`, "use the run id steward apply --shard printed, <plan-id>-sharded");
  const runsDir = join(o.root, "runs");
  const runDir = join(runsDir, o.runId);
  const planFile = o.planFile ?? `plans/${await planIdOf(runDir, o.runId)}.json`;
  const planPath = isAbsolute(planFile) ? planFile : join(o.root, planFile);
  const plan = await readPlanFile(planPath, planFile);
  const lock = await lockPlan(runsDir, `${o.runId}.merge`, { runId: o.runId, root: o.root });
  try {
    const state = await readMergedState(runDir, o.runId, plan);
    if (state.ended !== null) throw new UsageError(`run ${o.runId} ended (${state.ended.status}) when wave ${state.next} was merged: nothing is left to merge`, `read runs/${o.runId}/report.md`);
    const wave = state.next;
    if (wave >= plan.rollout.waves.length) throw new UsageError(`every wave of run ${o.runId} is merged`);
    if (o.wave !== undefined && o.wave !== wave + 1) throw new UsageError(`--wave ${o.wave}: the next wave of run ${o.runId} to merge is ${wave + 1}`, o.wave > wave + 1 ? `merge wave ${wave + 1} first` : `wave ${o.wave} is merged already`);
    const shards = await readWaveShards(runDir, o.runId, plan, wave, state.failures);
    if (o.acceptStopped !== true) refuseStopped(o.runId, plan, wave, shards);
    if (o.acceptUnknown !== true) refuseUnknown(o.runId, plan, wave, shards);
    const notes = shards.flatMap((s) => tornNotesOf(`runs/${o.runId}/shards/${s.folder}/journal.jsonl`, s.records));
    return await writeMerge(o, plan, planFile, runDir, wave, shards, state.failures, notes);
  } finally {
    await lock.release();
  }
}

/**
 * Refuses to merge a wave with a shard stopped by SIGINT/SIGTERM (its journal ends
 * halted:signal): its hosts not done are resumable from its journal, as a crashed
 * shard's are, but not once the wave is merged — and merging it would halt the run.
 * @throws UsageError (exit 2) naming each shard, the signal, its hosts not done and its
 *   resume, and the way to halt the run there instead (--accept-stopped).
 */
function refuseStopped(runId: string, plan: Plan, wave: number, shards: readonly ReadShard[]): void {
  const stopped = shards.filter((s) => s.status === "halted:signal");
  if (stopped.length === 0) return;
  const which = stopped.map((s) => {
    const attempt = s.records.slice(s.records.findLastIndex((r) => r.type === "run-resume") + 1);
    const signal = attempt.find((r) => r.type === "signal");
    const left = s.results.hosts.filter((h) => h.outcome === "interrupted" || h.outcome.startsWith("not-started"));
    const by = signal?.type === "signal" ? `${signal.reason} at ${signal.time}` : "a signal";
    return `shard ${s.index}/${s.identity.of} (runs/${runId}/shards/${s.folder}/, stopped by ${by}; ${left.length} host(s) not done: ${left.map((h) => `${h.host} ${h.outcome}`).join(", ") || "none, its gate did not run"})`;
  });
  const resumes = stopped.map((s) => `steward apply plans/${plan.id}.json --resume ${runId} --shard ${s.index}/${s.identity.of} --wave ${wave + 1}`);
  throw new UsageError(
    `wave ${wave + 1} of run ${runId} has ${stopped.length} shard(s) stopped by a signal before they were done: ${which.join("; ")}; a stopped shard is resumable from its journal (what it completed is kept), but not once the wave is merged`,
    `continue each (${resumes.join("; ")}), then merge again; or, to halt the run here (its later hosts not-started:signal), merge the wave as it stands: steward results merge ${runId} --accept-stopped`,
  );
}

/**
 * Refuses to merge a wave whose shards left hosts holding a step of unknown effect (a
 * crash mid-step that nothing on the host could judge): merged, the wave's shards can no
 * longer be resumed with `--retry-unknown`, and the decision — run the step again, or
 * accept it as it is after looking at the host — would be lost.
 * @throws UsageError (exit 2) naming each host and step, with both ways on.
 */
function refuseUnknown(runId: string, plan: Plan, wave: number, shards: readonly ReadShard[]): void {
  const held: string[] = [];
  const resumes: string[] = [];
  for (const s of shards) {
    const hosts = [...s.hosts.values()].filter((h) => h.steps.some((st) => st.outcome === "unknown"));
    if (hosts.length === 0) continue;
    for (const h of hosts) held.push(`${h.host} (${h.steps.filter((st) => st.outcome === "unknown").map((st) => st.step).join(", ")}, shard ${s.index}/${s.identity.of})`);
    resumes.push(`steward apply plans/${plan.id}.json --resume ${runId} --shard ${s.index}/${s.identity.of} --wave ${wave + 1} --retry-unknown`);
  }
  if (held.length === 0) return;
  throw new UsageError(
    `wave ${wave + 1} of run ${runId} holds steps of unknown effect (a runner crashed while they ran and nothing on the host tells whether they did): ${held.join("; ")}; once the wave is merged its shards cannot be resumed`,
    `check each host, then either run those steps again (${resumes.join("; ")}) and merge, or merge leaving them as they are: steward results merge ${runId} --accept-unknown`,
  );
}

/** Each shard's copied records merged in time order (ties: lower shard first), each shard's order kept. */
function interleave(shards: readonly ReadShard[]): JournalRecord[] {
  const queues = shards.map((s) => s.records.filter((r) => COPIED.has(r.type)));
  const at = queues.map(() => 0);
  const out: JournalRecord[] = [];
  for (;;) {
    let best = -1;
    for (let k = 0; k < queues.length; k++) {
      const r = (queues[k] as JournalRecord[])[at[k] as number];
      if (r === undefined) continue;
      const b = best === -1 ? undefined : (queues[best] as JournalRecord[])[at[best] as number];
      if (b === undefined || r.time < b.time) best = k;
    }
    if (best === -1) return out;
    out.push((queues[best] as JournalRecord[])[at[best] as number] as JournalRecord);
    at[best] = (at[best] as number) + 1;
  }
}

async function writeMerge(o: MergeOptions, plan: Plan, planFile: string, runDir: string, wave: number, shards: readonly ReadShard[], failuresBefore: number, notes: string[]): Promise<MergeOutcome> {
  const path = join(runDir, JOURNAL_FILE);
  // Copied records keep the time they happened; the merge's own records get the merge's.
  let stamp: string | null = null;
  const clock = (): Date => (stamp !== null ? new Date(stamp) : new Date());
  const first = (s: ReadShard): string => (s.records[0] as JournalRecord).time;
  const last = (s: ReadShard): string => (s.records.at(-1) as JournalRecord).time;
  let journal: Journal;
  if (wave === 0) {
    stamp = shards.map(first).sort()[0] as string;
    const override = shards.map((s) => s.records[0]).find((r) => r?.type === "run-start" && r.clockOverride !== undefined);
    journal = await Journal.create(path, { runId: o.runId, planId: plan.id, planDigest: plan.digest, ...(override?.type === "run-start" && override.clockOverride !== undefined ? { clockOverride: override.clockOverride } : {}) }, { root: o.root, clock });
  } else {
    const opened = await Journal.resume(path, { root: o.root, clock, continuing: false });
    journal = opened.journal;
    if (opened.state.tornBytes > 0) notes.push(tornMergeNote(`runs/${o.runId}/journal.jsonl`, opened.state.records + 1, opened.state.tornBytes));
  }
  try {
    const at = async (time: string | null, body: JournalBody): Promise<JournalRecord> => {
      stamp = time;
      return journal.append(body);
    };
    const w = plan.rollout.waves[wave] as Plan["rollout"]["waves"][number];
    await at(shards.map(first).sort()[0] as string, { type: "wave-start", wave, hosts: [...w.hosts] });
    const copied = interleave(shards);
    for (const r of copied) {
      const { seq: _seq, time, prev: _prev, ...body } = r;
      await at(time, body as JournalBody);
    }
    const results = new Map<string, HostResult>();
    for (const s of shards) for (const [name, h] of s.hosts) results.set(name, h);
    const counts: Partial<Record<HostOutcome, number>> = {};
    for (const name of w.hosts) {
      const outcome = results.get(name)?.outcome;
      if (outcome !== undefined) counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    await at(shards.map(last).sort().at(-1) as string, { type: "wave-end", wave, counts });
    await at(null, { type: "shard-merge", wave, of: shards.length, pid: process.pid, machine: hostname(), shards: shards.map((s) => ({ index: s.index, folder: s.folder, status: s.status, hosts: s.hosts.size, failures: [...s.hosts.values()].filter((h) => BUDGET_OUTCOMES.has(h.outcome)).length, files: s.files })) });

    // The verdicts (module comment).
    const failures = failuresBefore + [...results.values()].filter((h) => BUDGET_OUTCOMES.has(h.outcome)).length;
    const { allowed, haltsAt } = plan.rollout.failureBudget;
    const lastWave = wave === plan.rollout.waves.length - 1;
    const byStatus = (status: string): ReadShard[] => shards.filter((s) => s.status === status);
    let halt: { reason: HaltReason; detail: string } | null = null;
    const signalled = byStatus("halted:signal");
    // A shard that spent its share halts the run only when it left hosts unstarted: then
    // part of the wave stopped as a tripped budget stops, and so does the rollout.
    const spent = byStatus("halted:budget").filter((s) => [...s.hosts.values()].some((h) => h.outcome === "not-started:budget"));
    const gated = byStatus("halted:gate");
    if (signalled.length > 0) halt = { reason: "signal", detail: `shard(s) ${signalled.map((s) => `${s.index}/${s.identity.of}`).join(", ")} of wave ${wave + 1} were stopped by a signal` };
    else if (failures >= haltsAt) {
      const failing = copied.filter((r) => r.type === "host-end" && BUDGET_OUTCOMES.has(r.result.outcome)).at(-1);
      await at(null, { type: "budget-trip", failures, haltsAt, host: failing?.type === "host-end" ? failing.host : "" });
      halt = { reason: "budget", detail: `the failure budget is exhausted: ${budgetCount(failures, allHosts(plan, replayed(await journalRecords(path))))}, ${allowed} allowed; it halts at ${haltsAt}` };
    } else if (spent.length > 0) {
      halt = { reason: "budget", detail: `shard(s) ${spent.map((s) => `${s.index}/${s.identity.of} (a share of ${s.identity.allowed})`).join(", ")} of wave ${wave + 1} spent their share of the failure budget and started no more hosts; ${failures} host(s) counted against the budget, ${allowed} allowed` };
    } else if (!lastWave && plan.rollout.gate.checks.length > 0) {
      const verdicts = shards.map((s) => ({ s, gate: s.records.findLast((r) => r.type === "gate") }));
      const bad = verdicts.filter((v) => v.gate?.type !== "gate" || !v.gate.ok);
      const detail = bad.length === 0 ? `the gate passed on every shard (${shards.length})` : bad.map((v) => `shard ${v.s.index}/${v.s.identity.of}: ${v.gate?.type === "gate" ? v.gate.detail : "no gate verdict"}`).join("; ");
      await at(null, { type: "gate", wave, ok: bad.length === 0, detail });
      if (bad.length > 0 || gated.length > 0) halt = { reason: "gate", detail: `the gate after wave ${wave + 1} failed: ${detail}` };
    } else if (gated.length > 0) halt = { reason: "gate", detail: `the gate after wave ${wave + 1} failed on shard(s) ${gated.map((s) => s.index).join(", ")}` };
    const windowClosed = copied.find((r) => r.type === "window-close");
    const ended = halt !== null || windowClosed !== undefined || lastWave;
    if (ended) {
      const outcome: HostOutcome = halt?.reason === "signal" ? "not-started:signal" : halt !== null ? "not-started:budget" : "not-started:window";
      const detail = halt?.detail ?? (windowClosed?.type === "window-close" ? windowClosed.detail : "");
      for (const later of plan.rollout.waves.slice(wave + 1)) {
        for (const name of later.hosts) await at(null, { type: "host-end", host: name, result: { host: name, wave: later.index, outcome, detail, startedAt: null, finishedAt: null, steps: [] } });
      }
    } else {
      const ms = plan.rollout.gate.pause === null ? 0 : (parseDuration(plan.rollout.gate.pause) ?? 0);
      if (ms > 0) {
        await at(null, { type: "pause", wave, ms, until: new Date(Date.now() + ms).toISOString() });
        await (o.sleep ?? ((n: number) => realSleep(n, new AbortController().signal)))(ms);
      }
    }
    const hosts = allHosts(plan, replayed(await journalRecords(path)));
    const status = runStatus(hosts, halt?.reason ?? null);
    const failuresNow = hosts.filter((h) => BUDGET_OUTCOMES.has(h.outcome)).length;
    let finishedAt = new Date().toISOString();
    if (ended) finishedAt = (await at(null, { type: "run-end", status, exitCode: status === "ok" ? 0 : status === "hosts-failed" ? 1 : 4, halt: halt?.reason ?? null })).time;
    await journal.close();
    const { records } = await readJournal(path);
    const results2 = runResults({ runId: o.runId, plan, startedAt: journal.startedAt || (records[0] as JournalRecord).time, finishedAt, status, halt, failures: failuresNow, resumes: 0, hosts });
    await writeResults(runDir, results2);
    const report = join(runDir, "report.md");
    const criticality = new Map(plan.hosts.map((h) => [h.name, h.criticality]));
    await writeFileAtomic(report, o.secrets.redact(renderRunReport({ plan, results: results2, journal: records, criticality, planFile })), { root: o.root });
    const approval = (await approvalFromActions(o.env)) ?? (await approvalFromHistory(o.root, isAbsolute(planFile) ? planFile : join(o.root, planFile)));
    const audit = await recordRun({ root: o.root, runDir, resumed: false, merged: true, planFile, approval, actor: actorOf(o.env), results: results2 });
    return { results: results2, wave, shards: shards.length, ended, audit, report, notes };
  } finally {
    await journal.close().catch(() => undefined);
  }
}

/** The run's journal so far (every append above was awaited, so it is on disk). */
async function journalRecords(path: string): Promise<JournalRecord[]> {
  return (await readJournal(path)).records;
}

/** Each host's latest result, replayed from the run's journal. */
function replayed(records: JournalRecord[]): Map<string, HostResult> {
  const state = replayJournal({ records, tornBytes: 0 });
  const out = new Map<string, HostResult>();
  for (const [name, h] of state.hosts) if (h.result !== null) out.set(name, h.result);
  return out;
}

/** The plan's hosts that have a result, in rollout order. */
function allHosts(plan: Plan, results: ReadonlyMap<string, HostResult>): HostResult[] {
  return plan.rollout.waves.flatMap((w) => w.hosts).flatMap((name) => {
    const r = results.get(name);
    return r === undefined ? [] : [r];
  });
}
