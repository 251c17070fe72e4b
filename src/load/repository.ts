import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { Diagnostic } from "../core/diagnostic.ts";
import { MAX_FILE_BYTES, parseYaml, type YamlSource } from "./yaml-source.ts";

/** The YAML of a steward repository, parsed, with every load problem collected. */
export interface LoadedRepository {
  root: string;
  inventory: YamlSource[];
  runbooks: YamlSource[];
  diagnostics: Diagnostic[];
  /** The text of every file read, by repository path, whether or not it parsed. */
  texts: Map<string, string>;
}

const YAML_FILE = /\.ya?ml$/;

async function yamlFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries
    .filter((e) => e.isFile() && YAML_FILE.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export function toRepoPath(root: string, path: string): string {
  return relative(root, path).split(sep).join("/");
}

async function loadFolder(root: string, folder: string, diagnostics: Diagnostic[], texts: Map<string, string>): Promise<YamlSource[]> {
  const sources: YamlSource[] = [];
  for (const path of await yamlFiles(join(root, folder))) {
    const file = toRepoPath(root, path);
    const size = (await stat(path)).size;
    if (size > MAX_FILE_BYTES) {
      diagnostics.push({
        severity: "error",
        rule: "yaml/too-large",
        file,
        line: 1,
        column: 1,
        pointer: "",
        message: `file is ${(size / 1048576).toFixed(1)} MiB; the limit is ${MAX_FILE_BYTES / 1048576} MiB`,
        hint: "split it into several files in the same folder; they are merged",
      });
      continue;
    }
    const text = await readFile(path, "utf8");
    texts.set(file, text);
    const parsed = parseYaml(file, text);
    diagnostics.push(...parsed.diagnostics);
    if (parsed.source) sources.push(parsed.source);
  }
  return sources;
}

/** Reads every `*.yaml`/`*.yml` file under `inventory/` and `runbooks/` of a repository. */
export async function loadRepository(root: string): Promise<LoadedRepository> {
  const diagnostics: Diagnostic[] = [];
  const texts = new Map<string, string>();
  const inventory = await loadFolder(root, "inventory", diagnostics, texts);
  const runbooks = await loadFolder(root, "runbooks", diagnostics, texts);
  return { root, inventory, runbooks, diagnostics, texts };
}
