import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Journal } from "../../src/apply/journal.ts";
import type { HostOutcome, HostResult, RunHost, StepResult } from "../../src/apply/types.ts";
import type { Plan, PlannedHost } from "../../src/plan/types.ts";

/** Builders for the engine's inputs: a plan with only what the engine reads made up, and a scripted fleet. */

export interface HostSpec {
  name: string;
  wave: number;
  group?: string | null;
}

export interface PlanSpec {
  hosts: HostSpec[];
  concurrency?: number | null;
  groupConcurrency?: Record<string, number>;
  serial?: boolean;
  haltsAt?: number;
  gateChecks?: number;
  pause?: string | null;
  window?: { opens: string | null; closes: string | null } | null;
  steps?: number;
}

export const DIGEST = "d".repeat(64);

export function rolloutPlan(spec: PlanSpec): Plan {
  const steps = Array.from({ length: spec.steps ?? 2 }, (_, i) => ({ name: `s${i + 1}`, kind: "command" as const, command: "true" }));
  const waveCount = Math.max(...spec.hosts.map((h) => h.wave)) + 1;
  const hosts: PlannedHost[] = spec.hosts.map((h, i) => ({
    name: h.name,
    wave: h.wave,
    position: i + 1,
    criticality: "medium",
    orderGroup: h.group ?? null,
    groups: h.group ? [h.group] : [],
    os: "debian 12",
    packageManager: "apt",
    factsGatheredAt: "2026-11-24T01:00:00.000Z",
    factsDigest: "f".repeat(64),
    actions: steps.map((s, index) => ({ step: s.name, index, kind: "command" as const })),
    upgrades: 0,
    rebootExpected: false,
  }));
  let total = 0;
  const waves = Array.from({ length: waveCount }, (_, index) => {
    const names = hosts.filter((h) => h.wave === index).map((h) => h.name);
    total += names.length;
    return { index, spec: names.length, total, size: names.length, hosts: names };
  });
  const haltsAt = spec.haltsAt ?? 1;
  return {
    format: 5,
    id: "patches-20261124T0100-dddddddddddd",
    digest: DIGEST,
    createdAt: "2026-11-24T01:00:00.000Z",
    toolVersion: "0.1.0",
    fingerprint: "e".repeat(64),
    inputs: { files: [] },
    runbook: { name: "patches", file: "runbooks/patches.yaml", targets: "all", vars: {}, steps },
    limit: null,
    window: spec.window === undefined || spec.window === null ? null : { timezone: "UTC", days: ["tue"], start: "02:00", duration: "3h", opens: spec.window.opens, closes: spec.window.closes, openAtPlanTime: true },
    policy: {} as Plan["policy"],
    rollout: {
      hostCount: hosts.length,
      order: [...new Set(hosts.map((h) => h.orderGroup).filter((g): g is string => g !== null))],
      serialWithinGroup: spec.serial ?? false,
      failureBudget: { spec: haltsAt - 1, allowed: haltsAt - 1, haltsAt },
      concurrency: { spec: spec.concurrency ?? null, hosts: spec.concurrency ?? null },
      groupConcurrency: spec.groupConcurrency ?? {},
      gate: { checks: Array.from({ length: spec.gateChecks ?? 0 }, () => ({ type: "load" as const, max_per_cpu: 4 })), pause: spec.pause ?? null },
      waves,
    },
    hosts,
    skipped: [],
    summary: { targeted: hosts.length, selected: hosts.length, planned: hosts.length, skipped: 0, waves: waves.map((w) => w.size), upgrades: 0, rebootsExpected: 0, skippedByReason: {}, excludedByReason: {} },
  };
}

/** What one host does under the fake runner: its outcome, and how long each step takes. */
export interface HostScript {
  outcome?: HostOutcome;
  stepMs?: number;
  /** Per step name, overriding stepMs. */
  stepMsBy?: Record<string, number>;
}

/**
 * A host runner that runs the plan's steps as delays, journals each through the
 * HostJournal, honours both stop signals, and measures how many hosts (and of each
 * group) are in flight at once.
 */
export class FakeFleet {
  inFlight = 0;
  maxInFlight = 0;
  readonly groupInFlight = new Map<string, number>();
  readonly maxGroup = new Map<string, number>();
  /** Host names in the order they started / ended. */
  readonly started: string[] = [];
  readonly ended: string[] = [];
  /** Every step actually run, as `host/step`. */
  readonly stepsRun: string[] = [];
  /** Steps the journal handed over as started-but-unrecorded (a real runner re-judges them), as `host/step`. */
  readonly pendingSeen: string[] = [];
  /** Called when a host starts (tests use it to move a clock or send a stop). */
  onStart: (host: PlannedHost) => void = () => undefined;

  constructor(
    readonly plan: Plan,
    readonly scripts: Record<string, HostScript> = {},
    readonly defaultStepMs = 5,
  ) {}

  readonly runHost: RunHost = async (host, stop, journal, abort) => {
    const group = host.orderGroup;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (group !== null) {
      const n = (this.groupInFlight.get(group) ?? 0) + 1;
      this.groupInFlight.set(group, n);
      this.maxGroup.set(group, Math.max(this.maxGroup.get(group) ?? 0, n));
    }
    this.started.push(host.name);
    this.onStart(host);
    const script = this.scripts[host.name] ?? {};
    const startedAt = new Date().toISOString();
    const steps: StepResult[] = [];
    let outcome: HostOutcome = script.outcome ?? "changed";
    let detail = "done";
    try {
      for (const [i, action] of host.actions.entries()) {
        const done = journal.completed.get(action.step);
        if (done !== undefined) {
          steps.push(done);
          continue;
        }
        if (stop.aborted) {
          outcome = "interrupted";
          detail = `stopped before ${action.step}`;
          break;
        }
        if (journal.pending.has(action.step)) this.pendingSeen.push(`${host.name}/${action.step}`);
        await journal.intent({ step: action.step, kind: action.kind });
        this.stepsRun.push(`${host.name}/${action.step}`);
        const t0 = Date.now();
        await delay(script.stepMsBy?.[action.step] ?? script.stepMs ?? this.defaultStepMs, abort);
        if (abort.aborted) {
          outcome = "interrupted";
          detail = `stopped at once during ${action.step}`;
          break;
        }
        const last = i === host.actions.length - 1;
        const failed = last && (outcome === "failed" || outcome === "unreachable");
        const result: StepResult = { step: action.step, kind: action.kind, outcome: failed ? "failed" : "changed", startedAt: new Date(t0).toISOString(), finishedAt: new Date().toISOString(), durationMs: Date.now() - t0, detail: failed ? "exit 1" : "ok", exitCode: failed ? 1 : 0 };
        await journal.outcome(result);
        steps.push(result);
      }
    } finally {
      this.inFlight -= 1;
      if (group !== null) this.groupInFlight.set(group, (this.groupInFlight.get(group) ?? 1) - 1);
      this.ended.push(host.name);
    }
    const result: HostResult = { host: host.name, wave: host.wave, outcome, detail, startedAt, finishedAt: new Date().toISOString(), steps };
    return result;
  };
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export async function newJournal(plan: Plan, runId = "run-1", dir?: string): Promise<Journal> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), "steward-engine-")));
  return Journal.create(join(root, runId, "journal.jsonl"), { runId, planId: plan.id, planDigest: plan.digest });
}

/** The rollout the kill-and-resume test runs, in a child process and then in the test: both must build the same plan. */
export function resumePlan(): Plan {
  return rolloutPlan({ hosts: [0, 0, 1, 1, 1, 1].map((wave, i) => ({ name: `h0${i + 1}`, wave })), concurrency: 2, haltsAt: 2, steps: 3 });
}
