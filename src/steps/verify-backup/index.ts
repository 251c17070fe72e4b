import type { Step } from "../../model/types.ts";
import { didYouMean } from "../../core/suggest.ts";
import { diagnosticAt } from "../../load/yaml-source.ts";
import { under } from "../backup/manifest.ts";
import type { StepKindModule } from "../types.ts";
import { noDependencies, noDetail, willRun } from "../will-run.ts";

/**
 * `verify-backup`: checks the snapshot an earlier `backup` step of the same runbook
 * made (a subset of its data read back, optionally a test restore into a scratch
 * folder). It plans as "will run".
 */
export const kind: StepKindModule<"verify-backup">["kind"] = "verify-backup";
export const defaultTimeoutMs: StepKindModule<"verify-backup">["defaultTimeoutMs"] = 2 * 3_600_000;
export const templatedFields: StepKindModule<"verify-backup">["templatedFields"] = () => [];

/**
 * `backup` must name a backup step earlier in the runbook: a later one has made nothing
 * to verify yet. The scratch folder is emptied of what the test restore put there, so it
 * must not be `/` nor hold or lie inside a backed-up path.
 */
export const validate: StepKindModule<"verify-backup">["validate"] = (step, { source, runbook, index }) => {
  // A step that failed its schema is cut out of the runbook as a hole, so later steps keep
  // their indexes (src/validate/prune.ts): findIndex visits holes, so each one is skipped here.
  const steps: ReadonlyArray<Step | undefined> = runbook.steps;
  const target = steps.findIndex((s) => s?.kind === "backup" && s.name === step.backup);
  // The named backup may be the step cut out: its schema error is already reported, and a
  // second one here ("not a backup step") would send the reader after the wrong line.
  if (target < 0 && steps.slice(0, index).some((_, i) => steps[i] === undefined)) return [];
  const backup = runbook.steps[target];
  if (target >= 0 && target < index && backup?.kind === "backup") {
    const scratch = step.test_restore?.scratch.replace(/\/+$/, "") ?? undefined;
    const clash = scratch === undefined ? undefined : scratch === "" ? "/" : backup.paths.find((p) => under(p, scratch) || under(scratch, p));
    return clash === undefined ? [] : [diagnosticAt(source, `/steps/${index}/test_restore/scratch`, "steps/scratch-overlaps", `the scratch folder overlaps the backed-up path ${clash}`, { hint: "use a folder of its own, e.g. /var/tmp/restore-drill" })];
  }
  const backups = runbook.steps.filter((s) => s.kind === "backup").map((s) => s.name);
  const hint = didYouMean(step.backup, backups) ?? (backups.length ? `backup steps: ${backups.join(", ")}` : "add a `kind: backup` step before this one");
  return [diagnosticAt(source, `/steps/${index}/backup`, "steps/unknown-backup", `\`${step.backup}\` is not a backup step earlier in this runbook`, { hint })];
};

export const plan: StepKindModule<"verify-backup">["plan"] = (step, index) => willRun("verify-backup", step, index);
export const dependsOn: StepKindModule<"verify-backup">["dependsOn"] = noDependencies;
export const render: StepKindModule<"verify-backup">["render"] = noDetail;
