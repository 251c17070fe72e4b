import { diagnosticAt } from "../../load/yaml-source.ts";
import type { StepKindModule } from "../types.ts";
import { noDependencies, noDetail, willRun } from "../will-run.ts";

/**
 * `restore`: brings a restic snapshot (`latest`, `verified`, or an id) back onto the
 * host, into `target`. What it overwrites is known only on the host, so it plans as
 * "will run"; the plan carries the step's definition (snapshot, paths, target).
 * Destructive: `steward run` refuses a runbook with one (steps/executors.ts).
 */
export const kind: StepKindModule<"restore">["kind"] = "restore";
export const defaultTimeoutMs: StepKindModule<"restore">["defaultTimeoutMs"] = 2 * 3_600_000;
export const templatedFields: StepKindModule<"restore">["templatedFields"] = (step) => [{ path: ["repository"], text: step.repository, scope: "run" }];

/** Restoring in place over `/` without naming paths would put back a whole snapshot over the running system. */
export const validate: StepKindModule<"restore">["validate"] = (step, { source, index }) =>
  step.target === "/" && step.paths === undefined
    ? [diagnosticAt(source, `/steps/${index}/target`, "steps/restore-everything", "`target: /` without `paths` restores the whole snapshot over the running system", { hint: "name the `paths` to bring back, or restore into a folder beside them (e.g. target: /var/tmp/restore)" })]
    : [];

export const plan: StepKindModule<"restore">["plan"] = (step, index) => willRun("restore", step, index);
export const dependsOn: StepKindModule<"restore">["dependsOn"] = noDependencies;
export const render: StepKindModule<"restore">["render"] = noDetail;
