import type { StepKindModule } from "../types.ts";
import { noDependencies, noDetail, notYetApplied, willRun } from "../will-run.ts";

/**
 * `compliance`: rules checked on the host (files, packages, services, sshd settings,
 * sysctl keys, commands); read-only, so it plans as "will run".
 */
export const kind: StepKindModule<"compliance">["kind"] = "compliance";
export const defaultTimeoutMs: StepKindModule<"compliance">["defaultTimeoutMs"] = 5 * 60_000;
export const templatedFields: StepKindModule<"compliance">["templatedFields"] = (step) =>
  step.rules.flatMap((r, j) => (r.check.type === "command" ? [{ path: ["rules", j, "check", "command"], text: r.check.command, scope: "run" as const }] : []));
export const validate: StepKindModule<"compliance">["validate"] = (_step, ctx) => [notYetApplied("compliance", ctx)];
export const plan: StepKindModule<"compliance">["plan"] = (step, index) => willRun("compliance", step, index);
export const dependsOn: StepKindModule<"compliance">["dependsOn"] = noDependencies;
export const render: StepKindModule<"compliance">["render"] = noDetail;
