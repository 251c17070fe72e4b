/**
 * The `restore` step: brings back a snapshot of a restic repository onto the host.
 *   - the snapshot: `latest` (resolved to its full id first, so the result names what
 *     was restored), `verified` (the last one a verify-backup step test-restored on this
 *     host, from host-state.ts), or an id (8 to 64 hex digits, resolved to the full id);
 *   - `restic restore ID --target TARGET [--include PATH]…`: `target: /` puts the files
 *     back in place, overwriting what is there; another folder receives them beside it;
 *   - evidence: the full snapshot id, how it was chosen, the target, the paths, and the
 *     files restored (read back from the target, with their sizes and sha256) compared
 *     with the manifest the backup recorded, when the host has it.
 * Destructive: it needs a reviewed plan; `steward run` refuses it (steps/executors.ts).
 */
import type { StepContext, StepExecutor, StepResult } from "../../apply/types.ts";
import type { Step } from "../../model/types.ts";
import { guarded, lastLine, outputOf, type StepClock } from "../execute-helpers.ts";
import { fullSnapshotId, readManifest } from "../backup/host-ops.ts";
import { manifestFile, parseSnapshotRecord, readScript, verifiedFile } from "../backup/host-state.ts";
import { compareManifests, parseManifestText } from "../backup/manifest.ts";
import { parseSnapshots, restoreArgs } from "../backup/restic.ts";
import { BackupStepError, passwordOf, repositoryShell, ResticError, ResticSession } from "../backup/session.ts";

type RestoreStep = Extract<Step, { kind: "restore" }>;

/** The full id of the snapshot the step names. @throws BackupStepError / ResticError. */
async function chooseSnapshot(s: ResticSession, step: RestoreStep, repo: string): Promise<string> {
  if (step.snapshot === "verified") {
    const r = await s.sh(readScript(verifiedFile(repo)), "verified record");
    if (r.exitCode === 3) throw new BackupStepError("no verified snapshot on this host: no verify-backup step has test-restored a snapshot of this repository here; name a snapshot id or `latest`");
    const id = r.exitCode === 0 ? parseSnapshotRecord(r.stdout) : undefined;
    if (id === undefined) throw new BackupStepError(`the verified record on the host is unreadable: ${lastLine(r.stderr).slice(0, 200)}`);
    return id;
  }
  if (step.snapshot === "latest") {
    const list = parseSnapshots((await s.run(["snapshots", "--json", "latest"], "snapshots")).stdout);
    const newest = list.sort((a, b) => Date.parse(b.time) - Date.parse(a.time))[0];
    if (newest === undefined) throw new BackupStepError("the repository has no snapshot to restore");
    return newest.id;
  }
  return fullSnapshotId(s, step.snapshot);
}

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const step = ctx.step as RestoreStep;
  const repo = repositoryShell(ctx, step.repository);
  try {
    const s = new ResticSession(ctx, repo, passwordOf(ctx, step.password, step.name));
    const snapshotId = await chooseSnapshot(s, step, repo);
    const paths = step.paths ?? [];
    const restored = await s.run(restoreArgs(snapshotId, step.target, paths), "restore");
    const evidence: Record<string, unknown> = { snapshotId, chosenBy: step.snapshot === "latest" || step.snapshot === "verified" ? step.snapshot : "id", target: step.target, paths };
    const recorded = await s.sh(readScript(manifestFile(repo, snapshotId)), "manifest");
    if (recorded.exitCode === 0 && !recorded.stdoutTruncated && paths.length > 0) {
      const base = step.target.replace(/\/$/, "");
      const found = await readManifest(s, paths.map((p) => `${base}${p}`), "restored files");
      const judged = compareManifests(parseManifestText(recorded.stdout), found.map((e) => ({ ...e, path: e.path.slice(base.length) })), paths, "checksums");
      // restic restore does not delete files the snapshot lacks: files beside the restored ones are not a mismatch.
      const { compared } = judged;
      const mismatches = judged.mismatches.filter((m) => m.problem !== "unexpected");
      evidence["filesRestored"] = compared - mismatches.filter((m) => m.problem === "missing").length;
      evidence["manifest"] = { filesCompared: compared, mismatchCount: mismatches.length, mismatches: mismatches.slice(0, 20) };
      if (mismatches.length > 0) return clock.finish("failed", `restored snapshot ${snapshotId.slice(0, 12)} into ${step.target}, but ${mismatches.length} of ${compared} files differ from its manifest (a file changed since? the first: ${JSON.stringify(mismatches[0]!.path)} ${mismatches[0]!.problem})`, { evidence });
    }
    return clock.finish("changed", `restored snapshot ${snapshotId.slice(0, 12)} (${evidence["chosenBy"]}) into ${step.target}${paths.length > 0 ? `: ${paths.join(", ")}` : ""}${evidence["filesRestored"] !== undefined ? `, ${evidence["filesRestored"]} files equal to the backup's manifest` : ""}`, { ...outputOf(restored), evidence });
  } catch (error) {
    if (error instanceof ResticError) return clock.finish("failed", error.message, outputOf(error.result));
    if (error instanceof BackupStepError) return clock.finish("failed", error.message);
    throw error;
  }
}

/** A restore cut short leaves files half written: judged `unknown`, for a human. */
export const restoreExecutor: StepExecutor = {
  kind: "restore",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  rejudge: async () => "unknown",
};
