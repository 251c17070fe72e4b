import { realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { UsageError } from "../core/errors.ts";
import { didYouMean } from "../core/suggest.ts";
import { limitedHosts } from "../model/limit.ts";
import { evaluateSelector, parseSelector, type Selector, type SelectorIndex } from "../model/selector.ts";
import type { Runbook } from "../model/types.ts";

/** A runbook name as the schema allows it; anything else given for a runbook is read as its file. */
const RUNBOOK_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The real path of an existing file, or undefined when there is none. */
async function existingFile(path: string): Promise<string | undefined> {
  try {
    return (await stat(path)).isFile() ? await realpath(path) : undefined;
  } catch {
    return undefined;
  }
}

function inside(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  return rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? undefined : rel.split(sep).join("/");
}

/**
 * The runbook `steward plan <runbook>` names: by its name, by its repository-relative
 * file (`runbooks/x.yaml`), or by any path to that file — relative to `cwd` (tried
 * first) or to `root`, or absolute, links resolved. A path must lead to a file inside
 * the repository. An argument that is neither a runbook name, an existing file, nor a
 * `.yaml`/`.yml` name is reported as an unknown runbook name.
 * @throws UsageError (exit 2): no runbook of that name (with a did-you-mean), no such
 * file, a file outside the repository, or a file that is not one of its runbooks.
 */
export async function findRunbook(runbooks: readonly Runbook[], wanted: string, root: string, cwd: string): Promise<Runbook> {
  const direct = runbooks.find((r) => r.name === wanted || r.file === wanted);
  if (direct) return direct;
  const names = runbooks.map((r) => r.name).sort();
  const files = runbooks.map((r) => r.file).sort();
  const noName = (): UsageError => new UsageError(`no runbook is named '${wanted}'`, didYouMean(wanted, names) ?? `runbooks: ${names.join(", ") || "none"}`);
  if (RUNBOOK_NAME.test(wanted)) throw noName();
  const candidates = isAbsolute(wanted) ? [wanted] : [resolve(cwd, wanted), resolve(root, wanted)];
  let file: string | undefined;
  for (const candidate of candidates) if ((file = await existingFile(candidate)) !== undefined) break;
  const realRoot = (await realpath(root).catch(() => undefined)) ?? resolve(root);
  if (file === undefined) {
    // Neither a name nor an existing file: only a YAML file name reads as a path meant.
    if (!/\.ya?ml$/i.test(wanted)) throw noName();
    const outside = candidates.every((c) => inside(resolve(root), c) === undefined && inside(realRoot, c) === undefined);
    if (outside) throw new UsageError(`runbook file '${wanted}' is outside the repository ${root}`, `plan a runbook of this repository (${files.join(", ") || "none"}), or name its repository with --root`);
    throw new UsageError(`no runbook file '${wanted}': no such file${isAbsolute(wanted) ? "" : ` in ${cwd} or in the repository ${root}`}`, `runbooks: ${files.join(", ") || "none"}`);
  }
  const rel = inside(realRoot, file);
  if (rel === undefined) throw new UsageError(`runbook file '${wanted}' is outside the repository ${root}`, `plan a runbook of this repository (${files.join(", ") || "none"}), or name its repository with --root`);
  const runbook = runbooks.find((r) => r.file === rel);
  if (!runbook) throw new UsageError(`'${wanted}' (${rel}) is not a runbook of this repository`, `runbooks are read from runbooks/*.yaml: ${files.join(", ") || "none"}`);
  return runbook;
}

/**
 * Checks `--limit` against the runbook before anything is gathered or planned: it must
 * name only groups, tags and hosts the inventory has, select some host, and select
 * some host the runbook targets. Otherwise the plan would be empty, and an empty plan
 * looks like "nothing to do" rather than the mistake it is.
 * @throws UsageError (exit 2) saying which, and what the runbook targets.
 */
export function checkPlanLimit(limit: Selector, text: string, index: SelectorIndex, runbook: Runbook): void {
  const matched = limitedHosts(limit, text, index);
  const targeted = evaluateSelector(parseSelector(runbook.targets), index);
  if ([...matched].some((h) => targeted.has(h))) return;
  const sorted = [...matched].sort();
  const shown = sorted.length <= 5 ? sorted.join(", ") : `${sorted.slice(0, 5).join(", ")}, …`;
  throw new UsageError(`--limit '${text}' matches ${sorted.length} host${sorted.length === 1 ? "" : "s"} (${shown}), none targeted by runbook ${runbook.name} (targets: ${runbook.targets})`, "choose hosts the runbook targets, or plan the runbook that targets these");
}
