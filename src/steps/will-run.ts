import type { StepKind } from "../model/types.ts";
import type { FactsDependencies } from "./types.ts";

/**
 * Shared by the kinds whose effect cannot be decided before they run (checks,
 * commands, services, backups, compliance): they plan as "will run", depend on no
 * facts, and add nothing to a host's detail.
 */
export const willRun = <K extends StepKind>(kind: K, step: { name: string }, index: number): { step: string; index: number; kind: K } => ({ step: step.name, index, kind });

export const NO_DEPENDENCIES: FactsDependencies = { packages: [], apps: [], host: false };

export const noDependencies = (): FactsDependencies => NO_DEPENDENCIES;

export const noDetail = (): { notes: string[] } => ({ notes: [] });

export const noRules = (): [] => [];
