/**
 * What the merge of one wave writes to the run's journal, and its verdict, decided in
 * memory (a pure function) from the wave's shards (merge-read.ts) and the run's journal
 * before the wave. The records are listed in merge.ts's module comment; the verdicts, in
 * order: a shard stopped by a signal (merged with acceptStopped) halts the run (signal);
 * the run's cumulative failures reaching `haltsAt` halt it (budget), as does a shard
 * that spent its share of the budget and so left hosts of the wave unstarted (budget:
 * more conservative than one runner, which would have started them while the whole was
 * within budget), and a failing gate on any shard (gate). A halted run's hosts of later
 * waves are `not-started:budget` (or `:signal`), a closed window's `not-started:window`,
 * and the run ends; otherwise the gate's pause is to be waited out before the next wave.
 *
 * The same shards and journal always give the same records, but for what is the merge's
 * own: the time of the records it makes (null in a BlockEntry), the pid and machine of
 * run-start and shard-merge, and a pause's `until`. So a merge that finds the wave's
 * records already in the journal (written by a merge killed before it recorded them)
 * can tell whether they are exactly these (sameRecords) and complete that merge.
 */
import { hostname } from "node:os";
import type { HaltReason } from "../../core/events.ts";
import { parseDuration } from "../../core/duration.ts";
import type { Plan } from "../../plan/types.ts";
import type { JournalBody, JournalRecord } from "../journal-records.ts";
import { replayJournal } from "../journal-replay.ts";
import { budgetCount, runStatus } from "../results.ts";
import { BUDGET_OUTCOMES, type HostOutcome, type HostResult } from "../types.ts";
import type { ReadShard } from "./merge-read.ts";

/** One record the merge writes: its body and time; `time` null is the merge's own clock. */
export interface BlockEntry {
  time: string | null;
  body: JournalBody;
}

export interface WaveDecision {
  /** The wave's records, in order (for wave 0, run-start first). */
  block: BlockEntry[];
  halt: { reason: HaltReason; detail: string } | null;
  /** True when the run ends with this wave (the last wave, a halt, or a closed window). */
  ended: boolean;
}

export interface WaveInput {
  plan: Plan;
  runId: string;
  /** 0-based. */
  wave: number;
  shards: readonly ReadShard[];
  /** The run's journal before this wave ([] for wave 0). */
  before: readonly JournalRecord[];
  /** Failures the budget counted before this wave (the merged state). */
  failuresBefore: number;
  /** ISO 8601 UTC: the merge's clock, stamped on its own records and the start of a pause. */
  now: string;
}

/** Host records a shard's journal passes to the run's journal. */
const COPIED: ReadonlySet<JournalRecord["type"]> = new Set<JournalRecord["type"]>(["host-start", "host-wait", "step-intent", "step-outcome", "host-end", "window-close", "signal"]);

/** Decides wave `wave`'s records and verdict; see the module comment. Pure. */
export function decideWave(i: WaveInput): WaveDecision {
  const { plan, wave, shards } = i;
  const block: BlockEntry[] = [];
  const push = (time: string | null, body: JournalBody): void => void block.push({ time, body });
  /** The journal as it would read after the records decided so far. */
  const soFar = (): JournalRecord[] => [...i.before, ...block.map((e) => ({ seq: 0, prev: "", time: e.time ?? i.now, ...e.body }) as JournalRecord)];
  const first = (s: ReadShard): string => (s.records[0] as JournalRecord).time;
  const last = (s: ReadShard): string => (s.records.at(-1) as JournalRecord).time;
  const startTime = shards.map(first).sort()[0] as string;
  if (wave === 0) {
    const override = shards.map((s) => s.records[0]).find((r) => r?.type === "run-start" && r.clockOverride !== undefined);
    push(startTime, { type: "run-start", runId: i.runId, planId: plan.id, planDigest: plan.digest, pid: process.pid, machine: hostname(), ...(override?.type === "run-start" && override.clockOverride !== undefined ? { clockOverride: override.clockOverride } : {}) });
  }
  const w = plan.rollout.waves[wave] as Plan["rollout"]["waves"][number];
  push(startTime, { type: "wave-start", wave, hosts: [...w.hosts] });
  const copied = interleave(shards);
  for (const r of copied) {
    const { seq: _seq, time, prev: _prev, ...body } = r;
    push(time, body as JournalBody);
  }
  const results = new Map<string, HostResult>();
  for (const s of shards) for (const [name, h] of s.hosts) results.set(name, h);
  const counts: Partial<Record<HostOutcome, number>> = {};
  for (const name of w.hosts) {
    const outcome = results.get(name)?.outcome;
    if (outcome !== undefined) counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  push(shards.map(last).sort().at(-1) as string, { type: "wave-end", wave, counts });
  push(null, { type: "shard-merge", wave, of: shards.length, pid: process.pid, machine: hostname(), shards: shards.map((s) => ({ index: s.index, folder: s.folder, status: s.status, hosts: s.hosts.size, failures: [...s.hosts.values()].filter((h) => BUDGET_OUTCOMES.has(h.outcome)).length, files: s.files })) });

  const failures = i.failuresBefore + [...results.values()].filter((h) => BUDGET_OUTCOMES.has(h.outcome)).length;
  const { allowed, haltsAt } = plan.rollout.failureBudget;
  const lastWave = wave === plan.rollout.waves.length - 1;
  const byStatus = (status: string): ReadShard[] => shards.filter((s) => s.status === status);
  let halt: WaveDecision["halt"] = null;
  const signalled = byStatus("halted:signal");
  // A shard that spent its share halts the run only when it left hosts unstarted: then
  // part of the wave stopped as a tripped budget stops, and so does the rollout.
  const spent = byStatus("halted:budget").filter((s) => [...s.hosts.values()].some((h) => h.outcome === "not-started:budget"));
  const gated = byStatus("halted:gate");
  if (signalled.length > 0) halt = { reason: "signal", detail: `shard(s) ${signalled.map((s) => `${s.index}/${s.identity.of}`).join(", ")} of wave ${wave + 1} were stopped by a signal` };
  else if (failures >= haltsAt) {
    const failing = copied.filter((r) => r.type === "host-end" && BUDGET_OUTCOMES.has(r.result.outcome)).at(-1);
    push(null, { type: "budget-trip", failures, haltsAt, host: failing?.type === "host-end" ? failing.host : "" });
    halt = { reason: "budget", detail: `the failure budget is exhausted: ${budgetCount(failures, allHosts(plan, replayed(soFar())))}, ${allowed} allowed; it halts at ${haltsAt}` };
  } else if (spent.length > 0) {
    halt = { reason: "budget", detail: `shard(s) ${spent.map((s) => `${s.index}/${s.identity.of} (a share of ${s.identity.allowed})`).join(", ")} of wave ${wave + 1} spent their share of the failure budget and started no more hosts; ${failures} host(s) counted against the budget, ${allowed} allowed` };
  } else if (!lastWave && plan.rollout.gate.checks.length > 0) {
    const verdicts = shards.map((s) => ({ s, gate: s.records.findLast((r) => r.type === "gate") }));
    const bad = verdicts.filter((v) => v.gate?.type !== "gate" || !v.gate.ok);
    const detail = bad.length === 0 ? `the gate passed on every shard (${shards.length})` : bad.map((v) => `shard ${v.s.index}/${v.s.identity.of}: ${v.gate?.type === "gate" ? v.gate.detail : "no gate verdict"}`).join("; ");
    push(null, { type: "gate", wave, ok: bad.length === 0, detail });
    if (bad.length > 0 || gated.length > 0) halt = { reason: "gate", detail: `the gate after wave ${wave + 1} failed: ${detail}` };
  } else if (gated.length > 0) halt = { reason: "gate", detail: `the gate after wave ${wave + 1} failed on shard(s) ${gated.map((s) => s.index).join(", ")}` };
  const windowClosed = copied.find((r) => r.type === "window-close");
  const ended = halt !== null || windowClosed !== undefined || lastWave;
  if (ended) {
    const outcome: HostOutcome = halt?.reason === "signal" ? "not-started:signal" : halt !== null ? "not-started:budget" : "not-started:window";
    const detail = halt?.detail ?? (windowClosed?.type === "window-close" ? windowClosed.detail : "");
    for (const later of plan.rollout.waves.slice(wave + 1)) {
      for (const name of later.hosts) push(null, { type: "host-end", host: name, result: { host: name, wave: later.index, outcome, detail, startedAt: null, finishedAt: null, steps: [] } });
    }
    const hosts = allHosts(plan, replayed(soFar()));
    const status = runStatus(hosts, halt?.reason ?? null);
    push(null, { type: "run-end", status, exitCode: status === "ok" ? 0 : status === "hosts-failed" ? 1 : 4, halt: halt?.reason ?? null });
  } else {
    const ms = plan.rollout.gate.pause === null ? 0 : (parseDuration(plan.rollout.gate.pause) ?? 0);
    if (ms > 0) push(null, { type: "pause", wave, ms, until: new Date(Date.parse(i.now) + ms).toISOString() });
  }
  return { block, halt, ended };
}

/**
 * True when the journal's `records` are exactly the `block` decided (same order, same
 * bodies and times), but for what is the merge's own (module comment). `prefix`: true
 * when `records` may also be a beginning of `block` (a merge killed while it appended).
 */
export function sameRecords(records: readonly JournalRecord[], block: readonly BlockEntry[], prefix = false): boolean {
  if (records.length > block.length || (!prefix && records.length !== block.length)) return false;
  return records.every((r, k) => {
    const e = block[k] as BlockEntry;
    const { seq: _seq, prev: _prev, time, ...body } = r;
    return (e.time === null || e.time === time) && stable(ownless(body as JournalBody)) === stable(ownless(e.body));
  });
}

/** A body without what is the merge's own: pid and machine of run-start and shard-merge, a pause's end. */
function ownless(body: JournalBody): unknown {
  if (body.type === "run-start" || body.type === "shard-merge") return { ...body, pid: 0, machine: "" };
  if (body.type === "pause") return { ...body, until: "" };
  return body;
}

/** JSON with every object's keys sorted, so member order never decides a comparison. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
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

/** Each host's latest result, replayed from journal records. */
export function replayed(records: readonly JournalRecord[]): Map<string, HostResult> {
  const state = replayJournal({ records: [...records], tornBytes: 0 });
  const out = new Map<string, HostResult>();
  for (const [name, h] of state.hosts) if (h.result !== null) out.set(name, h.result);
  return out;
}

/** The plan's hosts that have a result, in rollout order. */
export function allHosts(plan: Plan, results: ReadonlyMap<string, HostResult>): HostResult[] {
  return plan.rollout.waves.flatMap((w) => w.hosts).flatMap((name) => {
    const r = results.get(name);
    return r === undefined ? [] : [r];
  });
}
