import { parseDuration } from "../core/duration.ts";
import type { Step, StepKind } from "../model/types.ts";
import type { PlannedAction } from "../plan/types.ts";
import * as appUpgrade from "./app-upgrade/index.ts";
import * as backup from "./backup/index.ts";
import * as check from "./check/index.ts";
import * as command from "./command/index.ts";
import * as compliance from "./compliance/index.ts";
import * as database from "./database/index.ts";
import * as packages from "./packages/index.ts";
import * as reboot from "./reboot/index.ts";
import * as restore from "./restore/index.ts";
import * as service from "./service/index.ts";
import * as verifyBackup from "./verify-backup/index.ts";
import type { StepKindModule } from "./types.ts";

/**
 * Every step kind of the runbook schema, by name. Adding a kind means a folder under
 * src/steps/ and a line here; test/steps/registry.test.ts fails when a folder is not
 * listed or a kind of the schema has no folder.
 */
export const stepKinds: { readonly [K in StepKind]: StepKindModule<K> } = {
  "app-upgrade": appUpgrade,
  backup,
  check,
  command,
  compliance,
  database,
  packages,
  reboot,
  restore,
  service,
  "verify-backup": verifyBackup,
};

/**
 * The module of a step's kind, typed for that step. TypeScript cannot follow a kind
 * from a value of the union to the record's entry, so the narrowing is done once here.
 */
export const kindOf = <S extends Step>(step: S): StepKindModule<S["kind"]> => stepKinds[step.kind] as unknown as StepKindModule<S["kind"]>;

/** The module of an action's kind. */
export const kindOfAction = <A extends PlannedAction>(action: A): StepKindModule<A["kind"]> => stepKinds[action.kind] as unknown as StepKindModule<A["kind"]>;

/**
 * A step's time limit in milliseconds: its `timeout` (a duration validate has checked
 * and found non-zero), else its kind's default.
 */
export const stepTimeoutMs = (step: Step): number => (step.timeout !== undefined ? parseDuration(step.timeout) : undefined) ?? kindOf(step).defaultTimeoutMs;

/**
 * The facts a host's planned actions depend on, from the actions alone: apply passes
 * them to factsDigest (src/plan/digest.ts) over freshly gathered facts and compares
 * the result with the host's `factsDigest` in the plan; a difference means the host
 * moved since planning. `any` is false when no action depends on any fact (commands,
 * checks, services…): the plan records NO_FACTS_DIGEST for such a host and apply reads
 * no facts before its steps: there is nothing on the host that could make the plan stale.
 */
export function hostFactsDependencies(actions: readonly PlannedAction[]): { packages: Set<string>; apps: string[]; any: boolean } {
  const packages = new Set<string>();
  const apps: string[] = [];
  let host = false;
  for (const a of actions) {
    const deps = kindOfAction(a).dependsOn(a);
    for (const name of deps.packages) packages.add(name);
    apps.push(...deps.apps);
    host ||= deps.host;
  }
  return { packages, apps, any: host || packages.size > 0 || apps.length > 0 };
}
