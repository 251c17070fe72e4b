/**
 * A small typed event emitter: the core emits what happens, the CLI decides how to
 * show it (a live view, plain lines, NDJSON). The core never prints.
 *
 * Listeners run synchronously, in the order they subscribed. A listener that throws is
 * a bug in the renderer, not in the run: the error goes to `onListenerError` (by default
 * rethrown on a later tick, so it surfaces as an internal error) and the other
 * listeners, and the emitting code, go on. A renderer must never be able to leave a
 * rollout half-recorded.
 */
import type { HostOutcome, HostResult, RunStatus, StepResult } from "../apply/types.ts";
import type { StepKind } from "../model/types.ts";

export interface TypedEvent {
  type: string;
}

export type Listener<E extends TypedEvent> = (event: E) => void;

export class EventEmitter<E extends TypedEvent> {
  readonly #listeners = new Set<Listener<E>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError?: (error: unknown) => void) {
    this.#onListenerError =
      onListenerError ??
      ((error) => {
        queueMicrotask(() => {
          throw error;
        });
      });
  }

  /** Subscribes `listener` to every event; returns the function that unsubscribes it. */
  on(listener: Listener<E>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls each listener with `event`; see the module comment for a listener that throws. */
  emit(event: E): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}

/** Why a rollout stopped starting hosts before the end. */
export type HaltReason = "budget" | "gate" | "signal";

/**
 * What `steward apply` reports while it runs. Times are ISO 8601 UTC. Each event that
 * matters after a crash is also a journal record (src/apply/journal-records.ts); the
 * events are for people watching, the journal for resuming and for the report.
 */
export type ApplyEvent =
  | { type: "run-start"; time: string; runId: string; planId: string; hosts: number; waves: number; resumed: boolean; failuresCarried: number }
  | { type: "wave-start"; time: string; wave: number; hosts: string[] }
  | { type: "wave-end"; time: string; wave: number; counts: Partial<Record<HostOutcome, number>> }
  | { type: "host-start"; time: string; host: string; wave: number; attempt: number }
  /** The host waits for another run that is changing it (README, "Apply": one run changes a host at a time). */
  | { type: "host-wait"; time: string; host: string; detail: string }
  | { type: "step-start"; time: string; host: string; step: string; kind: StepKind }
  | { type: "step-end"; time: string; host: string; result: StepResult }
  | { type: "host-end"; time: string; host: string; result: HostResult }
  | { type: "gate"; time: string; wave: number; ok: boolean; detail: string }
  | { type: "pause"; time: string; wave: number; ms: number; until: string }
  | { type: "budget"; time: string; failures: number; haltsAt: number; host: string }
  | { type: "window"; time: string; closes: string; detail: string }
  | { type: "signal"; time: string; mode: "graceful" | "hard"; reason: string }
  | { type: "run-end"; time: string; status: RunStatus; exitCode: number; halt: HaltReason | null };
