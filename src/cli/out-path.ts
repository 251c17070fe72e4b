/**
 * Where a command's `--out` may write. Two rules, the same for every command:
 *
 * - `--out -` is standard output for a command that prints its result anyway (the
 *   reports); a command that writes several files (plan) refuses it, as it refuses an
 *   empty name: a file named "-" is never what was meant.
 * - Nothing is written into the files steward keeps as its record — the run history
 *   and audit log, saved plans, facts snapshots, incidents, the repository's YAML and
 *   schemas, `.git` and `.steward` — however the path is spelt: `..` is resolved, and
 *   so are symbolic links in the folders above (and in the name itself), so
 *   `--out reports/../runs/audit.jsonl` or a folder linked into `runs/` is refused like
 *   `--out runs/audit.jsonl`. A report written there would overwrite the evidence it
 *   was made from.
 *
 * - A name holding a control, line-separator or format character (`a\nb.md`) is
 *   refused: such a file forges lines in every listing that shows it.
 *
 * Refusals are usage errors (exit 2) naming the path (quoted by quotedName,
 * src/core/text.ts) and what it holds. The GitHub Actions job summary file
 * (`$GITHUB_STEP_SUMMARY`, {@link jobSummaryFile}) is checked by the same rules; it
 * comes from the runner's environment rather than the command line, so its refusals
 * are environment errors (exit 6).
 */
import { realpath, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { EnvironmentError, StewardError, UsageError } from "../core/errors.ts";
import { hasUnprintable, quotedName } from "../core/text.ts";
import { displayPath } from "./display-path.ts";

/** The folders and files of a repository that hold steward's record, relative to its root, most specific first. */
export const MANAGED_PATHS: ReadonlyArray<{ path: string; holds: string }> = [
  { path: "runs/audit.jsonl", holds: "the audit log, the hash-chained record of every apply" },
  { path: "runs", holds: "the run records (each apply's journal, results and report)" },
  { path: "plans", holds: "the saved plans (what apply runs, exactly as approved)" },
  { path: "facts/snapshots", holds: "the facts snapshots every report is computed from" },
  { path: "incidents", holds: "the incidents and post-incident write-ups" },
  { path: "inventory", holds: "the inventory (hosts, groups, pinned host keys)" },
  { path: "runbooks", holds: "the runbooks" },
  { path: "schemas", holds: "the JSON Schemas the repository is validated against" },
  { path: ".git", holds: "the git repository itself" },
  { path: ".steward", holds: "steward's working state (facts cache, locks, reviews, the sandbox fleet)" },
];

/** The record's folders as a message lists them ("runs/, plans/, … and .steward/"), from MANAGED_PATHS. */
const FOLDERS = ((names: string[]) => `${names.slice(0, -1).join(", ")} and ${names.at(-1)!}`)(MANAGED_PATHS.filter((m) => m.path !== "runs/audit.jsonl").map((m) => `${m.path}/`));

/**
 * `--out FILE` of a command that prints its result when there is no `--out`: undefined
 * for standard output (no `--out`, or `--out -`), else the absolute path to write.
 * @param root the repository the command reads (its `--root`).
 * @throws UsageError for an empty name or a path inside steward's record (see module comment).
 */
export async function outFile(value: string | undefined, cwd: string, root: string): Promise<string | undefined> {
  if (value === undefined || value === "-") return undefined;
  if (value === "") throw new UsageError("--out is empty", "name the file to write, --out - for standard output, or omit --out to print it");
  refuseUnprintable(value);
  const path = resolve(cwd, value);
  await refuseManaged(path, cwd, root, "name a file outside them (e.g. --out status.md), or omit --out to print it");
  return path;
}

/**
 * `--out DIR` of a command that writes several files into a folder (plan): the
 * absolute folder; `keep` (relative to the root, e.g. "plans") is the command's own
 * folder inside the record, the one place there it may write.
 * @throws UsageError for `-` or an empty name, or a folder inside steward's record other than `keep`.
 */
export async function outFolder(value: string, cwd: string, root: string, keep: string, what: string): Promise<string> {
  if (value === "" || value === "-") throw new UsageError(`--out ${JSON.stringify(value)} names no folder: ${what}, so there is nothing to print`, `name a folder, or omit --out for ${keep}/`);
  refuseUnprintable(value);
  const path = resolve(cwd, value);
  await refuseManaged(path, cwd, root, `name a folder outside them, or omit --out for ${keep}/`, keep);
  return path;
}

/**
 * `$GITHUB_STEP_SUMMARY`, the file GitHub Actions shows as the job summary: undefined
 * when it is unset or empty (not running in Actions), else the absolute path, checked
 * as `--out` is (module comment) before anything is written. The runner sets it to a
 * plain file under its own temp folder; anything else is a broken or hostile setting.
 * The summary is appended to, in place (not replaced by a rename as `--out` files are),
 * so a file with more than one name — a hard link, which may be a record file such as
 * runs/audit.jsonl under another name that no path check can see — is refused too.
 * @param root the repository the command works on (its `--root`).
 * @throws EnvironmentError (exit 6) naming the variable: a control or format character
 *   in the name, a path inside steward's record, or an existing file with several links.
 */
export async function jobSummaryFile(env: NodeJS.ProcessEnv, cwd: string, root: string): Promise<string | undefined> {
  const value = env["GITHUB_STEP_SUMMARY"];
  if (value === undefined || value === "") return undefined;
  const fix = "GitHub Actions sets GITHUB_STEP_SUMMARY itself: do not set or override it in the workflow (or set it to a writable file outside steward's record)";
  const refuse = (message: string, hint: string): StewardError => new EnvironmentError(message, hint);
  refuseUnprintable(value, "GITHUB_STEP_SUMMARY", refuse, fix);
  const path = resolve(cwd, value);
  await refuseManaged(path, cwd, root, fix, undefined, "GITHUB_STEP_SUMMARY", refuse);
  const links = await stat(path).then(
    (s) => (s.isFile() ? s.nlink : 1),
    () => 1,
  );
  if (links > 1) throw refuse(`GITHUB_STEP_SUMMARY ${quotedName(displayPath(cwd, path))} is a file with ${links} names (hard links): it could be one of steward's record files under another name, and the summary is appended to it in place`, fix);
  return path;
}

/**
 * Refuses an output name holding a control, line-separator or format character.
 * @throws UsageError naming it escaped (or what `refuse` makes).
 */
export function refuseUnprintable(value: string, flag = "--out", refuse: (message: string, hint: string) => StewardError = (m, h) => new UsageError(m, h), fix = "name the file with printable characters only"): void {
  if (hasUnprintable(value)) throw refuse(`${flag} ${quotedName(value)} holds a control or format character: steward writes no file whose name can forge lines in a listing`, fix);
}

/** The path the kernel would reach: links resolved in every existing component, the rest appended. */
async function realTarget(path: string): Promise<string> {
  const rest: string[] = [];
  let at = path;
  for (;;) {
    try {
      return join(await realpath(at), ...rest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Missing (or a dangling link): look at the folder above. Anything else: the write will say.
      if (code !== "ENOENT" && code !== "ENOTDIR") return path;
      const up = dirname(at);
      if (up === at) return path;
      rest.unshift(basename(at));
      at = up;
    }
  }
}

function within(base: string, path: string): string | undefined {
  const rel = relative(base, path);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return rel === "" ? "" : undefined;
  return rel.split(sep).join("/");
}

async function refuseManaged(path: string, cwd: string, root: string, fix: string, keep?: string, flag = "--out", refuse: (message: string, hint: string) => StewardError = (m, h) => new UsageError(m, h)): Promise<void> {
  const lexicalRoot = resolve(root);
  const realRoot = await realTarget(lexicalRoot);
  const real = await realTarget(path);
  for (const [base, target] of [[lexicalRoot, path], [realRoot, real]] as const) {
    const rel = within(base, target);
    if (rel === undefined || rel === "" || rel === keep) continue;
    const managed = MANAGED_PATHS.find((m) => rel === m.path || rel.startsWith(`${m.path}/`));
    if (managed === undefined) continue;
    const via = real !== path ? ` (it resolves to ${quotedName(real)})` : "";
    const where = rel === managed.path && managed.path.endsWith(".jsonl") ? managed.path : `${managed.path}/`;
    throw refuse(`${flag} ${quotedName(displayPath(cwd, path))}${via}: ${where} holds ${managed.holds}; steward never writes output over its own record`, `steward writes nothing under ${FOLDERS}: ${fix}`);
  }
}
