import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { applyPlan, type ApplyOptions, type ApplyOutcome } from "../../apply/index.ts";
import { budgetCount } from "../../apply/results.ts";
import { applyShard, type ShardOutcome } from "../../apply/shard/apply-shard.ts";
import { parseShard, parseWave } from "../../apply/shard/partition.ts";
import { shardResumeCommand } from "../../apply/shard/resume-shard.ts";
import { StopController } from "../../apply/stop.ts";
import { UsageError } from "../../core/errors.ts";
import { terminalText } from "../../core/text.ts";
import { parsePlanTime } from "../../plan/clock.ts";
import { displayPath as shownPath } from "../display-path.ts";
import { EventEmitter, type ApplyEvent } from "../../core/events.ts";
import { localAllowedByEnvironment } from "../../transport/registry.ts";
import type { CommandIO, Command } from "../io.ts";
import { toolVersion } from "../version.ts";
import { createProgress, type ProgressMode } from "../progress.ts";

export const APPLY_OPTIONS = {
  root: { type: "string" },
  resume: { type: "string" },
  "retry-unknown": { type: "boolean" },
  json: { type: "boolean" },
  now: { type: "string" },
  "allow-local": { type: "boolean" },
  shard: { type: "string" },
  wave: { type: "string" },
} as const;

/** `--now ISO`, for tests and reproducible demos: the clock the maintenance window is checked against. */
export function parseNow(value: string | undefined): (() => Date) | undefined {
  if (value === undefined) return undefined;
  const at = parsePlanTime(value);
  // The clock moves from the given instant, so a long run still sees its window close.
  const offset = at.getTime() - Date.now();
  return () => new Date(Date.now() + offset);
}

/**
 * Runs a plan with progress on the CLI: signals become stop requests (the first is
 * graceful, the second immediate), events are rendered, and the outcome printed.
 */
/** The flags `steward apply` and its `--shard` form share. */
interface ApplyFlags {
  root?: string;
  resume?: string;
  "retry-unknown"?: boolean;
  json?: boolean;
  now?: string;
  "allow-local"?: boolean;
}

/**
 * The part of a run both forms share: progress rendered from the core's events (NDJSON
 * with --json, a live view on a TTY outside CI, plain lines otherwise), signals turned
 * into stop requests, and the options every apply takes, built from the flags; `run`
 * gets those options and starts the apply. Progress and the signal handler end with it.
 */
async function withProgress<T>(io: CommandIO, planFile: string, values: ApplyFlags, run: (common: Omit<ApplyOptions, "unattended">) => Promise<T>): Promise<T> {
  const events = new EventEmitter<ApplyEvent>();
  const mode: ProgressMode = values.json ? "json" : io.isTTY === true && io.env["CI"] === undefined ? "live" : "lines";
  const progress = createProgress(mode, (text) => io.stdout(text));
  events.on((e) => progress.on(e));
  const stop = new StopController();
  const unsubscribe = io.onSignal?.((signal) => void stop.request(signal));
  const now = parseNow(values.now);
  try {
    return await run({
      root: resolve(io.cwd, values.root ?? "."),
      planFile: resolve(io.cwd, planFile),
      secrets: io.secrets,
      env: io.env,
      toolVersion: await toolVersion(),
      events,
      stop,
      allowLocal: values["allow-local"] === true || localAllowedByEnvironment(io.env),
      ...(values.resume !== undefined ? { resume: values.resume } : {}),
      ...(values["retry-unknown"] ? { retryUnknown: true } : {}),
      ...(now ? { now } : {}),
    });
  } finally {
    progress.done();
    unsubscribe?.();
  }
}

export async function runApply(io: CommandIO, planFile: string, values: ApplyFlags & { unattended?: boolean }): Promise<number> {
  const outcome: ApplyOutcome = await withProgress(io, planFile, values, (common) => applyPlan({ ...common, ...(values.unattended ? { unattended: true } : {}) }));
  const { results, runDir, report } = outcome;
  printNotes(io, outcome.notes);
  if (!values.json) {
    const counts = Object.entries(results.counts).filter(([, n]) => n > 0).map(([o, n]) => `${n} ${o}`).join(", ");
    const lines = [
      ...(outcome.tookOver ? [outcome.tookOver] : []),
      `run ${results.runId}: ${results.status}${results.halt ? ` (${results.halt.detail})` : ""}`,
      `  hosts: ${counts || "none"}`,
      `  ${budgetCount(results.failureBudget.failures, results.hosts)}; the rollout halts at ${results.failureBudget.haltsAt}`,
      `wrote ${shownPath(io.cwd, resolve(runDir, "results.json"))}`,
      `wrote ${shownPath(io.cwd, report)}`,
      `recorded in runs/audit.jsonl (entry ${outcome.audit.seq}, ${outcome.audit.hash.slice(0, 12)}…)`,
    ];
    if (results.exitCode !== 0 && results.hosts.some((h) => h.outcome.startsWith("not-started") || h.outcome === "interrupted")) {
      lines.push(`continue with: steward apply ${planFile} --resume ${results.runId}`);
    }
    io.stdout(`${lines.join("\n")}\n`);
  }
  return results.exitCode;
}

/**
 * `steward apply <plan> --shard i/n [--wave K]`: one shard of the next wave; with
 * `--resume <run-id> [--retry-unknown]`, a crashed shard continued from its journal
 * (src/apply/shard/apply-shard.ts, resume-shard.ts).
 */
async function runShard(io: CommandIO, planFile: string, values: ApplyFlags & { shard: string; wave?: string }): Promise<number> {
  const shard = parseShard(values.shard);
  const wave = values.wave === undefined ? undefined : parseWave(values.wave);
  const outcome: ShardOutcome = await withProgress(io, planFile, values, (common) => applyShard({ ...common, shard, ...(wave !== undefined ? { wave } : {}) }));
  const { results } = outcome;
  printNotes(io, outcome.notes);
  if (!values.json) {
    const counts = Object.entries(results.counts).filter(([, n]) => n > 0).map(([o, n]) => `${n} ${o}`).join(", ");
    io.stdout(`${[
      ...(outcome.tookOver ? [outcome.tookOver] : []),
      `run ${outcome.runId} shard ${shard.index}/${shard.of} of wave ${outcome.wave + 1}${outcome.resumed ? ` (resumed, attempt ${results.resumes + 1})` : ""}: ${results.status}${results.halt ? ` (${results.halt.detail})` : ""}`,
      `  hosts: ${counts || "none"}`,
      `  ${budgetCount(results.failureBudget.failures, results.hosts)}; this shard's share allows ${outcome.allowed}`,
      `wrote ${shownPath(io.cwd, resolve(outcome.shardDir, "results.json"))}`,
      // Stopped by a signal: resumed from its journal before the wave is merged (the merge refuses it until then).
      ...(results.status === "halted:signal" ? [`continue with: ${shardResumeCommand(planFile, outcome.runId, shard, outcome.wave)}`] : []),
      `once every shard of wave ${outcome.wave + 1} has ended: steward results merge ${outcome.runId}`,
    ].join("\n")}\n`);
  }
  return results.exitCode;
}

/** Notes of the core (a torn journal line cut off…), on standard error whatever the output mode: `steward apply: note: …`. */
function printNotes(io: CommandIO, notes: readonly string[]): void {
  for (const note of notes) io.stderr(`steward apply: note: ${terminalText(note)}\n`);
}

export const apply: Command = {
  summary: "apply a saved plan to its hosts in waves, with a journal (runs/<run-id>/) and a report",
  usage: `usage: steward apply <plan.json> [--root DIR] [--resume RUN_ID [--retry-unknown]] [--json] [--now ISO] [--allow-local]
       steward apply <plan.json> --shard I/N [--wave K] [--root DIR] [--json] [--now ISO] [--allow-local]
       steward apply <plan.json> --resume RUN_ID --shard I/N [--wave K] [--retry-unknown] [--root DIR] [--json] [--now ISO] [--allow-local]

  <plan.json>        the plan file steward plan wrote (plans/<id>.json), applied exactly
  --root DIR         repository root (default: the current directory)
  --resume RUN_ID    continue a run that was stopped or crashed: completed steps are never
                     run again, a step that was started is judged from the host's state;
                     with --shard, continue that shard of the sharded run RUN_ID
                     (<plan-id>-sharded) from its own journal after its runner crashed
                     or was stopped by a signal
  --retry-unknown    with --resume: run again steps whose effect could not be judged
  --json             print progress as one JSON event per line
  --now ISO          the clock the maintenance window is checked against (tests, demos)
  --allow-local      allow hosts with transport: local (or STEWARD_ALLOW_LOCAL=1)
  --shard I/N        apply shard I of N (1 ≤ I ≤ N ≤ 256) of the next wave of the plan's
                     sharded run <plan-id>-sharded, into runs/<run-id>/shards/w<K>-<I>-of-<N>/;
                     then steward results merge <run-id> (README, Past one runner)
  --wave K           with --shard: the wave to apply; refused unless it is the next one

A shard's runner that crashed or was killed leaves a journal and no results, and one
stopped by SIGINT/SIGTERM ends halted:signal: continue either with --resume
<plan-id>-sharded --shard I/N --wave K (the same I/N and K), then merge.
Refused: a shard with no journal that nothing records as started, or one that finished
(exit 2); one with no journal that its lock or a commit records as started (its record is
missing), a folder whose journal is another plan's, run's, shard's or budget share's
(exit 5); a shard a live runner holds (exit 7). A torn last journal line (a runner killed
mid-write) is cut off by the resume and named on standard error.

Before any host is touched the plan is verified: its digest and schema (exit 5 when it
was changed), the repository (exit 3), every input file and the steward version (exit 5
naming each change), and the plan's lock (exit 7 when another run holds it).
First SIGINT/SIGTERM: no new host starts, hosts in flight finish their current step
(exit 4; continue with --resume). A second signal stops at once.
Exit codes: 0 all hosts ok, 1 some hosts failed within the failure budget, 2 usage,
3 invalid input, 4 halted (failure budget, gate or signal), 5 stale or tampered plan,
6 environment, 7 plan locked by another run.`,
  async run(argv, io) {
    const { values, positionals } = parseFlags({ args: argv, options: APPLY_OPTIONS, strict: true, allowPositionals: true });
    const [planFile, ...extra] = positionals;
    if (planFile === undefined || extra.length > 0) throw new UsageError(planFile === undefined ? "name the plan to apply" : `one plan at a time (got ${positionals.join(", ")})`, "steward apply plans/<id>.json");
    if (values["retry-unknown"] && values.resume === undefined) throw new UsageError("--retry-unknown works only with --resume", values.shard === undefined ? "steward apply <plan> --resume <run-id> --retry-unknown" : "steward apply <plan> --resume <plan-id>-sharded --shard i/n --wave K --retry-unknown");
    if (values.shard !== undefined) return runShard(io, planFile, { ...values, shard: values.shard });
    if (values.wave !== undefined) throw new UsageError("--wave works only with --shard", "steward apply <plan> --shard i/n --wave K");
    return runApply(io, planFile, values);
  },
};
