/**
 * The executing half of every step kind, keyed by kind: the host runner looks up each
 * step's executor here. Every kind of the runbook schema has one; a kind without one
 * would be refused with a message, never skipped silently:
 * `unsupportedSteps` lets apply refuse a plan holding them before any host is touched.
 */
import type { IntentEvidence, StepExecutor } from "../apply/types.ts";
import { StewardError } from "../core/errors.ts";
import type { StepKind } from "../model/types.ts";
import { appUpgradeExecutor } from "./app-upgrade/execute.ts";
import { backupExecutor } from "./backup/execute.ts";
import { checkExecutor } from "./check/execute.ts";
import { commandExecutor } from "./command/execute.ts";
import { databaseExecutor } from "./database/execute.ts";
import { complianceExecutor } from "./compliance/execute.ts";
import { packagesExecutor } from "./packages/execute.ts";
import { rebootExecutor } from "./reboot/execute.ts";
import { restoreExecutor } from "./restore/execute.ts";
import { serviceExecutor } from "./service/execute.ts";
import { verifyBackupExecutor } from "./verify-backup/execute.ts";

/** An executor, with the optional intent evidence some kinds record. */
export type Executor = StepExecutor & IntentEvidence;

/** Every kind that can execute. */
export const executors: Readonly<Partial<Record<StepKind, Executor>>> = {
  "app-upgrade": appUpgradeExecutor,
  backup: backupExecutor,
  check: checkExecutor,
  command: commandExecutor,
  database: databaseExecutor,
  compliance: complianceExecutor,
  packages: packagesExecutor,
  reboot: rebootExecutor,
  restore: restoreExecutor,
  service: serviceExecutor,
  "verify-backup": verifyBackupExecutor,
};

/** Kinds that exist in runbooks but cannot be applied yet, with why. */
export const NOT_EXECUTABLE: Readonly<Partial<Record<StepKind, string>>> = {
};

/** The steps (name and kind) of a runbook or plan whose kind cannot be applied, with a message each. */
export function unsupportedSteps(steps: ReadonlyArray<{ name: string; kind: StepKind }>): string[] {
  return steps.filter((s) => executors[s.kind] === undefined).map((s) => `step '${s.name}': ${NOT_EXECUTABLE[s.kind] ?? `no executor for kind '${s.kind}'`}; remove it from the runbook (or use \`steward plan\` alone for it) and plan again`);
}

/**
 * The executor of a kind.
 * @throws StewardError "invalid-input" for a kind that cannot be applied (see NOT_EXECUTABLE).
 */
export function executorFor(kind: StepKind): Executor {
  const executor = executors[kind];
  if (executor === undefined) throw new StewardError("invalid-input", `${NOT_EXECUTABLE[kind] ?? `no executor for kind '${kind}'`}`, "remove the step from the runbook and plan again");
  return executor;
}

/**
 * Kinds that need a reviewed plan: destructive work (a restore overwrites files) is
 * planned with `steward plan`, approved, then `steward apply`-ed, never `steward run`.
 */
export const NEEDS_SAVED_PLAN: ReadonlySet<StepKind> = new Set<StepKind>(["restore"]);

/** The steps `steward run` refuses (see NEEDS_SAVED_PLAN), one message each. */
export function stepsNeedingPlan(steps: ReadonlyArray<{ name: string; kind: StepKind }>): string[] {
  return steps.filter((s) => NEEDS_SAVED_PLAN.has(s.kind)).map((s) => `step '${s.name}' (${s.kind}) is destructive: it needs a reviewed plan`);
}
