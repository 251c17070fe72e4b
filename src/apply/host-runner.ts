/**
 * One host's part of a run: connect, prove the plan still holds for the host, run its
 * steps in order, journal each step, and return the host's outcome as a value.
 *
 *   1. connect; a transport failure is `unreachable` with the transport's reason;
 *   2. read again, over the same connection, exactly the facts the plan depends on
 *      (gatherPlanFacts: the facts script's PLAN_SECTIONS; the package lists only when
 *      a step touches packages, as only then are any in the digest or is a broken
 *      package a reason to stop) and recompute the facts digest (factsDigest in
 *      src/plan/digest.ts); nothing at all for a host whose steps depend on no fact
 *      (NO_FACTS_DIGEST: commands, checks, services… cannot go stale); a
 *      different digest, or packages now half-configured, is `skipped:stale` naming
 *      what moved, and nothing is changed. Not on a resumed host this run already
 *      touched: it moved because of this run, and its journal says how far it got;
 *   3. run the steps in plan order. Checks before the first changing step are
 *      pre-checks: one failing is `cancelled:precheck`. A failing step stops the host
 *      (`failed`) unless it says `on_failure: continue`. Between steps a stop request
 *      ends the host as `interrupted` before the next step starts. A connection lost
 *      between steps (before a step sent anything) is dialled again once: the step runs
 *      on the new connection, or the host is `unreachable` at that step (recorded
 *      `skipped`: not run). Lost while a step ran, the step's effect is unknown: the
 *      step `failed`, the host `failed` (`unreachable` when nothing had changed yet);
 *   4. before a step its intent is journaled (with the executor's intent evidence),
 *      after it the StepResult: a step is never started without a durable intent. An
 *      outcome is not waited for on its own: it shares the fsync of the next record
 *      appended after it (the journal writes in order) — the next step's intent, or the
 *      host-end record the caller appends once runHost returns.
 */
import { drivers } from "../drivers/registry.ts";
import { gatherPlanFacts } from "../facts/gather.ts";
import type { AppProbe, PlanFacts } from "../facts/types.ts";
import type { Check, Step, StepKind } from "../model/types.ts";
import { hostFactsDependencies, stepTimeoutMs } from "../steps/registry.ts";
import { factsDigest, NO_FACTS_DIGEST } from "../plan/digest.ts";
import type { Plan, PlannedAction, PlannedHost } from "../plan/types.ts";
import { connectionGone, errorDetail, redactAcrossRemoved } from "../steps/execute-helpers.ts";
import { redactStrings } from "../core/redact-value.ts";
import { executorFor, unsupportedSteps, type Executor } from "../steps/executors.ts";
import { compileTemplate, type RenderFn } from "../template/index.ts";
import type { HostTarget, Session, Transport } from "../transport/types.ts";
import { noting, plainSession, reconnected, type StepReach } from "./step-session.ts";
import type { HostJournal, HostOutcome, HostResult, StepContext, StepIntent, StepOutcome, StepResult } from "./types.ts";

/** What runHost needs: the plan, the host, how to reach it, the runbook's steps, where to journal. */
export interface RunHostOptions {
  plan: Plan;
  host: PlannedHost;
  target: HostTarget;
  /** The run's transport; runHost opens (and closes) its own sessions on it. */
  transport: Transport;
  /** Retry steps a crashed attempt left `unknown` (`--retry-unknown`) instead of leaving them for a human. */
  retryUnknown?: boolean;
  journal: HostJournal;
  /**
   * What templates may read on this host: `host`, `vars`, `run` (secrets resolved by
   * the caller, so their values are registered for redaction). `app` is added per step.
   */
  templateContext?: Record<string, unknown>;
  /** The host's app-upgrade version probes, rendered, as facts gathering takes them (needed when the plan has app-upgrade steps). */
  appProbes?: AppProbe[];
  /** True once a graceful stop was asked for (first SIGINT/SIGTERM): no further step starts. */
  stopRequested?: () => boolean;
  /** Aborted on the second signal: executors stop at once. */
  signal?: AbortSignal;
  /** Limit of the facts re-read. Default 120 s. */
  factsTimeoutMs?: number;
  /** The value of a step's `{ env: NAME }` field, registered for redaction (StepContext.secret). */
  secret?: (variable: string) => string | undefined;
  /**
   * The run's RunSecrets.redact: applied to every step result once more, across the
   * characters output tails had removed (see redactAcrossRemoved).
   */
  redact?: (text: string) => string;
}

/**
 * What moved on a host since planning, from its fresh facts and the plan's actions, one
 * phrase each: an installed version other than the planned `from`, another candidate,
 * a new hold, a broken package, a changed reboot flag or app version. Empty when
 * nothing the plan names moved (the digest may still differ, e.g. in the OS).
 */
export function whatMoved(host: PlannedHost, facts: PlanFacts): string[] {
  const moved: string[] = [];
  const installed = new Map(facts.installed.map((p) => [`${p.name} ${p.arch ?? ""}`, p]));
  const byName = new Map(facts.installed.map((p) => [p.name, p]));
  const upgradable = new Map(facts.upgradable.map((p) => [p.name, p]));
  for (const a of host.actions) {
    if (a.kind === "packages" && "upgrades" in a) {
      for (const u of a.upgrades) {
        const now = installed.get(`${u.name} ${u.arch ?? ""}`) ?? byName.get(u.name);
        if (now === undefined) moved.push(`${u.name} is no longer installed (planned ${u.from} → ${u.to})`);
        else if (now.version !== u.from) moved.push(`${u.name} is now ${now.version}, not ${u.from}`);
        if (now?.held === true) moved.push(`${u.name} is now held`);
        const cand = upgradable.get(u.name);
        if (now !== undefined && now.version === u.from && cand === undefined) moved.push(`${u.name} has no upgrade candidate any more (planned ${u.to})`);
        else if (cand !== undefined && cand.to !== (u.candidate?.version ?? u.to)) moved.push(`${u.name}'s candidate is now ${cand.to}, not ${u.candidate?.version ?? u.to}`);
      }
    } else if (a.kind === "packages" && "packages" in a) {
      for (const p of a.packages) {
        const now = byName.get(p.name);
        if (a.action === "remove" && now === undefined) moved.push(`${p.name} is no longer installed`);
        if (a.action === "install" && now !== undefined && (p.version === undefined || now.version === p.version)) moved.push(`${p.name} is now installed (${now.version})`);
        if (now?.held === true) moved.push(`${p.name} is now held`);
      }
    } else if (a.kind === "app-upgrade") {
      const app = facts.apps?.[a.app];
      if (app?.error !== undefined) moved.push(`${a.app}'s version probe now fails: ${app.error}`);
      else if (app !== undefined && a.current !== null && !app.current.includes(a.current)) moved.push(`${a.app}'s current_version now prints ${JSON.stringify(app.current.slice(0, 60))}, not ${a.current}`);
    }
  }
  for (const p of facts.installed) if (p.status !== undefined) moved.push(`${p.name} ${p.version} is now ${p.status}`);
  return [...new Set(moved)];
}

const now = (): string => new Date().toISOString();

/** A step changes the host unless it is a check (checks only read). */
const changes = (kind: StepKind): boolean => kind !== "check";

/**
 * Runs one host of a plan. Never throws for what a host can do (unreachable, stale,
 * failing steps, a lost connection): the outcome says it. Throws only when the journal
 * cannot be written (the caller must stop the run: without a journal nothing is safe).
 */
export async function runHost(options: RunHostOptions): Promise<HostResult> {
  const { host, target, transport } = options;
  const startedAt = now();
  const steps: StepResult[] = [];
  const done = (outcome: HostOutcome, detail: string): HostResult => ({ host: host.name, wave: host.wave, outcome, detail, startedAt, finishedAt: now(), steps });
  /** The last step outcome appended and not yet waited for (see below). */
  let unflushed: Promise<void> = Promise.resolve();

  const defs: Array<{ step: Step; action: PlannedAction; executor: Executor }> = [];
  for (const action of host.actions) {
    // The plan carries every step's definition; parsePlan checked each index points at its step.
    const step = options.plan.runbook.steps[action.index];
    if (step === undefined || step.kind !== action.kind || step.name !== action.step) return done("failed", `the plan's step '${action.step}' (${action.kind}) is not among its step definitions; plan again`);
    const refused = unsupportedSteps([step]);
    if (refused.length > 0) return done("failed", refused.join("; "));
    defs.push({ step, action, executor: executorFor(step.kind) });
  }

  if (options.stopRequested?.() === true) return done("interrupted", "stopped before the host started");
  let session: Session;
  try {
    session = await transport.connect(target);
  } catch (error) {
    return done("unreachable", errorDetail(error));
  }
  try {
    // A host an earlier attempt of this run already changed has moved because of this run:
    // its facts no longer match the plan, and that is no reason to call it stale. Its
    // completed steps are kept and a started one is judged from the host (below).
    const resumed = options.journal.completed.size > 0 || options.journal.pending.size > 0;
    const stale = resumed ? undefined : await staleness(options);
    if (stale !== undefined) return done(stale.outcome, stale.detail);

    const firstChange = defs.findIndex((d) => changes(d.step.kind));
    let changed = false;
    const continued: string[] = [];
    const signal = options.signal ?? new AbortController().signal;
    for (let i = 0; i < defs.length; i++) {
      const { step, action, executor } = defs[i]!;
      // A resumed run: a step an earlier attempt completed is never run again.
      const completed = options.journal.completed.get(step.name);
      if (completed !== undefined) {
        steps.push(completed);
        if (completed.outcome === "changed") changed = true;
        if (completed.outcome === "failed" && step.on_failure === "continue") continued.push(step.name);
        continue;
      }
      if (options.stopRequested?.() === true || signal.aborted) return done("interrupted", `stopped before step '${step.name}'${changed ? "; earlier steps changed the host" : ""}`);
      const reach: StepReach = { reached: false };
      const ctx = stepContext(options, session, step, action, signal, reach);
      // A step an earlier attempt started and never recorded: judged from the host's state.
      const pending = options.journal.pending.get(step.name);
      if (pending !== undefined) {
        const verdict = await executor.rejudge(ctx, pending);
        if (verdict === "changed" || verdict === "unchanged" || (verdict === "unknown" && options.retryUnknown !== true)) {
          const t = now();
          const judged: StepResult = {
            step: step.name,
            kind: step.kind,
            outcome: verdict,
            startedAt: pending.startedAt,
            finishedAt: t,
            durationMs: Math.max(0, Date.parse(t) - Date.parse(pending.startedAt)),
            detail: verdict === "unknown" ? "started before the run was cut short (a crash or a second stop signal); its effect cannot be judged from the host: check it by hand, then resume with --retry-unknown to run it again" : "started before the run was cut short; the host shows it took effect, so it is not run again",
          };
          await options.journal.outcome(judged);
          steps.push(judged);
          if (verdict === "changed") changed = true;
          if (verdict === "unknown") return done("interrupted", `${step.name}: outcome unknown (the run was cut short while it ran); check the host, then resume with --retry-unknown`);
          continue;
        }
        // "skipped" (it did not take effect) or --retry-unknown: it runs again below.
      }
      let evidence: Record<string, unknown> | undefined;
      let unreadable: string | undefined;
      let journaled = false;
      let result: StepResult | undefined;
      for (let attempt = 0; result === undefined; attempt++) {
        try {
          reach.reached = false;
          if (!journaled) {
            try {
              evidence = executor.intentEvidence === undefined ? undefined : await executor.intentEvidence(ctx);
            } catch (error) {
              if (connectionGone(error)) throw error;
              unreadable = errorDetail(error);
            }
            await options.journal.intent({ step: step.name, kind: step.kind, ...(evidence !== undefined ? { evidence } : {}) });
            await unflushed;
            journaled = true;
            if (evidence !== undefined) ctx.evidence = evidence;
          }
          // Without its evidence a step could not be judged after a crash: it does not start.
          result = unreadable !== undefined ? { step: step.name, kind: step.kind, outcome: "failed", startedAt: now(), finishedAt: now(), durationMs: 0, detail: `not started: cannot read the host's state first: ${unreadable}` } : scrubbed(await executor.execute(ctx), options.redact);
        } catch (error) {
          if (!connectionGone(error)) throw error;
          // Nothing of the step reached the host (its intent not yet written, or no command
          // sent): the connection was lost between steps. One new connection decides whether
          // the host is still there (the step then runs on it) or became unreachable.
          if (!journaled || !reach.reached) {
            const gone = attempt === 0 ? await reconnected(ctx) : errorDetail(error);
            if (gone === undefined) continue;
            const where = `became unreachable before step '${step.name}' (${i + 1} of ${defs.length})`;
            const detail = `${where}: ${gone}${changed ? "; earlier steps changed the host" : "; nothing was changed"}`;
            if (journaled) {
              const notRun: StepResult = { step: step.name, kind: step.kind, outcome: "skipped", startedAt: now(), finishedAt: now(), durationMs: 0, detail: `not run: the host ${where}: ${gone}` };
              await options.journal.outcome(notRun);
              steps.push(notRun);
            }
            return done("unreachable", detail);
          }
          const lost: StepResult = { step: step.name, kind: step.kind, outcome: "failed", startedAt: now(), finishedAt: now(), durationMs: 0, detail: `connection lost: ${errorDetail(error)}` };
          await options.journal.outcome(lost);
          steps.push(lost);
          // Lost while the step ran, before anything changed: the host did not answer, like an
          // unreachable one. After a change the step's effect is unknown: failed.
          const untouched = firstChange < 0 || i < firstChange;
          return done(untouched ? "unreachable" : "failed", `${step.name}: ${lost.detail}${untouched ? "; nothing was changed" : ""}`);
        }
      }
      session = plainSession(ctx.session);
      // Not waited for here: the next step's intent is appended after it and shares its
      // fsync (it is waited for with that intent); after the last step, the caller's
      // host-end record, appended after it, makes it durable (a failed write fails that).
      unflushed = options.journal.outcome(result);
      unflushed.catch(() => undefined);
      steps.push(result);
      if (result.outcome === "changed") changed = true;
      if (result.outcome !== "failed") continue;
      if (step.kind === "check" && (firstChange < 0 || i < firstChange) && step.on_failure !== "continue") return done("cancelled:precheck", `pre-check '${step.name}' failed, nothing was changed: ${result.detail}`);
      if (step.on_failure === "continue") {
        continued.push(step.name);
        continue;
      }
      return done("failed", `${step.name}: ${result.detail}`);
    }
    const note = continued.length > 0 ? `; failed but continued (on_failure: continue): ${continued.join(", ")}` : "";
    return done(changed ? "changed" : "unchanged", `${steps.length} steps ${changed ? "ran, the host changed" : "ran, nothing changed"}${note}`);
  } catch (error) {
    if (connectionGone(error)) return done(steps.length === 0 ? "unreachable" : "failed", errorDetail(error));
    throw error;
  } finally {
    await session.close().catch(() => undefined);
  }
}

/**
 * The context an executor runs one step in; `reconnect` replaces the context's session.
 * With `reach`, the sessions it hands out note in it whether a command of the step may
 * have reached the host (noting).
 */
function stepContext(options: Omit<RunHostOptions, "journal">, session: Session, step: Step, action: PlannedAction, signal: AbortSignal, reach?: StepReach): StepContext {
  const { transport, target } = options;
  const wrap = (s: Session): Session => (reach === undefined ? s : noting(s, reach));
  const ctx: StepContext = {
    plan: options.plan,
    host: options.host,
    target,
    transport,
    session: wrap(session),
    reconnect: async () => {
      await ctx.session.close().catch(() => undefined);
      ctx.session = wrap(await transport.connect(target));
      return ctx.session;
    },
    step,
    action,
    render: (template, extra) => shellTemplate(template)({ ...(options.templateContext ?? {}), ...(extra ?? {}) }),
    signal,
    timeoutMs: stepTimeoutMs(step),
    ...(options.secret !== undefined ? { secret: options.secret } : {}),
  };
  return ctx;
}

/** Compiled shell templates by source: a plan's step templates are few, its hosts many. */
const shellTemplates = new Map<string, RenderFn>();
/** Templates kept at most; past it the cache starts again (a plan never comes near). */
const MAX_SHELL_TEMPLATES = 1024;

/**
 * `compileTemplate(source, "shell")`, compiled once per source rather than once per host
 * and step (Handlebars' compiler was the apply engine's largest CPU cost on 100 hosts).
 * A compiled template holds no state between renders. A source that does not compile
 * is not kept: it throws TemplateSyntaxError each time, as compileTemplate does.
 */
function shellTemplate(source: string): RenderFn {
  let render = shellTemplates.get(source);
  if (render === undefined) {
    render = compileTemplate(source, "shell");
    if (shellTemplates.size >= MAX_SHELL_TEMPLATES) shellTemplates.clear();
    shellTemplates.set(source, render);
  }
  return render;
}

/**
 * After a crash: judges the host's step `stepIndex` (its intent journaled, its outcome
 * not) from the host's state alone, through its executor's `rejudge`: `changed` (it
 * took effect), `skipped` (it did not; running it again is safe) or `unknown` (leave
 * it for a human). Connects on its own; the caller journals the verdict.
 * @throws TransportError when the host cannot be reached (the caller reports it unreachable).
 */
export async function rejudgeStep(options: RunHostOptions, stepIndex: number, intent: StepIntent): Promise<StepOutcome> {
  const action = options.host.actions[stepIndex];
  const step = action === undefined ? undefined : options.plan.runbook.steps[action.index];
  if (action === undefined || step === undefined) return "unknown";
  const session = await options.transport.connect(options.target);
  try {
    const ctx = stepContext(options, session, step, action, options.signal ?? new AbortController().signal);
    return await executorFor(step.kind).rejudge(ctx, intent);
  } finally {
    await session.close().catch(() => undefined);
  }
}

/** Re-reads the facts the plan depends on; a result when the host is stale or the read failed, undefined when the plan holds. */
async function staleness(options: RunHostOptions): Promise<{ outcome: HostOutcome; detail: string } | undefined> {
  const { host } = options;
  const deps = hostFactsDependencies(host.actions);
  // Actions decided from no fact (commands, checks, services…) cannot go stale: the plan
  // recorded the digest of no facts, and nothing is read. A plan whose host has no fact
  // dependencies but another digest was not made by this rule: refused, not trusted.
  if (!deps.any) return host.factsDigest === NO_FACTS_DIGEST ? undefined : { outcome: "skipped:stale", detail: "the plan's facts digest for this host is not that of a host whose steps depend on no facts; plan again" };
  const hasPackages = host.actions.some((a) => a.kind === "packages");
  // The package lists are the costly part of the read (apt loads its cache twice). A host
  // whose steps touch no package has none in its digest and no broken-package check, so
  // they are not read: the digest is over the same facts either way.
  const packageLists = hasPackages || deps.packages.size > 0;
  const result = await gatherPlanFacts(options.target, { transport: options.transport, timeoutMs: options.factsTimeoutMs ?? 120_000, apps: () => options.appProbes ?? [], packageLists });
  if (!result.ok) {
    const unreachable = result.error.kind === "unreachable" || result.error.kind === "timeout";
    return { outcome: unreachable ? "unreachable" : "failed", detail: `cannot re-read the host's facts (${result.error.kind}): ${result.error.message}` };
  }
  const facts = result.facts;
  const moved = whatMoved(host, facts);
  const broken = hasPackages ? facts.installed.filter((p) => p.status !== undefined) : [];
  if (factsDigest(facts, deps.packages, deps.apps) === host.factsDigest && broken.length === 0) return undefined;
  if (moved.length === 0) {
    if (facts.os.id !== "" && host.packageManager !== facts.packageManager) moved.push(`the package manager is now ${facts.packageManager ?? "none"}, not ${host.packageManager ?? "none"}`);
    if (host.rebootExpected !== facts.reboot.required && host.actions.some((a) => a.kind === "reboot")) moved.push(`the host's reboot flag is now ${facts.reboot.required ? "set" : "clear"}`);
  }
  const repair = broken.length > 0 && facts.packageManager !== null ? `; repair with \`${drivers[facts.packageManager].manager === "apt" ? "dpkg --configure -a" : "the package manager"}\`` : "";
  return { outcome: "skipped:stale", detail: `the host changed since planning, nothing was done: ${moved.length > 0 ? moved.join("; ") : "facts the plan depends on (OS, reboot flag, package lists) differ"}${repair}; plan again` };
}

/**
 * A rollout gate on one host: the gate's checks as one check step ("gate"), in one
 * round trip, judged like any check step. Read-only, so nothing is journaled.
 * @returns the check step's result; a host that cannot be reached is a failed result.
 */
export async function runGateChecks(options: Omit<RunHostOptions, "journal">, checks: readonly Check[]): Promise<StepResult> {
  const step: Step = { name: "gate", kind: "check", checks: [...checks] };
  const action: PlannedAction = { step: "gate", index: -1, kind: "check" };
  const startedAt = now();
  let session: Session;
  try {
    session = await options.transport.connect(options.target);
  } catch (error) {
    return { step: "gate", kind: "check", outcome: "failed", startedAt, finishedAt: now(), durationMs: 0, detail: `unreachable: ${errorDetail(error)}` };
  }
  try {
    return scrubbed(await executorFor("check").execute(stepContext(options, session, step, action, options.signal ?? new AbortController().signal)), options.redact);
  } catch (error) {
    return { step: "gate", kind: "check", outcome: "failed", startedAt, finishedAt: now(), durationMs: 0, detail: errorDetail(error) };
  } finally {
    await session.close().catch(() => undefined);
  }
}

/** `result` with every string passed through redactAcrossRemoved (the same object when nothing changed). */
function scrubbed(result: StepResult, redact: ((text: string) => string) | undefined): StepResult {
  return redact === undefined ? result : redactStrings(result, (text) => redactAcrossRemoved(text, redact));
}
