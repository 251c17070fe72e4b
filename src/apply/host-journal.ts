/**
 * The per-host view of the journal that the engine hands to runHost, and how a host's
 * steps from several attempts (a run, then its resumes) become one list.
 */
import type { ApplyEvent } from "../core/events.ts";
import { StewardError } from "../core/errors.ts";
import type { Plan, PlannedHost } from "../plan/types.ts";
import type { JournalBody, JournalRecord } from "./journal-records.ts";
import type { ReplayedHost } from "./journal-replay.ts";
import type { HostJournal, StepResult } from "./types.ts";

export interface HostJournalWiring {
  append(body: JournalBody): Promise<JournalRecord>;
  emit(event: ApplyEvent): void;
  /** True once the engine recorded the host's end: later step records are refused. */
  ended(host: string): boolean;
}

/**
 * A HostJournal for `host`: step records go to the run's journal, then out as events
 * (an event is emitted only once its record is durable).
 */
export function hostJournal(host: PlannedHost, previous: ReplayedHost | undefined, wiring: HostJournalWiring): HostJournal {
  const late = (what: string) => new StewardError("internal", `${host.name}: a step ${what} came after the host was recorded as ended (after a hard stop, the runner did not return in time)`);
  return {
    completed: previous?.completed ?? new Map(),
    pending: previous?.pending ?? new Map(),
    intent: async (s) => {
      if (wiring.ended(host.name)) throw late("intent");
      const r = await wiring.append({ type: "step-intent", host: host.name, step: s.step, kind: s.kind, ...(s.evidence === undefined ? {} : { evidence: s.evidence }) });
      wiring.emit({ type: "step-start", time: r.time, host: host.name, step: s.step, kind: s.kind });
    },
    outcome: async (result) => {
      if (wiring.ended(host.name)) throw late("outcome");
      const r = await wiring.append({ type: "step-outcome", host: host.name, result });
      wiring.emit({ type: "step-end", time: r.time, host: host.name, result });
    },
  };
}

/** Steps of earlier attempts (resume) then this attempt's, one per step name (the latest wins), in the runbook's order. */
export function mergeSteps(plan: Plan, earlier: ReadonlyMap<string, StepResult> | undefined, now: readonly StepResult[]): StepResult[] {
  const byName = new Map(earlier ?? []);
  for (const s of now) byName.set(s.step, s);
  const order = new Map(plan.runbook.steps.map((s, i) => [s.name, i]));
  return [...byName.values()].sort((a, b) => (order.get(a.step) ?? Infinity) - (order.get(b.step) ?? Infinity));
}
