import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { StewardError } from "../core/errors.ts";
import type { FactsResult } from "../facts/types.ts";

/**
 * Reading what a plan is made from: the repository files it depends on (hashed into
 * the fingerprint) and cached facts. The planner itself stays pure; this is its I/O.
 */

/**
 * The inputs a plan's fingerprint covers: every inventory file plus the runbook's own
 * file, as repository paths with the sha256 of the exact text that was validated and
 * planned (not of a second read, which could see a file changed in between).
 */
export function hashInputs(texts: ReadonlyMap<string, string>, runbookFile: string): Array<{ path: string; sha256: string }> {
  return [...texts]
    .filter(([path]) => path.startsWith("inventory/") || path === runbookFile)
    .map(([path, text]) => ({ path, sha256: createHash("sha256").update(text, "utf8").digest("hex") }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Cached facts: one `<host>.json` FactsResult per host in `dir`. A missing directory
 * means no facts (every host is then skipped with "no-facts"); a file that is not a
 * FactsResult is an error naming the file, never silently ignored.
 */
export async function readFactsCache(dir: string): Promise<Map<string, FactsResult>> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  const out = new Map<string, FactsResult>();
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    const path = join(dir, name);
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path, "utf8"));
    } catch (error) {
      throw new StewardError("invalid-input", `${path}: not JSON (${error instanceof Error ? error.message : String(error)})`, "delete the file or gather facts again with `steward facts`");
    }
    const result = value as Partial<FactsResult>;
    const host = name.slice(0, -".json".length);
    if (typeof result !== "object" || result === null || typeof result.ok !== "boolean" || typeof result.host !== "string" || (result.ok && typeof (result as { facts?: unknown }).facts !== "object")) {
      throw new StewardError("invalid-input", `${path}: not a facts result (expected { host, ok, gatheredAt, facts | error })`, "gather facts again with `steward facts`");
    }
    if (result.host !== host) throw new StewardError("invalid-input", `${path}: holds facts for '${result.host}', not '${host}'`, `rename it to ${result.host}.json or gather facts again`);
    out.set(host, result as FactsResult);
  }
  return out;
}
