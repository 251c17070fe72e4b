import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readFactsFile } from "./cache-read.ts";
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

/**
 * Reads a cached result as untrusted input (see `readFactsFile`: no links, regular
 * files only, bounded, schema-checked); undefined when none is cached.
 */
export async function readCachedFacts(dir: string, host: string): Promise<FactsResult | undefined> {
  return readFactsFile(join(dir, `${host}.json`), host);
}
