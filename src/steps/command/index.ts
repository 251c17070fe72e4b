import type { StepKindModule } from "../types.ts";
import { noDependencies, noDetail, noRules, willRun } from "../will-run.ts";

/**
 * `command`: one shell command, rendered per host with every value shell-quoted; its
 * effect is known only once it runs, so it plans as "will run". `stdin` and `creates`
 * are taken as written: `creates` is a path tested on the host, not a template.
 */
export const kind: StepKindModule<"command">["kind"] = "command";
export const defaultTimeoutMs: StepKindModule<"command">["defaultTimeoutMs"] = 10 * 60_000;
export const templatedFields: StepKindModule<"command">["templatedFields"] = (step) => [
  { path: ["command"], text: step.command, scope: "run" },
  ...(step.unless !== undefined ? [{ path: ["unless"], text: step.unless, scope: "run" as const }] : []),
];
export const validate: StepKindModule<"command">["validate"] = noRules;
export const plan: StepKindModule<"command">["plan"] = (step, index) => willRun("command", step, index);
export const dependsOn: StepKindModule<"command">["dependsOn"] = noDependencies;
export const render: StepKindModule<"command">["render"] = noDetail;
