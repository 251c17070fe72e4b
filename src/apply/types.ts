/**
 * The apply stage's values: what happened to each host and step of a plan, as the
 * engine records them in the journal and in runs/<run-id>/results.json. Expected
 * outcomes are values, never exceptions; the engine, the step executors and the
 * report agree on these types only.
 */
import type { Session, Transport, HostTarget } from "../transport/types.ts";
import type { Step, StepKind } from "../model/types.ts";
import type { Plan, PlannedAction, PlannedHost } from "../plan/types.ts";

/**
 * One host's outcome in a run (README, "Apply"):
 * - `changed`: every step ran; at least one changed the host.
 * - `unchanged`: every step ran; none changed anything.
 * - `failed`: a step failed (and its `on_failure` was not `continue`), or a reboot never returned.
 * - `unreachable`: steward could not connect (or lost the connection before any change).
 * - `skipped:stale`: the host's facts moved since planning; nothing was changed.
 * - `cancelled:precheck`: a check before the first changing step failed; nothing was changed.
 * - `not-started:budget`: the failure budget (or a gate) halted the rollout before this host.
 * - `not-started:window`: the maintenance window had closed when this host's turn came.
 * - `interrupted`: a signal stopped the run while this host was in flight.
 * - `not-started:signal`: a stop was requested (SIGINT/SIGTERM) before this host's turn.
 */
export type HostOutcome =
  | "changed"
  | "unchanged"
  | "failed"
  | "unreachable"
  | "skipped:stale"
  | "cancelled:precheck"
  | "not-started:budget"
  | "not-started:window"
  | "interrupted"
  | "not-started:signal";

/** Outcomes that count against the failure budget. */
export const BUDGET_OUTCOMES: ReadonlySet<HostOutcome> = new Set<HostOutcome>(["failed", "unreachable", "cancelled:precheck"]);

/**
 * One step's outcome on one host. `unknown`: a step whose intent was journaled but
 * whose outcome was not (the runner died), and whose effect cannot be judged from the
 * host's state; it is left for a human (`--retry-unknown`).
 */
export type StepOutcome = "changed" | "unchanged" | "failed" | "skipped" | "unknown";

/** One package as observed after a package step: versions read back from the host, not as intended. */
export interface ObservedPackage {
  name: string;
  arch?: string;
  /** Version before the step; null when it was not installed. */
  from: string | null;
  /** Version after the step; null when it is not installed (removed). */
  to: string | null;
}

/** What one step did on one host. */
export interface StepResult {
  /** The step's name in the runbook. */
  step: string;
  kind: StepKind;
  outcome: StepOutcome;
  /** ISO 8601 UTC. */
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** One line for people: what was done or why it failed. Redacted. */
  detail: string;
  /** Exit status of the step's main command, when it has one; null when killed by a signal. */
  exitCode?: number | null;
  /** Last bytes of the main command's output, redacted and sanitised for display. */
  stdoutTail?: string;
  stderrTail?: string;
  /** Package steps: each package as observed afterwards. */
  packages?: ObservedPackage[];
  /** Kind-specific evidence (boot ids before and after a reboot, check readings, needrestart's report). */
  evidence?: Record<string, unknown>;
}

/** What an executor may use while it runs one step on one host. */
export interface StepContext {
  /** The plan being applied; read-only. */
  plan: Plan;
  /** The host as planned. */
  host: PlannedHost;
  /** The connection target of the host (for reconnecting after a reboot). */
  target: HostTarget;
  /** The run's transport: `connect(target)` again after a reboot. */
  transport: Transport;
  /** A session on the host; the executor may replace it after a reboot via `reconnect`. */
  session: Session;
  /** Closes the current session and opens a new one (after a reboot). */
  reconnect(): Promise<Session>;
  /** The step's full definition, templates unrendered. */
  step: Step;
  /** What the plan decided for this step on this host. */
  action: PlannedAction;
  /**
   * Renders one of the step's templates for this host (shell mode: every value quoted),
   * with `host.*`, `vars.*`, `run.*` and, for app-upgrade, `app.*`.
   * @throws TemplateRenderError naming the variable.
   */
  render(template: string, extra?: Record<string, unknown>): string;
  /** Aborted on the second SIGINT/SIGTERM: stop at once. */
  signal: AbortSignal;
  /** The step's time limit in ms (the step's `timeout`, else the kind's default). */
  timeoutMs: number;
  /**
   * The value of a step's `{ env: NAME }` field (a backup's password), registered for
   * redaction; undefined when the variable is not set (apply refuses that up front).
   */
  secret?(variable: string): string | undefined;
  /** What `IntentEvidence.intentEvidence` returned for this step, as its intent record holds it (a package job's id). */
  evidence?: Readonly<Record<string, unknown>>;
}

/**
 * The executing half of a step kind: runs the step on one host and judges the result.
 * Executors build commands and judge output the way drivers do (pure functions tested
 * on captured output); `execute` only runs them through `ctx.session`.
 */
export interface StepExecutor {
  kind: StepKind;
  /** Runs the step; expected failures are a `failed` result, never a throw. */
  execute(ctx: StepContext): Promise<StepResult>;
  /**
   * After a crash: judges from the host's state alone whether a step that was started
   * but never recorded had taken effect (packages: versions now; reboot: boot id;
   * command: its `creates`/`unless` guards). `unknown` when the state cannot tell.
   */
  rejudge(ctx: StepContext, intent: { startedAt: string; evidence?: Record<string, unknown> }): Promise<StepOutcome>;
}

/** One host's record in a run. */
export interface HostResult {
  host: string;
  wave: number;
  outcome: HostOutcome;
  /** Why, in one line: the failing step and its detail, what moved, which signal. */
  detail: string;
  startedAt: string | null;
  finishedAt: string | null;
  steps: StepResult[];
}

/**
 * Optional half of an executor (added for the host runner): evidence read from the host
 * just before the step runs, stored in the step's intent record so `rejudge` can
 * compare against it after a crash (reboot: the boot id before).
 */
export interface IntentEvidence {
  intentEvidence?(ctx: StepContext): Promise<Record<string, unknown>>;
}

/** Every host outcome, in the order results and reports list them. */
export const HOST_OUTCOMES: readonly HostOutcome[] = [
  "changed",
  "unchanged",
  "failed",
  "unreachable",
  "skipped:stale",
  "cancelled:precheck",
  "not-started:budget",
  "not-started:window",
  "not-started:signal",
  "interrupted",
];

/**
 * A run's overall status (results.json `status`) and its exit code:
 * `ok` 0; `hosts-failed` 1 (some hosts failed, were unreachable, cancelled, stale or
 * left out by the window, within the budget); `halted:*` 4.
 */
export type RunStatus = "ok" | "hosts-failed" | "halted:budget" | "halted:gate" | "halted:signal";

/** A step the journal shows as started: the intent record written before it ran. */
export interface StepIntent {
  step: string;
  kind: StepKind;
  /** ISO 8601 UTC: when the intent was recorded. */
  startedAt: string;
  /** What the executor saw before it started (a boot id, versions), for re-judging after a crash. */
  evidence?: Record<string, unknown>;
}

/**
 * The journal as one host's runner sees it. The runner calls `intent` before a step can
 * change anything and `outcome` once it is judged; each resolves only when the record
 * is on disk (fdatasync'd), so a crash leaves at most one step with an intent and no
 * outcome. Records go to disk in the order they were made: the runner waits for each
 * intent before its step starts, and lets an outcome share the fsync of the record
 * made after it (the next intent, or the engine's host-end).
 */
export interface HostJournal {
  /** Steps an earlier attempt of this run completed (resume), by step name: never run again. */
  readonly completed: ReadonlyMap<string, StepResult>;
  /** Steps an earlier attempt started and never recorded: re-judge them (StepExecutor.rejudge). */
  readonly pending: ReadonlyMap<string, StepIntent>;
  /** Records that a step is about to run. @throws when the journal cannot be written (disk full). */
  intent(step: { step: string; kind: StepKind; evidence?: Record<string, unknown> }): Promise<void>;
  /** Records a step's result. @throws when the journal cannot be written. */
  outcome(result: StepResult): Promise<void>;
}

/**
 * Runs one host's steps (src/apply/host-runner.ts), injected into the engine.
 * - `stop` is aborted on the first stop request: finish the current step, start no
 *   other, and return `interrupted` (or the outcome so far, when the last step ran).
 * - `abort` is aborted on the second: stop at once (it is StepContext.signal).
 * Expected failures are a result, never a throw; a throw is recorded as `failed`.
 */
export type RunHost = (host: PlannedHost, stop: AbortSignal, journal: HostJournal, abort: AbortSignal) => Promise<HostResult>;
