/**
 * What backup steps leave on the host for the steps after them, under
 * /var/lib/steward/backup/<repository key>/ (root-only, 0700):
 *   manifest-<snapshot id>.jsonl  the manifest taken at backup time (manifest.ts)
 *   last-<paths key>              the full id of the last snapshot of those paths
 *   verified                      the full id of the last snapshot a verify-backup
 *                                 test-restored and found equal to its manifest
 * verify-backup (same run or later) and restore (`snapshot: verified`) read them back
 * as untrusted text: ids must be 64 hex digits, manifests parse line by line. Nothing
 * here is secret. Writes are atomic on the host (a temporary file renamed into place).
 */
import { createHash } from "node:crypto";
import { shellQuote } from "../../transport/shell.ts";

/** Where steward keeps backup records on a host. */
export const STATE_ROOT = "/var/lib/steward/backup";
/** Largest record read back from a host (a manifest of 200,000 files is about 40 MiB). */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;

const key = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 16);

/** The folder of one repository's records: keyed by the repository as rendered for the shell. */
export function repositoryDir(repositoryShell: string): string {
  return `${STATE_ROOT}/${key(repositoryShell)}`;
}

/** The record of the last snapshot of exactly these paths. */
export function lastFile(repositoryShell: string, paths: readonly string[]): string {
  return `${repositoryDir(repositoryShell)}/last-${key(paths.join("\0"))}`;
}

export const manifestFile = (repositoryShell: string, snapshotId: string): string => `${repositoryDir(repositoryShell)}/manifest-${snapshotId}.jsonl`;
export const verifiedFile = (repositoryShell: string): string => `${repositoryDir(repositoryShell)}/verified`;

/**
 * A script writing its standard input to `path` atomically: a temporary file in the same
 * folder, flushed, then renamed over the old one. The folder is created 0700.
 */
export function writeAtomicScript(path: string): string {
  const dir = path.slice(0, path.lastIndexOf("/"));
  return `set -e\numask 077\nmkdir -p ${shellQuote(dir)}\nt=$(mktemp ${shellQuote(`${path}.tmp.`)}XXXXXX)\ncat > "$t"\nsync "$t" 2>/dev/null || true\nmv -f "$t" ${shellQuote(path)}`;
}

/** A script printing a record, at most MAX_STATE_BYTES, or `absent` on stderr with exit 3 when there is none. */
export function readScript(path: string): string {
  return `if test -f ${shellQuote(path)}; then head -c ${MAX_STATE_BYTES} ${shellQuote(path)}; else echo absent >&2; exit 3; fi`;
}

/** A full snapshot id read back from a record, or undefined when the text is anything else. */
export function parseSnapshotRecord(text: string): string | undefined {
  const id = text.trim();
  return /^[0-9a-f]{64}$/.test(id) ? id : undefined;
}
