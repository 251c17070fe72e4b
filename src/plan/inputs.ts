import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { StewardError } from "../core/errors.ts";
import { FactsChecker } from "../drivers/check-facts.ts";
import type { FactsResult } from "../facts/types.ts";

/**
 * Reading what a plan is made from: the repository files it depends on (hashed into
 * the fingerprint) and cached facts. The planner itself stays pure; this is its I/O.
 */

/**
 * The inputs a plan's fingerprint covers: every inventory file plus the runbook's own
 * file, as repository paths with the sha256 of the exact bytes that were validated and
 * planned (`ValidationResult.hashes`, not a second read, which could see a file changed
 * in between; not the decoded text, which drops a BOM).
 */
export function hashInputs(hashes: ReadonlyMap<string, string>, runbookFile: string): Array<{ path: string; sha256: string }> {
  return [...hashes]
    .filter(([path]) => path.startsWith("inventory/") || path === runbookFile)
    .map(([path, sha256]) => ({ path, sha256 }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Facts per host as the planner reads them: `get` once per host, nothing else. A Map is one. */
export interface FactsSource {
  get(host: string): FactsResult | undefined;
}

/**
 * Cached facts: one `<host>.json` FactsResult per host in `dir`, read when the planner
 * asks for that host and not kept, so planning a large fleet holds one host's facts at
 * a time rather than all of them. A missing directory means no facts (every host is
 * then skipped with "no-facts"); a file that is not a FactsResult is an error naming
 * the file, never silently ignored. Package names and versions are checked against
 * their manager's grammar as the gatherer's parsers check them (a cache may predate
 * those checks): a host whose cached facts break it reads as failed, `unparsable`.
 */
export async function openFactsCache(dir: string): Promise<FactsSource> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  const files = new Set(names.filter((n) => n.endsWith(".json")));
  const checker = new FactsChecker();
  return {
    get(host: string): FactsResult | undefined {
      const name = `${host}.json`;
      if (!files.has(name)) return undefined;
      const result = readCachedResult(join(dir, name), host);
      const problem = result.ok ? checker.problem(result.facts) : undefined;
      return problem === undefined ? result : { host, ok: false, gatheredAt: result.gatheredAt, error: { kind: "unparsable", message: problem } };
    },
  };
}

function readCachedResult(path: string, host: string): FactsResult {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new StewardError("invalid-input", `${path}: not JSON (${error instanceof Error ? error.message : String(error)})`, "delete the file or gather facts again with `steward facts`");
  }
  const result = value as Partial<FactsResult>;
  if (typeof result !== "object" || result === null || typeof result.ok !== "boolean" || typeof result.host !== "string" || (result.ok && typeof (result as { facts?: unknown }).facts !== "object")) {
    throw new StewardError("invalid-input", `${path}: not a facts result (expected { host, ok, gatheredAt, facts | error })`, "gather facts again with `steward facts`");
  }
  if (result.host !== host) throw new StewardError("invalid-input", `${path}: holds facts for '${result.host}', not '${host}'`, `rename it to ${result.host}.json or gather facts again`);
  return result as FactsResult;
}
