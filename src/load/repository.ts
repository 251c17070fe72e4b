import { lstat, readdir, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, relative, sep } from "node:path";
import type { Diagnostic } from "../core/diagnostic.ts";
import { readRepositoryFile, realRoot, type ReadProblem } from "./read-file.ts";
import { parseYaml, type YamlSource } from "./yaml-source.ts";

/** The YAML of a steward repository, parsed, with every load problem collected. */
export interface LoadedRepository {
  root: string;
  /** The repository root with symbolic links resolved: what "inside the repository" means. */
  realRoot: string;
  inventory: YamlSource[];
  runbooks: YamlSource[];
  diagnostics: Diagnostic[];
  /** Every YAML file found under inventory/ and runbooks/, by repository path, whether or not it could be read. */
  files: string[];
  /** The text of every file read, by repository path, whether or not it parsed. */
  texts: Map<string, string>;
  /** The sha256 (hex) of the exact bytes of every file read, by repository path. */
  hashes: Map<string, string>;
}

/**
 * YAML files by extension, in any case: `hosts.YAML` made on a case-insensitive file
 * system is as much a YAML file as `hosts.yaml`, and skipping it would lose what it
 * declares without a word. Folders are read recursively (`runbooks/db/backup.yaml`).
 */
const YAML_FILE = /\.ya?ml$/i;

export function toRepoPath(root: string, path: string): string {
  return relative(root, path).split(sep).join("/");
}

function fileProblem(file: string, problem: ReadProblem): Diagnostic {
  return { severity: "error", rule: problem.rule, file, line: problem.line ?? 1, column: problem.column ?? 1, pointer: "", message: problem.message, ...(problem.hint === undefined ? {} : { hint: problem.hint }) };
}

/** Lines an Ansible INI inventory has and a steward file never does. */
const ANSIBLE_INI = /^\s*\[[A-Za-z0-9_.:-]+\]\s*$|\bansible_(host|user|port|ssh_\w+|become\w*)=/m;

/** Why a folder that should hold YAML files cannot be listed; undefined when it is simply absent. */
async function folderProblem(root: string, real: string, folder: string): Promise<Diagnostic | undefined> {
  const path = join(root, folder);
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return fileProblem(folder, { rule: "load/unreadable", message: `\`${folder}\` cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
  }
  if (stats.isDirectory()) return undefined;
  if (stats.isSymbolicLink()) {
    const read = await readRepositoryFile(real, path, folder);
    // A link to a folder inside the repository is read through; anything else is refused.
    if (!read.ok && read.problem.rule === "load/not-a-file" && /directory/.test(read.problem.message)) return undefined;
    if (!read.ok && read.problem.rule === "load/symlink") return fileProblem(folder, read.problem);
  }
  if (folder === "inventory" && stats.isFile()) {
    const read = await readRepositoryFile(real, path, folder);
    const ansible = read.ok && ANSIBLE_INI.test(read.text);
    return fileProblem(folder, {
      rule: "load/not-a-folder",
      message: ansible ? "`inventory` is a file that looks like an Ansible INI inventory; steward reads a folder of YAML files" : "`inventory` is a file; steward reads a folder of YAML files",
      hint: ansible
        ? "move it aside (e.g. to ansible-hosts.ini), create the folder inventory/ and write the hosts as YAML in inventory/hosts.yaml (hosts: NAME: { address: IP, groups: [GROUP] }); `ansible-inventory -i ansible-hosts.ini --list` prints every host, group and variable to copy"
        : "create the folder inventory/ and move the file into it with a .yaml name",
    });
  }
  return fileProblem(folder, { rule: "load/not-a-folder", message: `\`${folder}\` is not a folder`, hint: `make \`${folder}\` a folder of .yaml files` });
}

/** Files under a folder that may hold YAML; the folder may be a link inside the repository. */
async function yamlEntries(root: string, real: string, folder: string, diagnostics: Diagnostic[]): Promise<string[]> {
  const problem = await folderProblem(root, real, folder);
  if (problem) {
    diagnostics.push(problem);
    return [];
  }
  let entries;
  try {
    entries = await readdir(join(root, folder), { withFileTypes: true, recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return [];
    diagnostics.push(fileProblem(folder, { rule: "load/unreadable", message: `\`${folder}\` cannot be listed (${code ?? String(error)})` }));
    return [];
  }
  const files: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) continue;
    const path = join(e.parentPath, e.name);
    if (YAML_FILE.test(e.name)) files.push(path);
    else if (e.isSymbolicLink()) {
      // A linked folder is not descended into; say so rather than lose what it holds.
      const isDir = await stat(path).then((st) => st.isDirectory(), () => false);
      if (isDir) diagnostics.push(fileProblem(toRepoPath(root, path), { rule: "load/symlink", message: `\`${toRepoPath(root, path)}\` is a symbolic link to a folder, which steward does not follow`, hint: "move the files into the folder, or link each file" }));
    }
  }
  return files.sort();
}

async function loadFolder(root: string, real: string, folder: string, loaded: LoadedRepository): Promise<YamlSource[]> {
  const sources: YamlSource[] = [];
  for (const path of await yamlEntries(root, real, folder, loaded.diagnostics)) {
    const file = toRepoPath(root, path);
    loaded.files.push(file);
    const read = await readRepositoryFile(real, path, file);
    if (!read.ok) {
      loaded.diagnostics.push(fileProblem(file, read.problem));
      continue;
    }
    loaded.texts.set(file, read.text);
    loaded.hashes.set(file, read.sha256);
    const parsed = parseYaml(file, read.text);
    loaded.diagnostics.push(...parsed.diagnostics);
    if (parsed.source) sources.push(parsed.source);
  }
  return sources;
}

/** Reads every `*.yaml`/`*.yml` file (any case, any depth) under `inventory/` and `runbooks/` of a repository; never throws on what it finds. */
export async function loadRepository(root: string): Promise<LoadedRepository> {
  const real = await realRoot(root);
  const loaded: LoadedRepository = { root, realRoot: real, inventory: [], runbooks: [], diagnostics: [], files: [], texts: new Map(), hashes: new Map() };
  const kind = await stat(root).catch(() => undefined);
  if (kind && !kind.isDirectory()) {
    loaded.diagnostics.push(fileProblem(".", { rule: "load/not-a-folder", message: `the repository root \`${root}\` is not a folder`, hint: "pass the folder that holds inventory/ and runbooks/ with --root" }));
    return loaded;
  }
  loaded.inventory = await loadFolder(root, real, "inventory", loaded);
  loaded.runbooks = await loadFolder(root, real, "runbooks", loaded);
  return loaded;
}

/** A file a YAML value names, as read: its text, or that it is missing, or why it may not or cannot be read. */
export type NamedFile = { file: string; text: string; sha256: string } | { file: string; missing: true } | { file: string; problem: ReadProblem };

/**
 * Reads a file named by a YAML value (e.g. `defaults.known_hosts`). The path is relative
 * to the repository root and must stay inside it: absolute paths, `..` that climbs out,
 * and links leading out are refused without reading anything.
 */
export async function readNamedFile(loaded: LoadedRepository, value: string): Promise<NamedFile> {
  const file = value;
  if (isAbsolute(value) || /^~/.test(value)) return { file, problem: { rule: "load/outside-repository", message: `\`${value}\` is an absolute path; steward reads only files inside the repository`, hint: "copy the file into the repository and give its path relative to the repository root" } };
  const normal = normalize(value);
  if (normal === ".." || normal.startsWith(`..${sep}`)) return { file, problem: { rule: "load/outside-repository", message: `\`${value}\` leads outside the repository`, hint: "copy the file into the repository and give its path relative to the repository root" } };
  const path = join(loaded.root, normal);
  const exists = await lstat(path).then(() => true, () => false);
  if (!exists) return { file, missing: true };
  const read = await readRepositoryFile(loaded.realRoot, path, value);
  if (!read.ok) return { file, problem: read.problem };
  return { file: toRepoPath(loaded.root, path), text: read.text, sha256: read.sha256 };
}
