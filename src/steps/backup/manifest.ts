/**
 * The manifest of a backup: every regular file under the backed-up paths with its size
 * and sha256, taken on the host at backup time and compared after a test restore.
 *
 * Read from the host with GNU find and coreutils' `sha256sum -z` (file names are then
 * NUL-terminated and never escaped), so any file name survives. Stored on the host as
 * JSON lines, `{"path":…,"size":…,"sha256":…}` sorted by path: exact, and readable with
 * `jq`. Files that change between the backup and the manifest show up as mismatches at
 * verification: back up quiescent data (a dump, not a live database folder).
 */
import { shellQuote } from "../../transport/shell.ts";

/** One file of a manifest. */
export interface ManifestEntry {
  /** Absolute path as backed up. */
  path: string;
  /** Bytes. */
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

/** Most files a manifest holds; past it the step fails rather than keep an unbounded list. */
export const MAX_MANIFEST_FILES = 200_000;
const MAX_PATH = 4096;
const SEPARATOR = "=";

/**
 * A script printing, for the files under `roots`: `SIZE PATH\0` for each, then `=\0`,
 * then `SHA256  PATH\0` for each. Exits non-zero when a root does not exist. `roots` are
 * absolute paths (quoted here).
 */
export function manifestScript(roots: readonly string[]): string {
  const quoted = roots.map(shellQuote).join(" ");
  return [
    "set -e",
    `for p in ${quoted}; do test -e "$p" || { echo "missing: $p" >&2; exit 4; }; done`,
    `find ${quoted} -type f -printf '%s %p\\0'`,
    `printf '${SEPARATOR}\\0'`,
    `find ${quoted} -type f -print0 | xargs -0r sha256sum -z --`,
  ].join("\n");
}

/**
 * The manifest from manifestScript's output, sorted by path, every value checked:
 * sizes are integers, digests 64 hex digits, paths absolute, at most 4096 bytes, and
 * each file has both a size and a digest.
 * @throws Error naming the first malformed record, or too many files.
 */
export function parseManifestOutput(stdout: string): ManifestEntry[] {
  const records = stdout.split("\0");
  const sep = records.indexOf(SEPARATOR);
  if (sep < 0) throw new Error("the file list has no separator");
  const sizes = new Map<string, number>();
  for (const rec of records.slice(0, sep)) {
    const m = /^(\d{1,16}) (\/.*)$/s.exec(rec);
    if (m === null) throw new Error(`unreadable file size record ${JSON.stringify(rec.slice(0, 80))}`);
    sizes.set(checkPath(m[2]!), Number(m[1]));
  }
  const out: ManifestEntry[] = [];
  for (const rec of records.slice(sep + 1)) {
    if (rec === "" || rec === "\n") continue;
    const m = /^([0-9a-f]{64}) {2}(\/.*)$/s.exec(rec);
    if (m === null) throw new Error(`unreadable checksum record ${JSON.stringify(rec.slice(0, 80))}`);
    const path = checkPath(m[2]!);
    const size = sizes.get(path);
    if (size === undefined) throw new Error(`${JSON.stringify(path)} has a checksum but no size`);
    out.push({ path, size, sha256: m[1]! });
    if (out.length > MAX_MANIFEST_FILES) throw new Error(`more than ${MAX_MANIFEST_FILES} files`);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function checkPath(path: string): string {
  if (!path.startsWith("/") || Buffer.byteLength(path) > MAX_PATH) throw new Error(`unreadable path ${JSON.stringify(path.slice(0, 80))}`);
  return path;
}

/** The manifest as stored on the host: JSON lines, sorted by path. */
export function manifestText(entries: readonly ManifestEntry[]): string {
  return entries.map((e) => `${JSON.stringify({ path: e.path, size: e.size, sha256: e.sha256 })}\n`).join("");
}

/**
 * A stored manifest read back from the host, every line checked like a fresh one.
 * @throws Error naming the first bad line.
 */
export function parseManifestText(text: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`manifest line ${i + 1} is not JSON`);
    }
    const e = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
    if (typeof e["path"] !== "string" || typeof e["size"] !== "number" || !Number.isSafeInteger(e["size"]) || e["size"] < 0 || typeof e["sha256"] !== "string" || !/^[0-9a-f]{64}$/.test(e["sha256"])) throw new Error(`manifest line ${i + 1} is not {path, size, sha256}`);
    out.push({ path: checkPath(e["path"]), size: e["size"], sha256: e["sha256"] });
    if (out.length > MAX_MANIFEST_FILES) throw new Error(`more than ${MAX_MANIFEST_FILES} files`);
  }
  return out;
}

/** True when `path` is `root` or below it. */
export const under = (path: string, root: string): boolean => path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);

/** A difference between the manifest and what a restore brought back. */
export interface Mismatch {
  path: string;
  problem: "missing" | "unexpected" | "size" | "checksum";
  expected?: string;
  found?: string;
}

/**
 * Compares restored files (paths as backed up, the scratch prefix removed) with the
 * manifest's entries under `roots`: files missing from the restore, files the manifest
 * does not know, sizes, and (with `checksums`) digests.
 */
export function compareManifests(expected: readonly ManifestEntry[], restored: readonly ManifestEntry[], roots: readonly string[], mode: "checksums" | "sizes"): { compared: number; mismatches: Mismatch[] } {
  const want = new Map(expected.filter((e) => roots.some((r) => under(e.path, r))).map((e) => [e.path, e]));
  const got = new Map(restored.map((e) => [e.path, e]));
  const mismatches: Mismatch[] = [];
  for (const [path, e] of want) {
    const r = got.get(path);
    if (r === undefined) mismatches.push({ path, problem: "missing" });
    else if (r.size !== e.size) mismatches.push({ path, problem: "size", expected: String(e.size), found: String(r.size) });
    else if (mode === "checksums" && r.sha256 !== e.sha256) mismatches.push({ path, problem: "checksum", expected: e.sha256, found: r.sha256 });
  }
  for (const path of got.keys()) if (!want.has(path)) mismatches.push({ path, problem: "unexpected" });
  return { compared: want.size, mismatches: mismatches.sort((a, b) => (a.path < b.path ? -1 : 1)) };
}
