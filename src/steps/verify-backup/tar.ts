/**
 * verify-backup of a `tool: tar` backup: the archive read through (`tar -t`: a damaged
 * archive or a failing gzip/zstd checksum fails), then, with `test_restore`, the named
 * paths extracted into a fresh folder under `scratch` and compared with
 * `<archive>.manifest.jsonl`, written at backup time. Evidence names the archive.
 */
import type { StepContext, StepResult } from "../../apply/types.ts";
import type { Step } from "../../model/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import { lastLine, type StepClock } from "../execute-helpers.ts";
import { MAX_STATE_BYTES } from "../backup/host-state.ts";
import { compareManifests, parseManifestText } from "../backup/manifest.ts";
import { BackupStepError, repositoryShell, ResticSession } from "../backup/session.ts";
import { describe, restoreIntoScratch } from "./scratch.ts";

type VerifyStep = Extract<Step, { kind: "verify-backup" }>;
type BackupStep = Extract<Step, { kind: "backup" }>;

/** Checks a tar backup; see the module comment. */
export async function verifyTar(ctx: StepContext, step: VerifyStep, backup: BackupStep, clock: StepClock): Promise<StepResult> {
  const archive = repositoryShell(ctx, backup.repository);
  const s = new ResticSession(ctx, archive, "");
  const evidence: Record<string, unknown> = {};
  try {
    const read = await s.sh(`a=${archive}\ntest -f "$a" || { echo "no archive at $a" >&2; exit 3; }\nprintf '%s\\n' "$a"\ntar -tf "$a" > /dev/null`, "archive read-through");
    const path = read.stdout.split("\n")[0] ?? "";
    if (!/^\/[^\u0000-\u001f\u007f]*$/.test(path)) throw new BackupStepError(`the archive's path is unreadable: ${lastLine(read.stderr).slice(0, 200)}`);
    evidence["archive"] = path;
    evidence["check"] = { ok: read.exitCode === 0 };
    if (read.exitCode !== 0) return clock.finish("failed", `archive ${path}: ${read.exitCode === 3 ? "does not exist" : `cannot be read through: ${lastLine(read.stderr).slice(0, 200)}`}`, { evidence });
    if (step.test_restore === undefined) return clock.finish("unchanged", `archive ${path} reads through; not test-restored`, { evidence });
    const manifest = await s.sh(`head -c ${MAX_STATE_BYTES} ${shellQuote(`${path}.manifest.jsonl`)}`, "manifest");
    if (manifest.exitCode !== 0 || manifest.stdoutTruncated) throw new BackupStepError(`no manifest beside the archive (${path}.manifest.jsonl): ${lastLine(manifest.stderr).slice(0, 200)}`);
    const expected = parseManifestText(manifest.stdout);
    const paths = step.test_restore.paths ?? backup.paths;
    const mode = step.test_restore.compare ?? "checksums";
    // tar stored the paths without their leading "/".
    const members = paths.map((p) => p.replace(/^\/+/, ""));
    const restored = await restoreIntoScratch(s, step.test_restore.scratch, async (dir) => {
      const r = await s.sh(`tar -xf ${shellQuote(path)} -C ${shellQuote(dir)} -- ${members.map(shellQuote).join(" ")}`, "tar extract");
      if (r.exitCode !== 0) throw new BackupStepError(`tar could not extract ${paths.join(", ")} from ${path}: ${lastLine(r.stderr).slice(0, 200)}`);
    });
    const { compared, mismatches } = compareManifests(expected, restored, paths, mode);
    const ok = mismatches.length === 0 && compared > 0;
    evidence["testRestore"] = { ok, paths, compare: mode, filesCompared: compared, mismatchCount: mismatches.length, mismatches: mismatches.slice(0, 20) };
    if (!ok) return clock.finish("failed", compared === 0 ? `archive ${path}: the manifest lists no file under ${paths.join(", ")}` : `archive ${path}: test restore differs from the manifest in ${mismatches.length} of ${compared} files: ${mismatches.slice(0, 3).map(describe).join("; ")}`, { evidence });
    return clock.finish("unchanged", `archive ${path} reads through; ${compared} files test-restored, ${mode === "checksums" ? "sizes and sha256" : "sizes"} equal to the manifest`, { evidence });
  } catch (error) {
    if (error instanceof BackupStepError || (error instanceof Error && /^manifest line/.test(error.message))) return clock.finish("failed", error.message, { evidence });
    throw error;
  }
}
