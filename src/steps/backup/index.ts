import type { StepKindModule } from "../types.ts";
import { noDependencies, noDetail, notYetApplied, willRun } from "../will-run.ts";

/**
 * `backup`: a restic or tar backup of the step's paths to its repository, after an
 * optional `pre_command`. Both of those are templates; it plans as "will run".
 */
export const kind: StepKindModule<"backup">["kind"] = "backup";
export const defaultTimeoutMs: StepKindModule<"backup">["defaultTimeoutMs"] = 2 * 3_600_000;
export const templatedFields: StepKindModule<"backup">["templatedFields"] = (step) => [
  { path: ["repository"], text: step.repository, scope: "run" },
  ...(step.pre_command !== undefined ? [{ path: ["pre_command"], text: step.pre_command, scope: "run" as const }] : []),
];
export const validate: StepKindModule<"backup">["validate"] = (_step, ctx) => [notYetApplied("backup", ctx)];
export const plan: StepKindModule<"backup">["plan"] = (step, index) => willRun("backup", step, index);
export const dependsOn: StepKindModule<"backup">["dependsOn"] = noDependencies;
export const render: StepKindModule<"backup">["render"] = noDetail;
