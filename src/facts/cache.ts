import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FactsResult } from "./types.ts";

/** Where a repository keeps cached facts: `.steward/facts/<host>.json`. */
export function factsCacheDir(root: string): string {
  return join(root, ".steward", "facts");
}

/**
 * Writes one host's result atomically: a temporary file in the same folder, then a
 * rename, so a reader (or a crash) never sees half a file.
 */
export async function writeCachedFacts(dir: string, result: FactsResult): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${result.host}.json`);
  const temp = join(dir, `.${result.host}.json.${process.pid}.${Date.now()}.tmp`);
  await writeFile(temp, `${JSON.stringify(result, null, 2)}\n`);
  await rename(temp, path);
  return path;
}

/** Reads a cached result; undefined when none is cached. */
export async function readCachedFacts(dir: string, host: string): Promise<FactsResult | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, `${host}.json`), "utf8")) as FactsResult;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
