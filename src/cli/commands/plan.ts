import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { UsageError } from "../../core/errors.ts";
import { parsePlanTime } from "../../plan/clock.ts";
import { planRepository } from "../../plan/index.ts";
import { localAllowedByEnvironment } from "../../transport/registry.ts";
import { displayPath } from "../display-path.ts";
import { ExitCode } from "../exit-codes.ts";
import { limitArg } from "../limit-arg.ts";
import { outFolder } from "../out-path.ts";
import type { Command } from "../io.ts";

export const plan: Command = {
  summary: "plan a runbook: hosts, waves, per-host actions and skip reasons (plans/<id>.json and .md)",
  usage: `usage: steward plan <runbook> [--root DIR] [--limit SELECTOR] [--gather [--refresh] [--allow-local]] [--facts DIR] [--out DIR] [--now ISO]

  <runbook>         runbook name, or its file inside the repository: runbooks/security-patches.yaml,
                    ./runbooks/x.yaml (relative to this folder, then to the root) or an absolute path
  --root DIR        repository root (default: the current directory)
  --limit SEL       plan only targeted hosts this selector matches, e.g. 'group:web & !web-01';
                    refused when it names an unknown group, tag or host, or selects no targeted host
  --gather          gather facts over SSH first, for exactly the hosts this plan selects, into
                    the facts cache (a host that fails is skipped with its reason)
  --refresh         with --gather: refresh package lists first (apt-get update, through become)
  --allow-local     with --gather: allow hosts with transport: local, whose commands run on this
                    machine (also STEWARD_ALLOW_LOCAL=1); only for repositories whose YAML you trust
  --facts DIR       cached facts, one <host>.json per host (default: <root>/.steward/facts);
                    hosts without facts are skipped with the reason "no-facts"
  --out DIR         where the plan is written (default: <root>/plans); not -, and no other folder
                    inside runs/, plans/, facts/snapshots/, incidents/, inventory/, runbooks/,
                    schemas/, .git/ or .steward/
  --now ISO         the plan's clock, for reproducible plans (default: now): an ISO 8601 date-time
                    with a zone, years 2000–9999, e.g. 2026-11-24T01:30:00Z

The same inputs and --now give byte-identical files.
Exit codes (see README, Exit codes):
  0  planned (with --gather, hosts whose facts failed are in the plan as skipped, with the reason)
  2  usage: bad or repeated flag, bad --now, unknown runbook, a --limit that selects no targeted
     host, an --out inside steward's record
  3  invalid input: the repository has validation errors (run 'steward validate'), or the facts
     folder or a facts file is unreadable
  6  environment: the plan or facts could not be written (read-only, full, a symbolic link),
     or a secret is shorter than 8 characters`,
  async run(argv, io) {
    const { values, positionals } = parseFlags({
      args: argv,
      options: {
        root: { type: "string" },
        limit: { type: "string" },
        gather: { type: "boolean" },
        refresh: { type: "boolean" },
        "allow-local": { type: "boolean" },
        facts: { type: "string" },
        out: { type: "string" },
        now: { type: "string" },
      },
      strict: true,
      allowPositionals: true,
    });
    const [runbook, ...extra] = positionals;
    if (runbook === undefined || extra.length > 0) throw new UsageError(runbook === undefined ? "name the runbook to plan" : `one runbook at a time (got ${positionals.join(", ")})`, "steward plan security-patches");
    const root = resolve(io.cwd, values.root ?? ".");
    if (values.refresh && !values.gather) throw new UsageError("--refresh works only with --gather", "steward plan <runbook> --gather --refresh");
    if (values["allow-local"] && !values.gather) throw new UsageError("--allow-local works only with --gather", "steward plan <runbook> --gather --allow-local");
    const now = values.now === undefined ? new Date() : parsePlanTime(values.now);
    const limit = limitArg(values.limit);
    const outDir = values.out === undefined ? resolve(root, "plans") : await outFolder(values.out, io.cwd, root, "plans", "a plan is two files, <id>.json and <id>.md");
    const result = await planRepository({
      root,
      runbook,
      cwd: io.cwd,
      factsDir: values.facts !== undefined ? resolve(io.cwd, values.facts) : resolve(root, ".steward/facts"),
      outDir,
      now,
      toolVersion: await packageVersion(),
      ...(limit && values.limit !== undefined ? { limit, limitText: values.limit } : {}),
      secrets: io.secrets,
      ...(values.gather ? { gather: { refresh: values.refresh ?? false, env: io.env, allowLocal: values["allow-local"] === true || localAllowedByEnvironment(io.env) } } : {}),
    });
    if (!result.ok) {
      io.stderr(`steward plan: the repository has ${result.validation.errors} validation error(s); nothing was planned\n  hint: run 'steward validate' to see them\n`);
      return ExitCode.invalidInput;
    }
    const { plan: p, written } = result;
    const reasons = Object.entries(p.summary.skippedByReason).map(([k, v]) => `${v} ${k}`);
    const failedFacts = result.gathered?.filter((r) => !r.ok).length ?? 0;
    io.stdout(
      [
        ...(result.gathered ? [`facts: gathered from ${result.gathered.length - failedFacts} of ${result.gathered.length} hosts${failedFacts > 0 ? ` (${failedFacts} failed; skipped in the plan with their reason)` : ""}`] : []),
        `plan ${p.id}`,
        `  hosts: ${p.summary.planned} planned, ${p.summary.skipped} skipped${reasons.length > 0 ? ` (${reasons.join(", ")})` : ""}`,
        `  waves: ${p.summary.waves.length === 0 ? "none" : `${p.summary.waves.length} (hosts per wave: ${p.summary.waves.join(" → ")})`}`,
        `  package upgrades: ${p.summary.upgrades}; reboots expected: ${p.summary.rebootsExpected}`,
        p.window ? `  window: ${p.window.opens ? `${p.window.opens} – ${p.window.closes}` : `never opens (${p.window.never})`}` : "  window: none",
        `wrote ${displayPath(io.cwd, written.json)}`,
        `wrote ${displayPath(io.cwd, written.markdown)}`,
        "",
      ].join("\n"),
    );
    return ExitCode.ok;
  },
};

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}
