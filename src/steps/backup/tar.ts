/**
 * `tool: tar`: the step's `repository` is the archive's absolute path on the host
 * (compression chosen by its suffix, GNU tar's --auto-compress: .tar.gz, .tar.zst, …).
 * The manifest of the paths (size and sha256 of every file) is taken first, the archive
 * written to a temporary file beside its place, flushed and renamed into place, then
 * the manifest written the same way as `<archive>.manifest.jsonl`: a reader never sees
 * half an archive, and an archive with a manifest is complete. The evidence records the
 * archive's sha256 and size.
 */
import type { StepContext, StepResult } from "../../apply/types.ts";
import type { Step } from "../../model/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import { lastLine, outputOf, type StepClock } from "../execute-helpers.ts";
import { preCommand, readManifest, writeRecord } from "./host-ops.ts";
import { manifestText } from "./manifest.ts";
import { BackupStepError, ResticSession } from "./session.ts";

type BackupStep = Extract<Step, { kind: "backup" }>;

/**
 * A script that writes the archive atomically and prints `SHA256 SIZE PATH` of it.
 * `archive` is shell text (quoted or rendered with its values quoted).
 */
export function tarScript(archive: string, paths: readonly string[]): string {
  return [
    "set -e",
    `a=${archive}`,
    'case "$a" in /*) ;; *) echo "the archive path is not absolute: $a" >&2; exit 4;; esac',
    'mkdir -p "$(dirname "$a")"',
    // The temporary name ends like the archive's, so --auto-compress picks the same compression.
    't=$(mktemp -p "$(dirname "$a")" --suffix=".$(basename "$a")" .steward-tmp.XXXXXX)',
    // tar stores the paths without their leading "/" (and says so on stderr): extract with -C /.
    `tar --create --auto-compress --file "$t" -- ${paths.map(shellQuote).join(" ")} || { rm -f "$t"; exit 5; }`,
    'sync "$t" 2>/dev/null || true',
    'mv -f "$t" "$a"',
    'printf "%s %s %s\\n" "$(sha256sum < "$a" | cut -d" " -f1)" "$(stat -c %s "$a")" "$a"',
  ].join("\n");
}

/** `SHA256 SIZE PATH` from tarScript, checked: the path absolute, without control characters. */
export function parseArchiveLine(stdout: string): { sha256: string; size: number; path: string } {
  const m = /^([0-9a-f]{64}) (\d{1,16}) (\/[^\u0000-\u001f\u007f]{0,4095})$/.exec(stdout.replace(/\n$/, "").split("\n").pop() ?? "");
  if (m === null) throw new BackupStepError("tar: the archive's checksum line is unreadable (an archive path with a line break?)");
  return { sha256: m[1]!, size: Number(m[2]), path: m[3]! };
}

/** Runs a tar backup; see the module comment. */
export async function runTarBackup(ctx: StepContext, step: BackupStep, clock: StepClock): Promise<StepResult> {
  const archive = step.repository.includes("{{") ? ctx.render(step.repository) : shellQuote(step.repository);
  const s = new ResticSession(ctx, archive, "");
  await preCommand(ctx, step, s.left());
  const manifest = await readManifest(s, step.paths, "manifest");
  const r = await s.sh(tarScript(archive, step.paths), "tar");
  if (r.exitCode !== 0) return clock.finish("failed", `tar failed (exit ${r.exitCode ?? r.signal}): ${lastLine(r.stderr).slice(0, 200)}`, outputOf(r));
  const { sha256, size, path } = parseArchiveLine(r.stdout);
  await writeRecord(s, `${path}.manifest.jsonl`, manifestText(manifest), "manifest");
  const evidence = { tool: "tar", archive: path, archiveSha256: sha256, archiveBytes: size, manifestFiles: manifest.length, bytesProcessed: manifest.reduce((n, e) => n + e.size, 0) };
  return clock.finish("changed", `archive ${path}: ${manifest.length} files, ${size} bytes, sha256 ${sha256.slice(0, 12)}`, { exitCode: 0, evidence });
}
