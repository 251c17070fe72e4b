/**
 * The `backup` step, run on one host:
 *   1. `pre_command` (a database dump), rendered with its values quoted; its failure
 *      fails the step and nothing is backed up;
 *   2. restic: `init` when asked and the repository does not exist; `backup --json`;
 *      the summary read and checked; the short id resolved to the full one; the
 *      manifest (size and sha256 of every file) stored on the host; `forget --prune`
 *      with the keep rules. tar: see tar.ts;
 *   3. evidence: snapshot id (full), files new/changed/unmodified, bytes added and
 *      processed, restic's duration, files in the manifest, what retention removed.
 * restic's failures name their case (session.ts); a lock is never removed.
 */
import type { StepContext, StepExecutor, StepResult } from "../../apply/types.ts";
import type { Step } from "../../model/types.ts";
import { guarded, outputOf, type StepClock } from "../execute-helpers.ts";
import { lastFile, manifestFile } from "./host-state.ts";
import { fullSnapshotId, preCommand, readManifest, writeRecord } from "./host-ops.ts";
import { manifestText } from "./manifest.ts";
import { backupArgs, forgetArgs, parseBackupSummary, parseForgetRemoved } from "./restic.ts";
import { BackupStepError, passwordOf, repositoryShell, ResticError, ResticSession } from "./session.ts";
import { runTarBackup } from "./tar.ts";

type BackupStep = Extract<Step, { kind: "backup" }>;

async function runRestic(ctx: StepContext, step: BackupStep, clock: StepClock): Promise<StepResult> {
  const password = passwordOf(ctx, step.password, step.name);
  const repo = repositoryShell(ctx, step.repository);
  const s = new ResticSession(ctx, repo, password);
  await preCommand(ctx, step, s.left());
  let initialized = false;
  if (step.init === true) {
    try {
      await s.run(["cat", "config"], "cat config");
    } catch (error) {
      if (!(error instanceof ResticError) || error.failure.case !== "no-repository") throw error;
      await s.run(["init"], "init");
      initialized = true;
    }
  }
  const backup = await s.run(backupArgs(step.paths, step.tags ?? []), "backup");
  let summary;
  try {
    summary = parseBackupSummary(backup.stdout);
  } catch (error) {
    return clock.finish("failed", `restic backup: ${(error as Error).message}`, outputOf(backup));
  }
  const snapshotId = await fullSnapshotId(s, summary.snapshotId);
  const manifest = await readManifest(s, step.paths, "manifest");
  await writeRecord(s, manifestFile(repo, snapshotId), manifestText(manifest), "manifest record");
  await writeRecord(s, lastFile(repo, step.paths), `${snapshotId}\n`, "snapshot record");
  const retention = step.retention === undefined ? undefined : parseForgetRemoved((await s.run(forgetArgs(step.retention), "forget --prune")).stdout);
  const evidence = {
    tool: "restic",
    snapshotId,
    filesNew: summary.filesNew,
    filesChanged: summary.filesChanged,
    filesUnmodified: summary.filesUnmodified,
    bytesAdded: summary.bytesAdded,
    bytesProcessed: summary.bytesProcessed,
    durationSeconds: summary.durationSeconds,
    manifestFiles: manifest.length,
    ...(initialized ? { initialized: true } : {}),
    ...(retention !== undefined ? { retention } : {}),
  };
  const kept = retention === undefined ? "" : `; retention kept ${retention.kept}, removed ${retention.removed}`;
  return clock.finish("changed", `snapshot ${snapshotId.slice(0, 12)}: ${summary.filesNew} new, ${summary.filesChanged} changed files, ${summary.bytesAdded} bytes added of ${summary.bytesProcessed} processed${kept}`, { exitCode: backup.exitCode, evidence });
}

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const step = ctx.step as BackupStep;
  try {
    return step.tool === "tar" ? await runTarBackup(ctx, step, clock) : await runRestic(ctx, step, clock);
  } catch (error) {
    if (error instanceof ResticError) return clock.finish("failed", error.message, outputOf(error.result));
    if (error instanceof BackupStepError) return clock.finish("failed", error.message);
    throw error;
  }
}

/**
 * After a crash a backup cannot be judged from the host (a snapshot may or may not have
 * been written): `skipped`, since running it again only makes another snapshot.
 */
export const backupExecutor: StepExecutor = {
  kind: "backup",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  rejudge: async () => "skipped",
};
