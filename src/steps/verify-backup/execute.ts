/**
 * The `verify-backup` step: checks the snapshot the named backup step made on this host.
 *   1. the snapshot: the id the backup step recorded on the host (host-state.ts), so a
 *      verification in a later run checks the last backup, not whatever is newest;
 *   2. `restic check`, reading back `read_data_subset` of the data packs when set: a
 *      damaged pack fails the step with restic's words;
 *   3. with `test_restore`: the named paths (default: all the backup's) restored into a
 *      fresh folder under `scratch`, every restored file's size and sha256 compared with
 *      the manifest recorded at backup time, the folder removed afterwards;
 *   4. a snapshot that passed a test restore is recorded as the host's last verified
 *      one (`restore` with `snapshot: verified` brings it back).
 * Evidence: snapshot id, the check, files compared, mismatches (the first 20, and a count).
 * It changes nothing but its scratch folder: `unchanged` when it passes.
 */
import type { StepContext, StepExecutor, StepResult } from "../../apply/types.ts";
import type { Step } from "../../model/types.ts";
import { guarded, outputOf, type StepClock } from "../execute-helpers.ts";
import { writeRecord } from "../backup/host-ops.ts";
import { lastFile, manifestFile, parseSnapshotRecord, verifiedFile } from "../backup/host-state.ts";
import { compareManifests, parseManifestText } from "../backup/manifest.ts";
import { checkArgs, restoreArgs } from "../backup/restic.ts";
import { BackupStepError, passwordOf, repositoryShell, ResticError, ResticSession } from "../backup/session.ts";
import { describe, readRecord, restoreIntoScratch } from "./scratch.ts";
import { verifyTar } from "./tar.ts";

type VerifyStep = Extract<Step, { kind: "verify-backup" }>;
type BackupStep = Extract<Step, { kind: "backup" }>;

/** Mismatches listed in the evidence; the count covers all. */
const MAX_LISTED = 20;

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const step = ctx.step as VerifyStep;
  const backup = ctx.plan.runbook.steps.find((b): b is BackupStep => b.kind === "backup" && b.name === step.backup);
  if (backup === undefined) return clock.finish("failed", `no backup step '${step.backup}' in the plan`);
  if (backup.tool === "tar") return verifyTar(ctx, step, backup, clock);
  const repo = repositoryShell(ctx, backup.repository);
  const s = new ResticSession(ctx, repo, passwordOf(ctx, backup.password, backup.name));
  const evidence: Record<string, unknown> = {};
  try {
    const snapshotId = parseSnapshotRecord(await readRecord(s, lastFile(repo, backup.paths), `snapshot record of '${backup.name}'`));
    if (snapshotId === undefined) return clock.finish("failed", `the snapshot record of '${backup.name}' on the host is not a snapshot id`);
    evidence["snapshotId"] = snapshotId;
    const checked = await s.run(checkArgs(step.read_data_subset), "check").catch((error: unknown) => {
      if (error instanceof ResticError) evidence["check"] = { ok: false, readDataSubset: step.read_data_subset ?? null, case: error.failure.case };
      throw error;
    });
    evidence["check"] = { ok: true, readDataSubset: step.read_data_subset ?? null };
    if (step.test_restore === undefined) return clock.finish("unchanged", `snapshot ${snapshotId.slice(0, 12)}: restic check found no errors${step.read_data_subset ? ` (read ${step.read_data_subset} of the data)` : ""}; not test-restored`, { ...outputOf(checked), evidence });
    const paths = step.test_restore.paths ?? backup.paths;
    const mode = step.test_restore.compare ?? "checksums";
    const expected = parseManifestText(await readRecord(s, manifestFile(repo, snapshotId), "manifest"));
    const restored = await restoreIntoScratch(s, step.test_restore.scratch, (dir) => s.run(restoreArgs(snapshotId, dir, paths), "restore"));
    const { compared, mismatches } = compareManifests(expected, restored, paths, mode);
    const ok = mismatches.length === 0 && compared > 0;
    evidence["testRestore"] = { ok, paths, compare: mode, filesCompared: compared, mismatchCount: mismatches.length, mismatches: mismatches.slice(0, MAX_LISTED) };
    if (!ok) return clock.finish("failed", compared === 0 ? `snapshot ${snapshotId.slice(0, 12)}: the manifest lists no file under ${paths.join(", ")}` : `snapshot ${snapshotId.slice(0, 12)}: test restore differs from the manifest in ${mismatches.length} of ${compared} files: ${mismatches.slice(0, 3).map(describe).join("; ")}`, { evidence });
    await writeRecord(s, verifiedFile(repo), `${snapshotId}\n`, "verified record");
    return clock.finish("unchanged", `snapshot ${snapshotId.slice(0, 12)}: restic check found no errors; ${compared} files test-restored, ${mode === "checksums" ? "sizes and sha256" : "sizes"} equal to the manifest`, { evidence });
  } catch (error) {
    if (error instanceof ResticError) return clock.finish("failed", error.message, { ...outputOf(error.result), evidence });
    if (error instanceof BackupStepError || error instanceof Error && /^manifest line/.test(error.message)) return clock.finish("failed", error.message, { evidence });
    throw error;
  }
}

/** Verification changes nothing to undo: after a crash it is safe to run again. */
export const verifyBackupExecutor: StepExecutor = {
  kind: "verify-backup",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  rejudge: async () => "skipped",
};
