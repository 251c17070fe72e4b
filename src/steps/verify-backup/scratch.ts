/**
 * What both verifications (restic, tar) share: records read back from the host, a test
 * restore into a fresh scratch folder that is always removed, mismatches in words.
 */
import { shellQuote } from "../../transport/shell.ts";
import { lastLine } from "../execute-helpers.ts";
import { readManifest } from "../backup/host-ops.ts";
import { readScript } from "../backup/host-state.ts";
import type { ManifestEntry, Mismatch } from "../backup/manifest.ts";
import { BackupStepError, type ResticSession } from "../backup/session.ts";

/** A record the backup left on the host; @throws BackupStepError when there is none or it is malformed. */
export async function readRecord(s: ResticSession, path: string, what: string): Promise<string> {
  const r = await s.sh(readScript(path), what);
  if (r.exitCode === 3) throw new BackupStepError(`no ${what} on this host (${path}): run the backup step first`);
  if (r.exitCode !== 0 || r.stdoutTruncated) throw new BackupStepError(`cannot read the ${what} (${path}): ${lastLine(r.stderr).slice(0, 200)}`);
  return r.stdout;
}

/** One line per mismatch, for the detail. */
export const describe = (m: Mismatch): string => `${JSON.stringify(m.path)} ${m.problem}${m.expected !== undefined ? ` (expected ${m.expected.slice(0, 16)}, found ${m.found?.slice(0, 16)})` : ""}`;

/**
 * Fills a fresh folder under `scratch` (`fill` restores into it), reads the files there
 * as a manifest with the folder's prefix removed (paths as backed up), and removes the
 * folder, whatever happened.
 */
export async function restoreIntoScratch(s: ResticSession, scratch: string, fill: (dir: string) => Promise<unknown>): Promise<ManifestEntry[]> {
  const base = scratch.replace(/\/+$/, "");
  const made = await s.sh(`set -e\nmkdir -p -- ${shellQuote(scratch)}\nmktemp -d ${shellQuote(`${base}/steward-verify.`)}XXXXXX`, "scratch folder");
  const dir = lastLine(made.stdout);
  if (made.exitCode !== 0 || !dir.startsWith(`${base}/steward-verify.`) || /[^A-Za-z0-9._/-]/.test(dir.slice(base.length))) throw new BackupStepError(`cannot make a folder under ${scratch}: ${lastLine(made.stderr).slice(0, 200)}`);
  try {
    await fill(dir);
    const restored = await readManifest(s, [dir], "restored files");
    return restored.map((e) => ({ ...e, path: e.path.slice(dir.length) }));
  } finally {
    await s.sh(`rm -rf -- ${shellQuote(dir)}`, "scratch cleanup");
  }
}
