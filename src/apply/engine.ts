/**
 * The fleet-level engine of `steward apply`: which host starts when, and what stops
 * the rollout. How one host is run is injected (`runHost`, src/apply/host-runner.ts).
 *
 * Guarantees (README, "Runbooks" and "Apply"):
 * - Waves run in order; a wave starts once every host of the one before ended and
 *   its gate passed (and its pause elapsed).
 * - Within a wave hosts start in plan order. At most `concurrency` hosts are in
 *   flight, at most `group_concurrency[g]` of group g, and one of a group when
 *   `serial_within_group`. A host that must wait holds back the hosts after it, so
 *   the `order` of groups is kept.
 * - The failure budget is cumulative (resumed failures count): when the failures
 *   (outcomes in BUDGET_OUTCOMES) reach `haltsAt`, no host starts any more, hosts in
 *   flight finish, every remaining host is `not-started:budget`; the run is halted.
 *   A failing gate halts the same way.
 * - The window is checked at every host start: none starts outside it
 *   (`not-started:window`, every remaining host); hosts in flight finish.
 * - A stop request (StopController) is graceful first (no new host; in-flight hosts
 *   finish their current step; remaining hosts `not-started:signal`), hard second
 *   (hosts get `hardStopGraceMs` to return, then are recorded `interrupted`).
 * - Every decision is journaled before the engine acts on it; results.json is written
 *   at the end. A resume (`resume`: the replayed journal) runs only the hosts without
 *   a final outcome, and passes each host's completed and pending steps to runHost.
 */
import { dirname } from "node:path";
import { parseDuration } from "../core/duration.ts";
import { StewardError } from "../core/errors.ts";
import { EventEmitter, type ApplyEvent, type HaltReason } from "../core/events.ts";
import type { Plan, PlannedHost, PlanWave } from "../plan/types.ts";
import { sleep } from "../core/sleep.ts";
import { hostJournal, mergeSteps } from "./host-journal.ts";
import type { Journal } from "./journal.ts";
import type { JournalBody } from "./journal-records.ts";
import type { ReplayState, ReplayedHost } from "./journal-replay.ts";
import { budgetCount, exitCodeFor, runResults, runStatus, writeResults, type RunResults } from "./results.ts";
import { StopController } from "./stop.ts";
import { BUDGET_OUTCOMES, type HostOutcome, type HostResult, type RunHost } from "./types.ts";
import { Wakeup } from "./wakeup.ts";
import { WindowGuard } from "./window-guard.ts";

/** A gate's verdict on a finished wave. */
export interface GateResult {
  ok: boolean;
  /** One line: which check failed on which host, or what passed. */
  detail: string;
}

/** Runs the gate's checks on the hosts of a finished wave; aborted by a hard stop. */
export type RunGate = (wave: PlanWave, hosts: readonly PlannedHost[], results: readonly HostResult[], signal: AbortSignal) => Promise<GateResult>;

export interface EngineOptions {
  plan: Plan;
  /** The run's journal, open (Journal.create or Journal.resume); the engine closes it at the end. */
  journal: Journal;
  runHost: RunHost;
  /** Called between waves when the plan has gate checks; without it such a plan's gates fail. */
  runGate?: RunGate;
  /** The replayed journal of the run being resumed. */
  resume?: ReplayState;
  /** The clock for window checks (like plan's --now); defaults to the system clock. */
  now?: () => Date;
  events?: EventEmitter<ApplyEvent>;
  stop?: StopController;
  /** Waits `ms` unless `signal` aborts first (gate pauses); injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** After the hard stop, how long hosts in flight get to return before they are recorded as interrupted. */
  hardStopGraceMs?: number;
  /**
   * One shard of one wave (`--shard`): the gate's checks also run after the last (only)
   * wave, without its pause, so the merge reads each shard's verdict on its own hosts.
   */
  gateLastWave?: boolean;
  /** Write summary.json with results.json (default); false for a shard, whose results reports never read. */
  summary?: boolean;
}

/**
 * Applies the plan's waves (see the module comment), writes runs/<run-id>/results.json
 * next to the journal, and returns the results.
 * @throws StewardError (stale-plan) when `resume` is the journal of another plan.
 * @throws EnvironmentError when the journal or results cannot be written: the run then
 *   stops starting hosts, and the hosts in flight are stopped.
 */
export async function runEngine(options: EngineOptions): Promise<RunResults> {
  const { plan, resume } = options;
  if (resume !== undefined && (resume.planDigest !== plan.digest || resume.planId !== plan.id)) {
    throw new StewardError("stale-plan", `run ${resume.runId} applies plan ${resume.planId}, not ${plan.id}`, `resume it with the plan it was started with (digest ${resume.planDigest.slice(0, 12)})`);
  }
  return new Rollout(options).run();
}

interface InFlight {
  host: PlannedHost;
  done: Promise<void>;
}

/** How long hosts get to return after a journal failure or a hard stop, by default. */
const DEFAULT_GRACE_MS = 5000;

class Rollout {
  readonly #o: EngineOptions;
  readonly #journal: Journal;
  readonly #events: EventEmitter<ApplyEvent>;
  readonly #stop: StopController;
  readonly #now: () => Date;
  readonly #window: WindowGuard;
  readonly #results = new Map<string, HostResult>();
  readonly #inFlight = new Map<string, InFlight>();
  readonly #groupInFlight = new Map<string, number>();
  /** Journal appends not awaited where they were made (signal records); awaited before run-end. */
  readonly #background = new Set<Promise<unknown>>();
  #failures: number;
  #halt: { reason: HaltReason; detail: string } | null = null;
  #fatal: unknown = undefined;
  readonly #wakeup = new Wakeup();

  constructor(o: EngineOptions) {
    this.#o = o;
    this.#journal = o.journal;
    this.#events = o.events ?? new EventEmitter<ApplyEvent>();
    this.#stop = o.stop ?? new StopController();
    this.#now = o.now ?? (() => new Date());
    this.#window = new WindowGuard(o.plan.window, this.#now);
    this.#failures = o.resume?.failures ?? 0;
    for (const name of o.resume?.finished ?? []) {
      const result = o.resume?.hosts.get(name)?.result;
      if (result) this.#results.set(name, result);
    }
  }

  async run(): Promise<RunResults> {
    const { plan } = this.#o;
    const hosts = new Map(plan.hosts.map((h) => [h.name, h]));
    // Checked before anything starts: a wave naming an unknown host is a damaged plan.
    const waves = plan.rollout.waves.map((wave) => ({
      wave,
      members: wave.hosts.map((name) => {
        const h = hosts.get(name);
        if (h === undefined) throw new StewardError("stale-plan", `plan ${plan.id}: wave ${wave.index + 1} names host ${name}, which the plan does not list`, "re-plan");
        return h;
      }),
    }));
    this.#emit({ type: "run-start", time: this.#now().toISOString(), runId: this.#journal.runId, planId: plan.id, hosts: plan.hosts.length, waves: plan.rollout.waves.length, resumed: this.#o.resume !== undefined, failuresCarried: this.#failures });
    const onStop = (mode: "graceful" | "hard") => () => this.#onStop(mode);
    const graceful = onStop("graceful");
    const hard = onStop("hard");
    this.#stop.stop.addEventListener("abort", graceful, { once: true });
    this.#stop.abort.addEventListener("abort", hard, { once: true });
    try {
      if (this.#stop.stop.aborted) graceful();
      if (this.#stop.abort.aborted) hard();
      if (this.#failures >= plan.rollout.failureBudget.haltsAt) this.#haltFor("budget", this.#budgetDetail());
      for (const [i, { wave, members }] of waves.entries()) {
        await this.#runWave(wave, members);
        if (i < waves.length - 1) await this.#between(wave, members);
        else if (this.#o.gateLastWave === true) await this.#between(wave, members, false);
      }
    } catch (error) {
      this.#fatal ??= error;
    } finally {
      this.#stop.stop.removeEventListener("abort", graceful);
      this.#stop.abort.removeEventListener("abort", hard);
    }
    if (this.#fatal !== undefined) {
      // The journal cannot be trusted to record more (or the engine failed): stop the hosts at once.
      this.#stop.request("engine-failure");
      this.#stop.request("engine-failure");
      await this.#settle(this.#o.hardStopGraceMs ?? DEFAULT_GRACE_MS);
      await this.#journal.close().catch(() => undefined);
      throw this.#fatal;
    }
    return this.#finish();
  }

  async #finish(): Promise<RunResults> {
    const { plan } = this.#o;
    await Promise.all(this.#background);
    const ordered = plan.rollout.waves.flatMap((w) => w.hosts).map((name) => {
      const r = this.#results.get(name);
      if (r === undefined) throw new Error(`engine: host ${name} ended without a result (a bug in steward)`);
      return r;
    });
    const status = runStatus(ordered, this.#halt?.reason ?? null);
    const exitCode = exitCodeFor(status);
    const end = await this.#append({ type: "run-end", status, exitCode, halt: this.#halt?.reason ?? null });
    await this.#journal.close();
    const results = runResults({ runId: this.#journal.runId, plan, startedAt: this.#journal.startedAt, finishedAt: end.time, status, halt: this.#halt, failures: this.#failures, resumes: (this.#o.resume?.resumes ?? -1) + 1, hosts: ordered });
    await writeResults(dirname(this.#journal.path), results, { summary: this.#o.summary !== false });
    this.#emit({ type: "run-end", time: end.time, status, exitCode, halt: this.#halt?.reason ?? null });
    return results;
  }

  async #runWave(wave: PlanWave, members: readonly PlannedHost[]): Promise<void> {
    const queue = members.filter((h) => !this.#results.has(h.name));
    if (queue.length === 0) return;
    const blocked = await this.#blocked();
    if (blocked !== null) {
      for (const h of queue) await this.#notStarted(h, blocked);
      return;
    }
    const start = await this.#append({ type: "wave-start", wave: wave.index, hosts: queue.map((h) => h.name) });
    this.#emit({ type: "wave-start", time: start.time, wave: wave.index, hosts: queue.map((h) => h.name) });
    while (queue.length > 0 || this.#inFlight.size > 0) {
      while (queue.length > 0 && this.#fatal === undefined) {
        const next = queue[0] as PlannedHost;
        const blocked = await this.#blocked();
        if (blocked !== null) {
          for (const h of queue.splice(0)) await this.#notStarted(h, blocked);
          break;
        }
        if (!this.#canStart(next)) break;
        queue.shift();
        this.#start(next);
      }
      if (this.#fatal !== undefined) throw this.#fatal;
      if (this.#inFlight.size === 0) break;
      await this.#wakeup.next();
      if (this.#stop.abort.aborted) await this.#hardStop();
    }
    const counts: Partial<Record<HostOutcome, number>> = {};
    for (const h of members) {
      const outcome = this.#results.get(h.name)?.outcome;
      if (outcome !== undefined) counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    const end = await this.#append({ type: "wave-end", wave: wave.index, counts });
    this.#emit({ type: "wave-end", time: end.time, wave: wave.index, counts });
  }

  /** The gate and pause after a wave, unless the rollout is already halted or the gate passed before a resume. */
  async #between(wave: PlanWave, members: readonly PlannedHost[], pause = true): Promise<void> {
    const { plan, runGate } = this.#o;
    if (this.#halt !== null || this.#window.closed !== null || this.#o.resume?.gatesPassed.has(wave.index)) return;
    if (plan.rollout.gate.checks.length > 0) {
      let verdict: GateResult;
      try {
        verdict = runGate === undefined ? { ok: false, detail: "the plan has gate checks and no gate runner was given" } : await runGate(wave, members, members.map((h) => this.#results.get(h.name) as HostResult), this.#stop.abort);
      } catch (error) {
        verdict = { ok: false, detail: `the gate could not run: ${error instanceof Error ? error.message : String(error)}` };
      }
      const record = await this.#append({ type: "gate", wave: wave.index, ok: verdict.ok, detail: verdict.detail });
      this.#emit({ type: "gate", time: record.time, wave: wave.index, ok: verdict.ok, detail: verdict.detail });
      if (!verdict.ok) {
        this.#haltFor("gate", `the gate after wave ${wave.index + 1} failed: ${verdict.detail}`);
        return;
      }
    }
    const ms = plan.rollout.gate.pause === null || !pause ? 0 : (parseDuration(plan.rollout.gate.pause) ?? 0);
    if (ms > 0 && !this.#stop.stop.aborted) {
      const until = new Date(this.#now().getTime() + ms).toISOString();
      const record = await this.#append({ type: "pause", wave: wave.index, ms, until });
      this.#emit({ type: "pause", time: record.time, wave: wave.index, ms, until });
      await (this.#o.sleep ?? sleep)(ms, this.#stop.stop);
    }
  }

  #canStart(host: PlannedHost): boolean {
    const { concurrency, groupConcurrency, serialWithinGroup } = this.#o.plan.rollout;
    if (concurrency.hosts !== null && this.#inFlight.size >= concurrency.hosts) return false;
    const group = host.orderGroup;
    if (group === null) return true;
    const cap = Math.min(serialWithinGroup ? 1 : Infinity, groupConcurrency[group] ?? Infinity);
    return (this.#groupInFlight.get(group) ?? 0) < cap;
  }

  #start(host: PlannedHost): void {
    const group = host.orderGroup;
    if (group !== null) this.#groupInFlight.set(group, (this.#groupInFlight.get(group) ?? 0) + 1);
    const flight: InFlight = { host, done: Promise.resolve() };
    flight.done = this.#runOne(host)
      .catch((error: unknown) => {
        this.#fatal ??= error;
      })
      .finally(() => {
        // A hard stop may have let go of this host already (it did not return in time).
        if (this.#inFlight.get(host.name) === flight) this.#land(flight);
        this.#wakeup.notify();
      });
    this.#inFlight.set(host.name, flight);
  }

  /** The host no longer counts against the concurrency limits. */
  #land(flight: InFlight): void {
    this.#inFlight.delete(flight.host.name);
    const group = flight.host.orderGroup;
    if (group !== null) this.#groupInFlight.set(group, (this.#groupInFlight.get(group) ?? 1) - 1);
  }

  async #runOne(host: PlannedHost): Promise<void> {
    const previous = this.#o.resume?.hosts.get(host.name);
    const attempt = (previous?.attempts ?? 0) + 1;
    // Not waited for before the host starts (its connect overlaps the fsync): its first
    // step intent is appended after it, so is durable no earlier than this record.
    const started = this.#append({ type: "host-start", host: host.name, wave: host.wave, attempt }).then(
      (record) => this.#emit({ type: "host-start", time: record.time, host: host.name, wave: host.wave, attempt }),
      (error: unknown) => {
        throw (this.#fatal ??= error);
      },
    );
    started.catch(() => undefined);
    const startedAt = this.#now().toISOString();
    let result: HostResult;
    try {
      result = await this.#o.runHost(host, this.#stop.stop, hostJournal(host, previous, { append: (b) => this.#append(b), emit: (e) => this.#emit(e), ended: (name) => this.#results.has(name) }), this.#stop.abort);
      if (result.host !== host.name) throw new Error(`the host runner returned the result of ${result.host} for ${host.name}`);
    } catch (error) {
      if (this.#fatal !== undefined) throw this.#fatal;
      const message = error instanceof Error ? error.message : String(error);
      result = { host: host.name, wave: host.wave, outcome: "failed", detail: `the host runner failed (a bug in steward): ${message}`, startedAt, finishedAt: this.#now().toISOString(), steps: [] };
    }
    await started;
    // A hard stop may have recorded this host already, when it did not return in time.
    if (this.#results.has(host.name)) return;
    await this.#ended(host, result, previous);
  }

  /** Records a host's end: steps of earlier attempts kept, the budget counted. */
  async #ended(host: PlannedHost, result: HostResult, previous: ReplayedHost | undefined): Promise<void> {
    const merged: HostResult = { ...result, steps: mergeSteps(this.#o.plan, previous?.completed, result.steps) };
    this.#results.set(host.name, merged);
    const record = await this.#append({ type: "host-end", host: host.name, result: merged });
    this.#emit({ type: "host-end", time: record.time, host: host.name, result: merged });
    if (!BUDGET_OUTCOMES.has(merged.outcome)) return;
    this.#failures += 1;
    const { haltsAt } = this.#o.plan.rollout.failureBudget;
    if (this.#failures !== haltsAt) return;
    const trip = await this.#append({ type: "budget-trip", failures: this.#failures, haltsAt, host: host.name });
    this.#emit({ type: "budget", time: trip.time, failures: this.#failures, haltsAt, host: host.name });
    this.#haltFor("budget", this.#budgetDetail());
  }

  async #notStarted(host: PlannedHost, outcome: HostOutcome): Promise<void> {
    const detail = outcome === "not-started:window" ? (this.#window.closed ?? "") : (this.#halt?.detail ?? "");
    const previous = this.#o.resume?.hosts.get(host.name);
    await this.#ended(host, { host: host.name, wave: host.wave, outcome, detail, startedAt: null, finishedAt: null, steps: [] }, previous);
  }

  /** Why no host may start now, or null when one may. Journals the window's closing once. */
  async #blocked(): Promise<HostOutcome | null> {
    if (this.#halt !== null) return this.#halt.reason === "signal" ? "not-started:signal" : "not-started:budget";
    if (this.#window.closed !== null) return "not-started:window";
    const closed = this.#window.check();
    if (closed === null) return null;
    const record = await this.#append({ type: "window-close", closes: closed.closes, detail: closed.detail });
    this.#emit({ type: "window", time: record.time, closes: closed.closes, detail: closed.detail });
    return "not-started:window";
  }

  #haltFor(reason: HaltReason, detail: string): void {
    this.#halt ??= { reason, detail };
    this.#wakeup.notify();
  }

  #budgetDetail(): string {
    const { allowed, haltsAt } = this.#o.plan.rollout.failureBudget;
    return `the failure budget is exhausted: ${budgetCount(this.#failures, this.#results.values())}, ${allowed} allowed; it halts at ${haltsAt}`;
  }

  #onStop(mode: "graceful" | "hard"): void {
    const reason = this.#stop.reasons.at(mode === "graceful" ? 0 : 1) ?? mode;
    if (mode === "graceful") this.#haltFor("signal", `stopped by ${reason}: no host started after it; hosts in flight finished their current step`);
    const pending = this.#append({ type: "signal", mode, reason }).then((r) => this.#emit({ type: "signal", time: r.time, mode, reason }));
    const tracked = pending.catch((error: unknown) => {
      this.#fatal ??= error;
    });
    this.#background.add(tracked);
    this.#wakeup.notify();
  }

  /** After the hard stop: hosts get the grace period to return, then are recorded as interrupted. */
  async #hardStop(): Promise<void> {
    const grace = this.#o.hardStopGraceMs ?? DEFAULT_GRACE_MS;
    await this.#settle(grace);
    for (const f of [...this.#inFlight.values()]) {
      if (this.#results.has(f.host.name)) continue;
      const previous = this.#o.resume?.hosts.get(f.host.name);
      const detail = `stopped at once by a second signal; the runner did not return within ${grace} ms, so the step in flight has no recorded outcome (a resume re-judges it)`;
      this.#land(f);
      await this.#ended(f.host, { host: f.host.name, wave: f.host.wave, outcome: "interrupted", detail, startedAt: null, finishedAt: this.#now().toISOString(), steps: [] }, previous);
    }
  }

  /** Waits until every host in flight returned, or `ms` passed. */
  async #settle(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const flights = [...this.#inFlight.values()].map((f) => f.done);
    await Promise.race([Promise.allSettled(flights), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  #append(body: JournalBody) {
    return this.#journal.append(body);
  }

  #emit(event: ApplyEvent): void {
    this.#events.emit(event);
  }
}
