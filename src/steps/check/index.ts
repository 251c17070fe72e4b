import type { Check } from "../../model/types.ts";
import type { StepKindModule, TemplatedField } from "../types.ts";
import { noDependencies, noDetail, noRules, willRun } from "../will-run.ts";

/**
 * `check`: health checks on the host (disk, memory, load, service, endpoint,
 * certificate, command, reboot-required); the host fails when any fails. A check's
 * reading can only be taken when it runs, so it plans as "will run". The rollout's
 * gate checks are the same checks, run between waves.
 */

/** The templates of a list of checks: only `command` checks have one. `at` prefixes each path (e.g. `["checks"]`). */
export function checksTemplatedFields(checks: readonly Check[], at: ReadonlyArray<string | number>): TemplatedField[] {
  const out: TemplatedField[] = [];
  checks.forEach((c, j) => {
    if (c.type === "command") out.push({ path: [...at, j, "command"], text: c.command, scope: "run" });
  });
  return out;
}

export const kind: StepKindModule<"check">["kind"] = "check";
export const defaultTimeoutMs: StepKindModule<"check">["defaultTimeoutMs"] = 2 * 60_000;
export const templatedFields: StepKindModule<"check">["templatedFields"] = (step) => checksTemplatedFields(step.checks, ["checks"]);
export const validate: StepKindModule<"check">["validate"] = noRules;
export const plan: StepKindModule<"check">["plan"] = (step, index) => willRun("check", step, index);
export const dependsOn: StepKindModule<"check">["dependsOn"] = noDependencies;
export const render: StepKindModule<"check">["render"] = noDetail;
