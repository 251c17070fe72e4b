import type { PackageRequest } from "../../drivers/types.ts";
import { compileGlob, type Glob } from "../../model/glob.ts";
import type { PackageSpec } from "../../model/types.ts";
import { decisionEntry, type PlannedPackage } from "../../plan/policy.ts";
import { isKernelPackage, type HostPlan } from "../host-plan.ts";
import type { ActionOf, StepKindModule, StepOf } from "../types.ts";
import { noRules } from "../will-run.ts";

/**
 * `packages`: upgrade, install or remove through the host's package manager.
 * An upgrade plans every upgradable package the step's patterns name and the
 * runbook's policy allows, at an exact version, and records every one left out with
 * its reason; install plans what is missing (or at another version than asked),
 * remove what is present. Apply installs exactly the planned versions in one
 * transaction (installRequests).
 */
export const kind: StepKindModule<"packages">["kind"] = "packages";
export const defaultTimeoutMs: StepKindModule<"packages">["defaultTimeoutMs"] = 30 * 60_000;
/** Package names are patterns, not templates. */
export const templatedFields: StepKindModule<"packages">["templatedFields"] = () => [];
export const validate: StepKindModule<"packages">["validate"] = noRules;

const specName = (spec: PackageSpec): string => (typeof spec === "string" ? spec : spec.name);

/** A step's package patterns, compiled once per step rather than once per host. */
const compiledFilters = new WeakMap<readonly PackageSpec[], Glob[]>();
function stepFilters(packages: readonly PackageSpec[] | undefined): Glob[] | undefined {
  if (packages === undefined) return undefined;
  let filters = compiledFilters.get(packages);
  if (filters === undefined) compiledFilters.set(packages, (filters = packages.map((p) => compileGlob(specName(p)))));
  return filters;
}

type UpgradeAction = Extract<ActionOf<"packages">, { action: "upgrade" }>;

function planUpgrade(step: StepOf<"packages">, index: number, host: HostPlan): UpgradeAction {
  const filters = stepFilters(step.packages);
  const action: UpgradeAction = { step: step.name, index, kind: "packages", action: "upgrade", upgrades: [], excluded: [] };
  // Taken in name order, so the lists come out sorted (ties in the facts' order).
  const list = host.facts.upgradable;
  const order = host.upgradableOrder();
  let kernelsHere: number[] | undefined;
  for (let k = 0; k < list.length; k++) {
    const i = order === null ? k : order[k]!;
    const pkg = list[i]!;
    if (filters && !filters.some((re) => re.test(pkg.name))) {
      action.excluded.push({ name: pkg.name, ...(pkg.arch !== undefined ? { arch: pkg.arch } : {}), from: pkg.from, to: pkg.to, reason: "not-in-step", detail: `the step upgrades only ${step.packages!.map((p) => `'${specName(p)}'`).join(", ")}` });
      continue;
    }
    const entry = decisionEntry(host.policy, pkg, host.isHeld(pkg.name));
    const decision = entry.decision;
    if ("planned" in decision) {
      action.upgrades.push(decision.planned);
      host.upgraded(pkg.name, pkg.arch);
      if (isKernelPackage(pkg.name)) (kernelsHere ??= []).push(i);
      host.touch(pkg.name, entry);
    } else {
      action.excluded.push(decision.excluded);
    }
  }
  // Kernels are named in the facts' order, as the package manager listed them.
  if (kernelsHere !== undefined) for (const i of kernelsHere.sort((a, b) => a - b)) host.kernels.push(list[i]!.name);
  host.changes += action.upgrades.length;
  return action;
}

export const plan: StepKindModule<"packages">["plan"] = (step, index, host) => {
  host.managesPackages = true;
  if (step.action === "upgrade") return planUpgrade(step, index, host);
  // Install what is missing, remove what is present; the rest is already as asked.
  const wanted = (step.packages ?? []).map((p) => (typeof p === "string" ? { name: p } : { name: p.name, ...(p.version !== undefined ? { version: p.version } : {}) }));
  const packages = wanted.filter((p) => {
    const installed = host.installedVersion(p.name);
    return step.action === "install" ? installed === undefined || ("version" in p && installed !== p.version) : installed !== undefined;
  });
  for (const p of packages) host.touch(p.name, null);
  host.changes += packages.length;
  return { step: step.name, index, kind: "packages", action: step.action, packages };
};

export const dependsOn: StepKindModule<"packages">["dependsOn"] = (a) => ({ packages: a.action === "upgrade" ? a.upgrades.map((u) => u.name) : a.packages.map((p) => p.name), apps: [], host: true });

/** Upgrades go to the host's package table; an install or removal is one line. */
export const render: StepKindModule<"packages">["render"] = (a) =>
  a.action === "upgrade" ? { notes: [], upgrades: a.upgrades, excluded: a.excluded } : { notes: [`${a.step}: ${a.action} ${a.packages.map((p) => p.name).join(", ") || "nothing"}`] };

/**
 * The exact versions an upgrade action installs, one request per name and architecture,
 * for the driver's install command: apt pins `libc6:amd64=V libc6:i386=V`, so the
 * architectures of a multi-arch package move together in one transaction.
 */
export function installRequests(upgrades: readonly PlannedPackage[]): PackageRequest[] {
  return upgrades.map((u) => ({ name: u.name, version: u.to, ...(u.arch !== undefined ? { arch: u.arch } : {}) }));
}
