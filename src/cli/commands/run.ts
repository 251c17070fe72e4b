import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../../core/errors.ts";
import { planRepository } from "../../plan/index.ts";
import { localAllowedByEnvironment } from "../../transport/registry.ts";
import { ExitCode } from "../exit-codes.ts";
import { limitArg } from "../limit-arg.ts";
import type { Command } from "../io.ts";
import { toolVersion } from "../version.ts";
import { stepsNeedingPlan } from "../../steps/executors.ts";
import { displayPath as shownPath } from "../display-path.ts";
import { parseNow, runApply } from "./apply.ts";

/**
 * `steward run <runbook>`: plan and apply in one go, for read-only and unattended
 * runbooks (health checks, scheduled jobs). Facts are gathered for exactly the hosts
 * the plan selects, the plan is written (plans/<id>.json and .md) like `steward plan`
 * writes it, and then that very file is applied like `steward apply` applies it: the
 * same verification, lock, journal, results and report.
 */
export const run: Command = {
  summary: "plan a runbook (gathering facts) and apply that plan at once, for checks and unattended work",
  usage: `usage: steward run <runbook> [--root DIR] [--limit SELECTOR] [--refresh] [--json] [--now ISO] [--allow-local]

  <runbook>         runbook name (or its file)
  --root DIR        repository root (default: the current directory)
  --limit SEL       only targeted hosts this selector matches
  --refresh         refresh package lists first (apt-get update, through become)
  --json            print progress as one JSON event per line
  --now ISO         the clock for the maintenance window (tests, demos)
  --allow-local     allow hosts with transport: local (or STEWARD_ALLOW_LOCAL=1)

Writes plans/<id>.json and .md, then runs/<run-id>/ (journal, results, report).
Exit codes: as steward apply; 3 when the repository is invalid.`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { root: { type: "string" }, limit: { type: "string" }, refresh: { type: "boolean" }, json: { type: "boolean" }, now: { type: "string" }, "allow-local": { type: "boolean" } },
      strict: true,
      allowPositionals: true,
    });
    const [runbook, ...extra] = positionals;
    if (runbook === undefined || extra.length > 0) throw new UsageError(runbook === undefined ? "name the runbook to run" : `one runbook at a time (got ${positionals.join(", ")})`, "steward run health-checks");
    const root = resolve(io.cwd, values.root ?? ".");
    const limit = limitArg(values.limit);
    const clock = parseNow(values.now);
    const allowLocal = values["allow-local"] === true || localAllowedByEnvironment(io.env);
    const planned = await planRepository({
      root,
      runbook,
      factsDir: resolve(root, ".steward/facts"),
      outDir: resolve(root, "plans"),
      now: clock?.() ?? new Date(),
      toolVersion: await toolVersion(),
      secrets: io.secrets,
      gather: { refresh: values.refresh === true, env: io.env, allowLocal },
      ...(limit ? { limit } : {}),
    });
    if (!planned.ok) {
      io.stderr(`steward run: the repository has ${planned.validation.errors} validation error(s); nothing was planned or applied\n  hint: run 'steward validate' to see them\n`);
      return ExitCode.invalidInput;
    }
    const destructive = stepsNeedingPlan(planned.plan.runbook.steps);
    if (destructive.length > 0) {
      io.stderr(`steward run: ${destructive.join("; ")}; nothing was applied\n  hint: the plan was written to ${shownPath(io.cwd, planned.written.json)}: review it (and its .md), then \`steward apply\` it\n`);
      return ExitCode.invalidInput;
    }
    if (!values.json) io.stdout(`plan ${planned.plan.id}: ${planned.plan.summary.planned} host(s) planned, ${planned.plan.summary.skipped} skipped\nwrote ${shownPath(io.cwd, planned.written.json)}\n`);
    return runApply(io, planned.written.json, { root, ...(values.json ? { json: true } : {}), ...(values.now !== undefined ? { now: values.now } : {}), ...(allowLocal ? { "allow-local": true } : {}), unattended: true });
  },
};
