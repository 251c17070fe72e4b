import type { HostFacts } from "../facts/types.ts";
import { compileGlob, type Glob } from "../model/glob.ts";
import type { PackageSpec, Step } from "../model/types.ts";
import { decideApp } from "./apps.ts";
import { orderByName, touchedPackages, type TouchedPackages } from "./digest.ts";
import type { PackageRequest } from "../drivers/types.ts";
import { decisionEntry, type CompiledPolicy, type DecisionEntry, type PlannedPackage } from "./policy.ts";
import type { PlannedAction } from "./types.ts";

/**
 * A host's actions: the runbook steps that apply to it, with package upgrades, app
 * upgrades and reboots decided from its facts. Steps restricted by `hosts:` to other hosts are left
 * out; every other step kind is listed as-is, by name and kind.
 */

/** Packages whose upgrade needs a reboot to take effect. */
export const isKernelPackage = (name: string): boolean => name.startsWith("linux-image-") || name.includes("kernel");

export interface HostActions {
  actions: PlannedAction[];
  /** Every package the actions touch: the facts digest covers these. */
  touched: TouchedPackages;
  /** Distinct packages upgraded, by name and architecture: libc6 for amd64 and for i386 are two, one package upgraded by two steps is one. */
  upgrades: number;
  rebootExpected: boolean;
  /** True when the runbook manages packages or apps here but no such step changes anything. */
  packagesIdle: boolean;
  hasPackageStep: boolean;
}

/** The app-upgrade actions among a host's actions. */
export const appActions = (actions: readonly PlannedAction[]): Array<Extract<PlannedAction, { kind: "app-upgrade" }>> => actions.filter((a) => a.kind === "app-upgrade");

const specName = (spec: PackageSpec): string => (typeof spec === "string" ? spec : spec.name);

/** A step's package patterns, compiled once per step rather than once per host. */
const compiledFilters = new WeakMap<readonly PackageSpec[], Glob[]>();
function stepFilters(packages: readonly PackageSpec[] | undefined): Glob[] | undefined {
  if (packages === undefined) return undefined;
  let filters = compiledFilters.get(packages);
  if (filters === undefined) compiledFilters.set(packages, (filters = packages.map((p) => compileGlob(specName(p)))));
  return filters;
}

/**
 * `upgradableOrder` is facts.upgradable's order by name (see orderByName), when the
 * caller has it already.
 */
export function hostActions(steps: readonly Step[], appliesTo: (step: Step) => boolean, facts: HostFacts, policy: CompiledPolicy, upgradableOrder?: readonly number[] | null, runbookName = "<runbook>"): HostActions {
  let hasAppStep = false;
  const actions: PlannedAction[] = [];
  const touchedNames: string[] = [];
  const touchedEntries: Array<DecisionEntry | null> = [];
  /** Kernel packages upgraded so far, by name: a reboot step after them expects a reboot. */
  const kernels: string[] = [];
  // Most hosts hold nothing: the set is made only for a host that does.
  let heldOnHost: Set<string> | undefined;
  for (const p of facts.installed) if (p.held) (heldOnHost ??= new Set()).add(p.name);
  // Only install/remove steps need the installed map; most runbooks never build it.
  let installedMap: Map<string, string> | undefined;
  // "name arch" of each package upgraded; most hosts upgrade a package in one step only.
  const upgraded = new Set<string>();
  let changes = 0;
  let rebootExpected = false;
  let hasPackageStep = false;

  for (const step of steps) {
    if (!appliesTo(step)) continue;
    switch (step.kind) {
      case "packages": {
        hasPackageStep = true;
        if (step.action === "upgrade") {
          const filters = stepFilters(step.packages);
          const action: Extract<PlannedAction, { action: "upgrade" }> = { step: step.name, kind: "packages", action: "upgrade", upgrades: [], excluded: [] };
          // Taken in name order, so the lists come out sorted (ties in the facts' order).
          const list = facts.upgradable;
          const order = (upgradableOrder ??= orderByName(list));
          let kernelsHere: number[] | undefined;
          for (let k = 0; k < list.length; k++) {
            const i = order === null ? k : order[k]!;
            const pkg = list[i]!;
            if (filters && !filters.some((re) => re.test(pkg.name))) {
              action.excluded.push({ name: pkg.name, ...(pkg.arch !== undefined ? { arch: pkg.arch } : {}), from: pkg.from, to: pkg.to, reason: "not-in-step", detail: `the step upgrades only ${step.packages!.map((p) => `'${specName(p)}'`).join(", ")}` });
              continue;
            }
            const entry = decisionEntry(policy, pkg, heldOnHost !== undefined && heldOnHost.has(pkg.name));
            const decision = entry.decision;
            if ("planned" in decision) {
              action.upgrades.push(decision.planned);
              upgraded.add(pkg.arch === undefined ? pkg.name : `${pkg.name} ${pkg.arch}`);
              if (isKernelPackage(pkg.name)) (kernelsHere ??= []).push(i);
              touchedNames.push(pkg.name);
              touchedEntries.push(entry);
            } else {
              action.excluded.push(decision.excluded);
            }
          }
          // Kernels are named in the facts' order, as the package manager listed them.
          if (kernelsHere !== undefined) for (const i of kernelsHere.sort((a, b) => a - b)) kernels.push(list[i]!.name);
          changes += action.upgrades.length;
          actions.push(action);
        } else {
          // Install what is missing, remove what is present; the rest is already as asked.
          const wanted = (step.packages ?? []).map((p) => (typeof p === "string" ? { name: p } : { name: p.name, ...(p.version !== undefined ? { version: p.version } : {}) }));
          const installed = (installedMap ??= new Map(facts.installed.map((p) => [p.name, p.version])));
          const packages = wanted.filter((p) => (step.action === "install" ? installed.get(p.name) === undefined || ("version" in p && installed.get(p.name) !== p.version) : installed.has(p.name)));
          for (const p of packages) {
            touchedNames.push(p.name);
            touchedEntries.push(null);
          }
          changes += packages.length;
          actions.push({ step: step.name, kind: "packages", action: step.action, packages });
        }
        break;
      }
      case "reboot": {
        const when = step.when ?? "required";
        const because: string[] = [];
        if (when === "always") because.push("the step reboots always");
        else {
          if (facts.reboot.required) because.push(...(facts.reboot.reasons.length > 0 ? facts.reboot.reasons.map((r) => `host reports: ${r}`) : ["host reports a pending reboot"]));
          if (kernels.length > 0) because.push(`upgrades ${kernels.join(", ")}`);
        }
        const expected = because.length > 0;
        rebootExpected ||= expected;
        actions.push({ step: step.name, kind: "reboot", when, expected, because });
        break;
      }
      case "app-upgrade": {
        hasAppStep = true;
        const decision = decideApp(step.app, step.version, facts.apps?.[step.app], runbookName);
        if (decision.status === "upgrade") changes++;
        actions.push({ step: step.name, kind: "app-upgrade", ...decision });
        break;
      }
      default:
        actions.push({ step: step.name, kind: step.kind });
    }
  }
  return { actions, touched: touchedPackages(touchedNames, touchedEntries), upgrades: upgraded.size, rebootExpected, packagesIdle: (hasPackageStep || hasAppStep) && changes === 0, hasPackageStep };
}

/**
 * The exact versions an upgrade action installs, one request per name and architecture,
 * for the driver's install command: apt pins `libc6:amd64=V libc6:i386=V`, so the
 * architectures of a multi-arch package move together in one transaction.
 */
export function installRequests(upgrades: readonly PlannedPackage[]): PackageRequest[] {
  return upgrades.map((u) => ({ name: u.name, version: u.to, ...(u.arch !== undefined ? { arch: u.arch } : {}) }));
}
