import type { StepKind } from "../model/types.ts";
import type { Diagnostic } from "../core/diagnostic.ts";
import { diagnosticAt } from "../load/yaml-source.ts";
import type { FactsDependencies, StepCheckContext } from "./types.ts";

/**
 * Shared by the kinds whose effect cannot be decided before they run (checks,
 * commands, services, backups, compliance): they plan as "will run", depend on no
 * facts, and add nothing to a host's detail.
 */
export const willRun = <K extends StepKind>(kind: K, step: { name: string }, index: number): { step: string; index: number; kind: K } => ({ step: step.name, index, kind });

export const NO_DEPENDENCIES: FactsDependencies = { packages: [], apps: [] };

export const noDependencies = (): FactsDependencies => NO_DEPENDENCIES;

export const noDetail = (): { notes: string[] } => ({ notes: [] });

export const noRules = (): [] => [];

/**
 * A warning for kinds that plan but cannot be applied yet (backup, verify-backup,
 * compliance): `steward apply` refuses a plan containing them before it touches any
 * host, so the pull request says so where the step is written.
 */
export function notYetApplied(kind: StepKind, { source, index }: Pick<StepCheckContext, "source" | "index">): Diagnostic {
  return diagnosticAt(source, `/steps/${index}/kind`, "steps/not-applicable-yet", `\`${kind}\` steps can be planned but not applied yet: steward apply refuses a plan containing one`, { severity: "warning", hint: "keep this runbook for planning, or move the step to a runbook you do not apply yet" });
}
