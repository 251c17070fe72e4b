import { lstatSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { StewardError } from "../core/errors.ts";
import { FactsChecker } from "../drivers/check-facts.ts";
import { readFactsFile } from "../facts/cache-read.ts";
import type { FactsResult } from "../facts/types.ts";

/**
 * Reading what a plan is made from: the repository files it depends on (hashed into
 * the fingerprint) and cached facts. The planner itself stays pure; this is its I/O.
 */

/**
 * The inputs a plan's fingerprint covers: every inventory file, the runbook's own file and the
 * known_hosts file the inventory names (wherever it lies in the repository), as
 * repository paths with the sha256 of the exact bytes that were validated and
 * planned (`ValidationResult.hashes`, not a second read, which could see a file changed
 * in between; not the decoded text, which drops a BOM).
 */
export function hashInputs(hashes: ReadonlyMap<string, string>, runbookFile: string, knownHostsFile?: string): Array<{ path: string; sha256: string }> {
  return [...hashes]
    .filter(([path]) => path.startsWith("inventory/") || path === runbookFile || path === knownHostsFile)
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
 * a time rather than all of them. Each file is read as untrusted input (`readFactsFile`:
 * no links, regular files only, bounded, schema-checked). A file that cannot be used
 * fails that host only: it is returned as a failed result of kind "unparsable" whose
 * message names the file and the problem (never its contents), so the plan lists the
 * host as skipped with reason facts-failed while the other hosts are planned.
 * A missing `dir` means no facts (every host is then skipped with "no-facts") when
 * `mustExist` is false, as for the default cache; a folder the user named must exist.
 */
export async function openFactsCache(dir: string, options: { mustExist?: boolean } = {}): Promise<FactsSource> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT" && options.mustExist !== true) return [] as string[];
    if (error.code === "ENOENT") throw new StewardError("invalid-input", `facts folder ${dir} does not exist`, "check the --facts path, or gather facts with `steward facts` / `steward plan --gather`");
    if (error.code === "ENOTDIR") throw new StewardError("invalid-input", `facts folder ${dir} is not a folder`, "--facts names a folder of <host>.json files");
    throw error;
  });
  const files = new Set(names.filter((n) => n.endsWith(".json")));
  const checker = new FactsChecker();
  return {
    get(host: string): FactsResult | undefined {
      const name = `${host}.json`;
      if (!files.has(name)) return undefined;
      const path = join(dir, name);
      let result: FactsResult | undefined;
      try {
        result = readFactsFile(path, host);
      } catch (error) {
        if (!(error instanceof StewardError)) throw error;
        return { host, ok: false, gatheredAt: writtenAt(path), error: { kind: "unparsable", message: `cached facts ${error.message} (${error.hint ?? "gather facts again"})` } };
      }
      if (result === undefined) return undefined;
      const problem = result.ok ? checker.problem(result.facts) : undefined;
      return problem === undefined ? result : { host, ok: false, gatheredAt: result.gatheredAt, error: { kind: "unparsable", message: problem } };
    },
  };
}

/** When the file at `path` was last changed (the link itself, for a link), as the time of a failed result; the epoch when it is gone. */
function writtenAt(path: string): string {
  try {
    return lstatSync(path).mtime.toISOString();
  } catch {
    return new Date(0).toISOString();
  }
}
