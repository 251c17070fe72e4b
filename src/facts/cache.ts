import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "../core/fs.ts";
import { redactStrings, type RedactText } from "../core/redact-value.ts";
import { MAX_FACTS_FILE_BYTES, readFactsFile } from "./cache-read.ts";
import type { FactsResult } from "./types.ts";

/** Where a repository keeps cached facts: `.steward/facts/<host>.json`. */
export function factsCacheDir(root: string): string {
  return join(root, ".steward", "facts");
}

export interface WriteCachedFactsOptions {
  /**
   * The repository root, for the link checks of src/core/fs.ts. By default the folder
   * holding `.steward` when `dir` is `<root>/.steward/facts`, else `dir`'s parent.
   */
  root?: string;
  /** Applied to every string of the result before it is written, so no secret reaches the cache. */
  redact?: RedactText;
}

/**
 * Writes one host's result with writeFileAtomic (src/core/fs.ts): complete or not at
 * all, fsync'd, never through a symbolic link. See `cacheText` for the form.
 * @throws EnvironmentError when the folder is a link, read-only, forbidden or full.
 */
export async function writeCachedFacts(dir: string, result: FactsResult, options: WriteCachedFactsOptions = {}): Promise<string> {
  const path = join(dir, `${result.host}.json`);
  const value = options.redact === undefined ? result : redactStrings(result, options.redact);
  await writeFileAtomic(path, cacheText(value), { root: options.root ?? cacheRoot(dir) });
  return path;
}

/**
 * A result as a cache file holds it: compact JSON and a line feed. When that is larger
 * than the reader takes (MAX_FACTS_FILE_BYTES), a failed result saying so is written
 * instead, so the planner skips that one host with the reason rather than refusing a
 * file it cannot read.
 */
export function cacheText(result: FactsResult): string {
  const text = `${JSON.stringify(result)}\n`;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= MAX_FACTS_FILE_BYTES) return text;
  const failed: FactsResult = {
    host: result.host,
    ok: false,
    gatheredAt: result.gatheredAt,
    error: { kind: "output-too-large", message: `the facts are ${bytes} bytes as JSON, more than the ${MAX_FACTS_FILE_BYTES} a cached facts file may hold` },
  };
  return `${JSON.stringify(failed)}\n`;
}

function cacheRoot(dir: string): string {
  const parent = dirname(dir);
  return basename(dir) === "facts" && basename(parent) === ".steward" ? dirname(parent) : parent;
}

/**
 * Reads a cached result as untrusted input (see `readFactsFile`: no links, regular
 * files only, bounded, schema-checked); undefined when none is cached.
 */
export async function readCachedFacts(dir: string, host: string): Promise<FactsResult | undefined> {
  return readFactsFile(join(dir, `${host}.json`), host);
}
