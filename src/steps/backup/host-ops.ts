/**
 * What the backup, verify-backup and restore steps do on a host besides running restic:
 * the pre_command, manifests read and records written, a short snapshot id resolved.
 */
import type { StepContext } from "../../apply/types.ts";
import type { Step } from "../../model/types.ts";
import { lastLine } from "../execute-helpers.ts";
import { writeAtomicScript } from "./host-state.ts";
import { manifestScript, parseManifestOutput, type ManifestEntry } from "./manifest.ts";
import { parseSnapshots } from "./restic.ts";
import { BackupStepError, type ResticSession } from "./session.ts";

type BackupStep = Extract<Step, { kind: "backup" }>;

/** Runs `pre_command` when the step has one; @throws BackupStepError when it fails. */
export async function preCommand(ctx: StepContext, step: BackupStep, timeoutMs: number): Promise<void> {
  if (step.pre_command === undefined) return;
  const result = await ctx.session.exec(ctx.render(step.pre_command), { become: step.become === true, check: false, label: `pre_command of ${step.name}`, timeoutMs });
  if (result.exitCode !== 0) throw new BackupStepError(`pre_command failed (${result.exitCode === null ? `killed by ${result.signal ?? "a signal"}` : `exit ${result.exitCode}`}): ${lastLine(result.stderr).slice(0, 200) || lastLine(result.stdout).slice(0, 200)}; nothing was backed up`);
}

/**
 * The manifest of `paths` read on the host through `s`.
 * @throws BackupStepError when a path is missing or the output cannot be read.
 */
export async function readManifest(s: Pick<ResticSession, "sh">, paths: readonly string[], label: string): Promise<ManifestEntry[]> {
  const r = await s.sh(manifestScript(paths), label);
  if (r.exitCode !== 0) throw new BackupStepError(`${label} failed (exit ${r.exitCode ?? r.signal}): ${lastLine(r.stderr).slice(0, 200)}`);
  if (r.stdoutTruncated) throw new BackupStepError(`${label}: the file list is larger than steward reads`);
  try {
    return parseManifestOutput(r.stdout);
  } catch (error) {
    throw new BackupStepError(`${label}: ${(error as Error).message}`);
  }
}

/** Writes a record on the host atomically; @throws BackupStepError when it cannot. */
export async function writeRecord(s: Pick<ResticSession, "sh">, path: string, text: string, label: string): Promise<void> {
  const r = await s.sh(writeAtomicScript(path), label, text);
  if (r.exitCode !== 0) throw new BackupStepError(`${label}: cannot write ${path} on the host: ${lastLine(r.stderr).slice(0, 200)}`);
}

/** The full id of a snapshot restic named by its short id. */
export async function fullSnapshotId(s: ResticSession, shortId: string): Promise<string> {
  const r = await s.run(["snapshots", "--json", shortId], "snapshots");
  const match = parseSnapshots(r.stdout).filter((snap) => snap.id.startsWith(shortId));
  if (match.length !== 1) throw new BackupStepError(`restic snapshots: ${match.length} snapshots match ${shortId}`);
  return match[0]!.id;
}
