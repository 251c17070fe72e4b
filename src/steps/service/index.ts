import type { StepKindModule } from "../types.ts";
import { noDependencies, noDetail, noRules, willRun } from "../will-run.ts";

/**
 * `service`: start, stop, restart, reload, enable or disable one service (systemd
 * when present, else the `service` fallback). It plans as "will run": the service's
 * state is read when the step runs, not gathered with facts.
 */
export const kind: StepKindModule<"service">["kind"] = "service";
export const defaultTimeoutMs: StepKindModule<"service">["defaultTimeoutMs"] = 2 * 60_000;
export const templatedFields: StepKindModule<"service">["templatedFields"] = () => [];
export const validate: StepKindModule<"service">["validate"] = noRules;
export const plan: StepKindModule<"service">["plan"] = (step, index) => willRun("service", step, index);
export const dependsOn: StepKindModule<"service">["dependsOn"] = noDependencies;
export const render: StepKindModule<"service">["render"] = noDetail;
