import { randomBytes } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import { actorOf, approvalFromActions, approvalFromHistory, checkApprovedPlan } from "../audit/approval.ts";
import { RUN_ID, type Approval, type AuditEntry } from "../audit/entry.ts";
import { recordRun } from "../audit/record.ts";
import { EnvironmentError, StewardError } from "../core/errors.ts";
import type { EventEmitter, ApplyEvent } from "../core/events.ts";
import { writeFileAtomic } from "../core/fs.ts";
import type { RunSecrets } from "../core/secrets.ts";
import { appProbes } from "../facts/apps.ts";
import { hostTarget } from "../facts/target.ts";
import type { Inventory, Runbook } from "../model/types.ts";
import { parsePlan } from "../plan/artifact.ts";
import type { Plan, PlannedHost } from "../plan/types.ts";
import { renderRunReport } from "../report/run-report.ts";
import { hostTemplateFields } from "../steps/template-context.ts";
import { createTransport } from "../transport/registry.ts";
import type { Transport } from "../transport/types.ts";
import { validateRepository } from "../validate/index.ts";
import { runEngine, type RunGate } from "./engine.ts";
import { changedInputs, StalePlanError } from "./inputs.ts";
import { Journal, JOURNAL_FILE } from "./journal.ts";
import { readJournal } from "./journal-replay.ts";
import { lockPlan, PlanLockedError } from "./lock.ts";
import { shardedRunId } from "./shard/partition.ts";
import { tornCutNote } from "./torn.ts";
import { assertApplicable } from "./preflight.ts";
import { runGateChecks, runHost, type RunHostOptions } from "./host-runner.ts";
import type { RunResults } from "./results.ts";
import type { StopController } from "./stop.ts";
import type { HostResult, RunHost } from "./types.ts";

/**
 * `steward apply <plan>`: applies exactly a saved plan. In order, before any host is
 * touched: the plan file is checked (schema, digest, format: exit 5 when it was
 * changed), the repository validated (exit 3), the plan's inputs re-hashed and the
 * steward version compared (exit 5 naming every change), step kinds that cannot run
 * yet refused, and the plan's lock taken (exit 7 naming the holder). Then the engine
 * runs the waves (src/apply/engine.ts) with the host runner, journaling every step,
 * and runs/<run-id>/results.json and report.md are written.
 */

/** Largest plan file read: a 10,000-host plan is about 20 MiB. */
const MAX_PLAN_BYTES = 256 * 1024 * 1024;

export interface ApplyOptions {
  /** Repository root: the inventory, known_hosts and runs/ live here. */
  root: string;
  /** The plan file (plans/<id>.json), as the user named it. */
  planFile: string;
  /** Continue this run (runs/<run-id>/journal.jsonl) instead of starting a new one. */
  resume?: string;
  /** Run again the steps a crashed attempt left `unknown`. */
  retryUnknown?: boolean;
  /** The run's secrets (the CLI's), registered with every `{ env: … }` the plan's runbook and inventory name. */
  secrets: RunSecrets;
  env: NodeJS.ProcessEnv;
  toolVersion: string;
  /** Clock for the maintenance window (`--now`); the system clock when absent. */
  now?: () => Date;
  events?: EventEmitter<ApplyEvent>;
  stop?: StopController;
  /** Hosts with `transport: local` may run (enabled from outside the repository). */
  allowLocal?: boolean;
  /** `steward run`: planned and applied in one go, with no approval; the audit entry says so. */
  unattended?: boolean;
}

export interface ApplyOutcome {
  results: RunResults;
  runDir: string;
  report: string;
  /** Set when this run took over the lock of a run whose process is gone. */
  tookOver?: string;
  /** The run's entry in runs/audit.jsonl. */
  audit: AuditEntry;
  /** What the operator must be told besides the results (a torn journal line a resume cut off: torn.ts), one sentence each. */
  notes: string[];
}

/** A run's id: the runbook, the UTC start to the second, and 4 random hex digits (two runs in one second). */
function newRunId(plan: Plan, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${plan.runbook.name}-${stamp}-${randomBytes(2).toString("hex")}`;
}

/** Reads and verifies the plan file; every refusal is exit 5 (or 2 for a file that cannot be read). */
export async function readPlanFile(path: string, shown: string): Promise<Plan> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_PLAN_BYTES) throw new StewardError("stale-plan", `${shown}: larger than ${MAX_PLAN_BYTES} bytes; not a plan steward writes`, "re-plan with `steward plan <runbook>`");
    text = bytes.toString("utf8");
  } catch (error) {
    if (error instanceof StewardError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new StewardError("usage", `cannot read the plan ${shown} (${code ?? String(error)})`, "name a plan file steward plan wrote, e.g. plans/<id>.json");
  }
  return parsePlan(text, shown);
}

/** What every apply checks before a host is touched, and what it then runs with. */
export interface PreparedApply {
  plan: Plan;
  /** The plan file's absolute path. */
  planPath: string;
  /** The plan file as the audit entry names it: repository-relative when inside it. */
  shownPlan: string;
  approval: Approval | null;
  inventory: Inventory;
  runbook: Runbook;
}

/**
 * The refusals before any host is touched (module comment): the plan file, its
 * approval in CI, the repository, the plan's inputs and steward version, and what its
 * steps need (secrets). Shared by a whole apply and by one shard of it.
 * @throws StewardError (stale-plan, invalid-input, usage, environment) as listed.
 */
export async function prepareApply(options: Pick<ApplyOptions, "root" | "planFile" | "secrets" | "env" | "toolVersion">): Promise<PreparedApply> {
  const planPath = isAbsolute(options.planFile) ? options.planFile : join(options.root, options.planFile);
  const plan = await readPlanFile(planPath, options.planFile);
  // In CI, what runs must be what was approved: the plan file at the approving merge commit.
  const approval = (await approvalFromActions(options.env)) ?? (await approvalFromHistory(options.root, planPath));
  await checkApprovedPlan(options.root, planPath, approval, options.env);
  const validation = await validateRepository(options.root);
  if (validation.errors > 0) {
    const first = validation.diagnostics.find((d) => d.severity === "error");
    throw new StewardError("invalid-input", `the repository has ${validation.errors} validation error(s), first: ${first?.file}:${first?.line}:${first?.column} ${first?.message}`, "run 'steward validate' for the full list; nothing was applied");
  }
  const changes = changedInputs(plan, validation.hashes, validation.inventory.knownHosts, options.toolVersion);
  if (changes.length > 0) throw new StalePlanError(plan.id, changes, plan.runbook.name);
  const { inventory } = validation;
  const runbook: Runbook = { name: plan.runbook.name, targets: plan.runbook.targets, steps: plan.runbook.steps, vars: plan.runbook.vars, file: plan.runbook.file };
  options.secrets.registerRepository(inventory, [runbook]);
  assertApplicable({ steps: plan.runbook.steps, vars: plan.runbook.vars, inventory, hosts: plan.hosts.map((h) => h.name), secrets: options.secrets, env: options.env });
  const relativePlan = relative(options.root, planPath);
  const shownPlan = relativePlan.startsWith("..") || isAbsolute(relativePlan) ? planPath : relativePlan.split(sep).join("/");
  return { plan, planPath, shownPlan, approval, inventory, runbook };
}

/** The transport of a run: the inventory's pinned host keys, the run's redactor. */
export function runTransport(options: Pick<ApplyOptions, "root" | "secrets" | "allowLocal" | "env">, inventory: Inventory): Transport {
  const knownHosts = inventory.knownHosts === undefined ? [] : [join(options.root, inventory.knownHosts)];
  return createTransport({ knownHostsFiles: knownHosts, redactor: options.secrets.redactor, allowLocal: options.allowLocal === true, env: options.env });
}

/**
 * How one run runs a host and a gate: the host runner behind the host lock (one run
 * changes a host at a time, README "Apply"), and the gate's checks on a finished
 * wave's changed hosts. `plan` is the plan whose actions run (a shard's plan names a
 * subset of the hosts; its actions are the full plan's).
 */
export function runners(options: Pick<ApplyOptions, "root" | "secrets" | "retryUnknown" | "events">, prepared: PreparedApply, runId: string, journal: Journal, transport: Transport): { runHost: RunHost; runGate: RunGate } {
  const { plan, inventory, runbook } = prepared;
  const runsDir = join(options.root, "runs");
  const probes = appProbes(runbook, inventory, options.secrets);
  const startedAt = journal.startedAt;
  const hostOptions = (host: PlannedHost): Omit<RunHostOptions, "journal"> | undefined => {
    const inv = inventory.hosts.get(host.name);
    if (inv === undefined) return undefined;
    const { vars } = options.secrets.resolveVars({ ...plan.runbook.vars, ...inv.vars });
    return {
      plan,
      host,
      target: hostTarget(inventory, inv),
      transport,
      templateContext: { host: hostTemplateFields(inv), vars, run: { id: runId, runbook: plan.runbook.name, plan_id: plan.id, started_at: startedAt } },
      appProbes: probes(host.name),
      secret: (variable: string) => options.secrets.envSecret(variable),
      redact: (text: string) => options.secrets.redact(text),
      ...(options.retryUnknown ? { retryUnknown: true } : {}),
    };
  };
  const notInInventory = (host: PlannedHost): HostResult => ({ host: host.name, wave: host.wave, outcome: "failed", detail: "the host is no longer in the inventory; re-plan", startedAt: null, finishedAt: null, steps: [] });
  const runHostLocked: RunHost = async (host, stop, hostJournal, abort) => {
    const o = hostOptions(host);
    if (o === undefined) return notInInventory(host);
    // Another run (of another plan) changing this host right now: wait for it. The host's
    // facts are then read again, so what that run changed makes this host stale, and no
    // two runs ever record the same change.
    const held = await hostLock(runsDir, runId, host.name, options.root, stop, async (holder, detail) => {
      const record = await journal.append({ type: "host-wait", host: host.name, holder, detail });
      options.events?.emit({ type: "host-wait", time: record.time, host: host.name, detail });
    });
    if (!("release" in held)) return { host: host.name, wave: host.wave, outcome: "failed", detail: held.busy, startedAt: null, finishedAt: null, steps: [] };
    try {
      return await runHost({ ...o, journal: hostJournal, stopRequested: () => stop.aborted, signal: abort });
    } finally {
      await held.release();
    }
  };
  const runGate: RunGate = async (_wave, hosts, done, signal) => {
    const failures: string[] = [];
    for (const [i, host] of hosts.entries()) {
      // Hosts the wave did not change are not the gate's business; a failed host already counted.
      if (!["changed", "unchanged"].includes(done[i]?.outcome ?? "")) continue;
      const o = hostOptions(host);
      if (o === undefined) continue;
      const result = await runGateChecks({ ...o, signal }, plan.rollout.gate.checks);
      if (result.outcome === "failed") failures.push(`${host.name}: ${result.detail}`);
    }
    return failures.length === 0 ? { ok: true, detail: `gate checks passed on ${hosts.length} host(s)` } : { ok: false, detail: failures.join("; ") };
  };
  return { runHost: runHostLocked, runGate };
}

/** Applies a plan; see the module comment for the order of refusals. */
export async function applyPlan(options: ApplyOptions): Promise<ApplyOutcome> {
  const prepared = await prepareApply(options);
  const { plan, approval, inventory } = prepared;
  const runsDir = join(options.root, "runs");
  const clock = options.now ?? (() => new Date());
  const runId = options.resume ?? newRunId(plan, clock());
  if (!RUN_ID.test(runId)) throw new StewardError("usage", `--resume ${JSON.stringify(runId)} is not a run id`, "use the run id steward apply printed, e.g. security-patches-20261124T020000Z-1a2b");
  const runDir = join(runsDir, runId);
  // A sharded run is continued shard by shard and merged, never as one runner: that
  // would apply its next waves beside the shards' runners, outside the merge's budget.
  if (options.resume !== undefined && (runId === shardedRunId(plan) || (await exists(join(runDir, "shards"))))) {
    throw new StewardError("usage", `run ${runId} is a sharded run: it is continued one shard at a time, never by one runner`, `resume a crashed shard with: steward apply ${prepared.shownPlan} --resume ${runId} --shard i/n --wave K; merge a wave with: steward results merge ${runId}`);
  }
  if (options.resume !== undefined && !(await exists(join(runDir, JOURNAL_FILE)))) {
    throw new StewardError("usage", `there is no run ${runId} to resume (runs/${runId}/journal.jsonl does not exist)`, "use the run id steward apply printed, e.g. from `continue with: steward apply … --resume <run-id>`");
  }
  const lock = await lockPlan(runsDir, plan.id, { runId, root: options.root });
  const transport = runTransport(options, inventory);
  try {
    const journalPath = join(runDir, JOURNAL_FILE);
    let opened: Awaited<ReturnType<typeof Journal.resume>> | undefined;
    if (options.resume !== undefined) {
      try {
        opened = await Journal.resume(journalPath, { root: options.root });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new StewardError("usage", `there is no run ${runId} to resume (${journalPath} does not exist)`, "use the run id steward apply printed");
        throw error;
      }
    }
    const notes = opened !== undefined && opened.state.tornBytes > 0 ? [tornCutNote(`runs/${runId}/journal.jsonl`, opened.state.records + 1, opened.state.tornBytes)] : [];
    const journal = opened?.journal ?? (await Journal.create(journalPath, { runId, planId: plan.id, planDigest: plan.digest, ...(options.now ? { clockOverride: clock().toISOString() } : {}) }, { root: options.root }));
    const { runHost: run, runGate } = runners(options, prepared, runId, journal, transport);
    const results = await runEngine({
      plan,
      journal,
      runHost: run,
      runGate,
      ...(opened ? { resume: opened.state } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.events ? { events: options.events } : {}),
      ...(options.stop ? { stop: options.stop } : {}),
    });
    const { records } = await readJournal(journalPath);
    const criticality = new Map(plan.hosts.map((h) => [h.name, h.criticality]));
    const report = join(runDir, "report.md");
    await writeFileAtomic(report, options.secrets.redact(renderRunReport({ plan, results, journal: records, criticality, planFile: options.planFile })), { root: options.root });
    const audit = await recordRun({ root: options.root, runDir, resumed: options.resume !== undefined, unattended: options.unattended === true, planFile: prepared.shownPlan, approval, actor: actorOf(options.env), results });
    return { results, runDir, report, audit, notes, ...(lock.takenOver ? { tookOver: lock.takenOver.message } : {}) };
  } finally {
    try {
      await closeWithin(transport, CLOSE_GRACE_MS);
    } finally {
      await lock.release();
    }
  }
}

/** How long the transport gets to close its connections once the run's files are written. */
export const CLOSE_GRACE_MS = 3000;

/**
 * Closes the transport, waiting at most `ms`: a frozen host can hold a connection (or a
 * dial) open until its own deadline, and the run must not keep its plan locked, nor its
 * summary unprinted, for that. The close goes on in the background; its errors are
 * the connections', not the run's.
 */
export async function closeWithin(transport: { close(): Promise<void> }, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closing = transport.close().catch(() => undefined);
  await Promise.race([closing, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** True when `path` exists (whatever it is); false when it does not. */
export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return false;
      throw error;
    },
  );
}

/** How long a host waits for another run that is changing it, at most. */
const HOST_LOCK_WAIT_MS = 30 * 60_000;

/** How long a host lock's holder may stay unnamed (between mkdir and writing holder.json) before the wait is reported without its name. */
const HOLDER_GRACE_MS = 2000;

/** Who holds a host lock, as `onWait` receives it. */
type Holder = { runId: string; pid: number; machine: string } | null;

/**
 * One run at a time on a host, whatever plan it applies: the lock runs/locks/host.<name>.lock
 * (proper-lockfile, as the plan lock). Waits while another live run holds it, until it is
 * free, a stop is requested (then the host runner ends the host as interrupted before it
 * starts), or HOST_LOCK_WAIT_MS pass (then the host fails, naming the holder). `onWait`
 * is called once the holder is known (or after HOLDER_GRACE_MS without a name), and
 * again when another run takes over, with the holder and a line saying so (journaled
 * and shown by the caller).
 */
async function hostLock(runsDir: string, runId: string, host: string, root: string, stop: AbortSignal, onWait: (holder: Holder, detail: string) => Promise<void>): Promise<{ release(): Promise<void> } | { busy: string }> {
  const started = Date.now();
  const deadline = started + HOST_LOCK_WAIT_MS;
  let told: string | undefined;
  for (;;) {
    try {
      return await lockPlan(runsDir, `host.${host}`, { runId, root });
    } catch (error) {
      if (!(error instanceof PlanLockedError)) throw error;
      const holder = error.holder;
      const who = holder === null ? "another steward process" : `run ${holder.runId} (pid ${holder.pid} on ${holder.machine})`;
      // A holder between taking the lock and writing holder.json is named a moment later;
      // one still unnamed after HOLDER_GRACE_MS is reported as it is.
      if (told !== who && (holder !== null || (told === undefined && Date.now() - started >= HOLDER_GRACE_MS))) {
        told = who;
        await onWait(holder === null ? null : { runId: holder.runId, pid: holder.pid, machine: holder.machine }, `waiting for the host lock held by ${who}, at most ${HOST_LOCK_WAIT_MS / 60_000} minutes: another run is changing this host`);
      }
      if (Date.now() >= deadline) return { busy: `another run kept changing the host for ${HOST_LOCK_WAIT_MS / 60_000} minutes: ${who}; nothing was done` };
      if (stop.aborted) return { release: async () => undefined };
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
