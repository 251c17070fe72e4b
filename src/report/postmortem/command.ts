/**
 * `steward report postmortem <run-id>`: writes the post-incident write-up of a failed
 * or halted run to incidents/postmortems/<run-id>.md (never over one a person edited).
 * Core's `steward report` dispatcher calls {@link runPostmortem} with the arguments
 * after `postmortem`.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseFlags } from "../../cli/args.ts";
import { readPlanFile } from "../../apply/index.ts";
import { resultsProblems, type RunResults } from "../../apply/results.ts";
import { RUN_ID } from "../../audit/entry.ts";
import { StewardError, UsageError } from "../../core/errors.ts";
import { git } from "../../core/git.ts";
import { terminalText } from "../../core/text.ts";
import type { CommandIO } from "../../cli/io.ts";
import { renderPostmortem } from "./render.ts";
import { isGenerated, journalOf, postmortemPath, writePostmortem, type PostmortemWrite } from "./write.ts";

export const POSTMORTEM_USAGE = `usage: steward report postmortem <run-id> [--root DIR] [--stdout]

  Writes incidents/postmortems/<run-id>.md for a failed or halted run: summary, impact,
  a UTC timeline from the journal, what failed (step, exit code, output tail), the state
  each failed host was left in, contributing factors and action items to fill in.
  A write-up someone edited is never overwritten. --stdout prints it instead.`;

/** `steward report postmortem …`: returns the exit code. @throws UsageError (exit 2) for a bad run id or flags. */
export async function runPostmortem(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseFlags({ args: argv, options: { root: { type: "string" }, stdout: { type: "boolean" } }, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "name the run to write up" : `unexpected argument '${positionals[1]}'`, "steward report postmortem <run-id>");
  const runId = positionals[0]!;
  if (!RUN_ID.test(runId)) throw new UsageError(`${JSON.stringify(runId.slice(0, 80))} is not a run id`, "use the run id steward apply printed (runs/<run-id>/)");
  const root = resolve(io.cwd, values.root ?? ".");
  const written = await postmortemForRun(root, runId, values.stdout === true);
  if (values.stdout === true) io.stdout(written.content);
  else io.stdout(`${terminalText(written.path)}: ${written.action === "kept" ? "kept as it is: it was edited by hand, so steward does not overwrite it" : written.action}\n`);
  return 0;
}

/**
 * The write-up of a run from its committed files (results.json, journal.jsonl, the plan).
 * @param dryRun render only, write nothing (the content is what would be written).
 * @throws StewardError naming the missing or damaged file.
 */
export async function postmortemForRun(root: string, runId: string, dryRun = false): Promise<PostmortemWrite> {
  const results = await readResults(root, runId);
  const planFile = `plans/${results.plan.id}.json`;
  const plan = await readPlanFile(join(root, planFile), planFile);
  const journal = await journalOf(root, runId);
  if (dryRun) {
    return { path: postmortemPath(runId), action: "unchanged", content: renderPostmortem({ plan, results, journal, planFile }) };
  }
  return writePostmortem(root, { plan, results, journal, planFile });
}

/**
 * The write-up to publish with a run's results, without touching the work tree (a file
 * left there would block merging the results branch): a hand-edited version — in the
 * work tree, else committed at HEAD — is published as it is ("kept"); otherwise the
 * freshly generated text ("written").
 */
export async function postmortemToPublish(root: string, runId: string): Promise<PostmortemWrite> {
  const path = postmortemPath(runId);
  const fresh = await postmortemForRun(root, runId, true);
  const local = await readFile(join(root, path), "utf8").catch(() => undefined);
  const committed = local === undefined ? await git(root, ["cat-file", "blob", `HEAD:${path}`]).then((r) => (r.code === 0 ? r.stdout.toString("utf8") : undefined), () => undefined) : undefined;
  const existing = local ?? committed;
  if (existing !== undefined && !isGenerated(existing)) return { path, action: "kept", content: existing };
  return { path, action: existing === fresh.content ? "unchanged" : "written", content: fresh.content };
}

async function readResults(root: string, runId: string): Promise<RunResults> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(join(root, "runs", runId, "results.json"), "utf8"));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new StewardError("usage", missing ? `there is no run ${runId} (runs/${runId}/results.json does not exist)` : `runs/${runId}/results.json is not JSON`, "name a run steward apply finished");
  }
  const problems = resultsProblems(value);
  if (problems.length > 0) throw new StewardError("stale-plan", `runs/${runId}/results.json is not a results file steward writes: ${problems.slice(0, 3).join("; ")}`, "restore it from Git; `steward audit verify` names what changed");
  return value as RunResults;
}
