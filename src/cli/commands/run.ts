import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { UsageError } from "../../core/errors.ts";
import { assertApplicable } from "../../apply/preflight.ts";
import { planRepository } from "../../plan/index.ts";
import { selectedHostNames } from "../../plan/planner.ts";
import { checkPlanLimit, findRunbook } from "../../plan/selection.ts";
import { indexInventory } from "../../model/selector.ts";
import { validateRepository } from "../../validate/index.ts";
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
 * same verification, lock, journal, results and report. What apply would refuse
 * whatever the facts say (a step kind that cannot run yet, a secret a step reads that
 * is unset or empty on a selected host) is refused first, before facts are gathered
 * or a plan is written, so a refused run leaves no plan behind.
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
    const { values, positionals } = parseFlags({
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
    const now = clock?.() ?? new Date();
    // What apply would refuse whatever the facts say is refused first: nothing gathered, nothing written.
    const validation = await validateRepository(root, { now });
    if (validation.errors === 0) {
      const book = await findRunbook(validation.runbooks, runbook, root, io.cwd);
      if (limit) checkPlanLimit(limit, values.limit ?? "", indexInventory(validation.inventory), book);
      io.secrets.registerRepository(validation.inventory, validation.runbooks);
      const hosts = selectedHostNames(validation.inventory, book, limit);
      assertApplicable({ steps: book.steps, ...(book.vars ? { vars: book.vars } : {}), inventory: validation.inventory, hosts, secrets: io.secrets, env: io.env }, "nothing was planned or applied");
    }
    const planned = await planRepository({
      root,
      runbook,
      // A runbook named by its path is found from here first, as \`steward plan\` finds it.
      cwd: io.cwd,
      factsDir: resolve(root, ".steward/facts"),
      outDir: resolve(root, "plans"),
      now,
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
    const shown = shownPath(io.cwd, planned.written.json);
    try {
      return await runApply(io, planned.written.json, { root, ...(values.json ? { json: true } : {}), ...(values.now !== undefined ? { now: values.now } : {}), ...(allowLocal ? { "allow-local": true } : {}), unattended: true });
    } catch (error) {
      // Refused after the plan was written (another run holds it, the journal cannot be made): say where it is.
      io.stderr(`steward run: the plan ${shown} was written before apply stopped, and is kept: apply it with \`steward apply ${shown}\` once the problem below is fixed, or delete it\n`);
      throw error;
    }
  },
};
