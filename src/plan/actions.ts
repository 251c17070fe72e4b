import type { HostFacts } from "../facts/types.ts";
import type { Step } from "../model/types.ts";
import { HostPlan } from "../steps/host-plan.ts";
import { hostFactsDependencies, kindOf } from "../steps/registry.ts";
import type { TouchedPackages } from "./digest.ts";
import type { CompiledPolicy } from "./policy.ts";
import type { PlannedAction } from "./types.ts";

/**
 * A host's actions: the runbook steps that apply to it, in runbook order, each decided
 * by its kind (src/steps/<kind>/) from the host's facts and the policy. Steps
 * restricted by `hosts:` to other hosts are left out.
 */
export interface HostActions {
  actions: PlannedAction[];
  /** Every package the actions touch: the facts digest covers these. */
  touched: TouchedPackages;
  /** The apps whose probed versions the actions were decided from: the facts digest covers these too. */
  apps: readonly string[];
  /** Distinct packages upgraded, by name and architecture: libc6 for amd64 and for i386 are two, one package upgraded by two steps is one. */
  upgrades: number;
  rebootExpected: boolean;
  /** False when no action depends on any fact (see hostFactsDependencies): the host's digest is NO_FACTS_DIGEST. */
  dependsOnFacts: boolean;
  /** True when the runbook manages packages or apps here but no such step changes anything. */
  packagesIdle: boolean;
  hasPackageStep: boolean;
}

/**
 * `upgradableOrder` is facts.upgradable's order by name (see orderByName), when the
 * caller has it already.
 */
export function hostActions(steps: readonly Step[], appliesTo: (step: Step) => boolean, facts: HostFacts, policy: CompiledPolicy, upgradableOrder?: readonly number[] | null, runbookName = "<runbook>"): HostActions {
  const host = new HostPlan(facts, policy, runbookName, upgradableOrder);
  const actions: PlannedAction[] = [];
  for (let index = 0; index < steps.length; index++) {
    const step = steps[index]!;
    if (appliesTo(step)) actions.push(kindOf(step).plan(step, index, host));
  }
  return {
    actions,
    touched: host.touched(),
    apps: host.apps,
    upgrades: host.upgrades,
    rebootExpected: host.rebootExpected,
    dependsOnFacts: hostFactsDependencies(actions).any,
    packagesIdle: (host.managesPackages || host.managesApps) && host.changes === 0,
    hasPackageStep: host.managesPackages,
  };
}
