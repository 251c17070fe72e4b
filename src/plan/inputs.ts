import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { StewardError } from "../core/errors.ts";
import type { FactsResult } from "../facts/types.ts";

/**
 * Reading what a plan is made from: the repository files it depends on (hashed into
 * the fingerprint) and cached facts. The planner itself stays pure; this is its I/O.
 */

/** Every file under inventory/ plus the runbook's own file, as repository paths with sha256. */
export async function hashInputs(root: string, runbookFile: string): Promise<Array<{ path: string; sha256: string }>> {
  const files = [...(await listFiles(join(root, "inventory"))), join(root, runbookFile)];
  const out: Array<{ path: string; sha256: string }> = [];
  for (const file of files) {
    const bytes = await readFile(file);
    out.push({ path: relative(root, file).split(sep).join("/"), sha256: createHash("sha256").update(bytes).digest("hex") });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
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
