import type { HostFacts } from "../facts/types.ts";
import { globToRegExp } from "../model/selector.ts";
import type { PackageSpec, Step } from "../model/types.ts";
import { decidePackage, type CompiledPolicy, type PlannedPackage } from "./policy.ts";
import type { PlannedAction } from "./types.ts";

/**
 * A host's actions: the runbook steps that apply to it, with package upgrades and
 * reboots decided from its facts. Steps restricted by `hosts:` to other hosts are left
 * out; every other step kind is listed as-is, by name and kind.
 */

/** Packages whose upgrade needs a reboot to take effect. */
export const isKernelPackage = (name: string): boolean => name.startsWith("linux-image-") || name.includes("kernel");

export interface HostActions {
  actions: PlannedAction[];
  /** Names of every package the actions touch: the facts digest covers these. */
  touched: Set<string>;
  upgrades: number;
  rebootExpected: boolean;
  /** True when the runbook manages packages here but no package step changes anything. */
  packagesIdle: boolean;
  hasPackageStep: boolean;
}

const specName = (spec: PackageSpec): string => (typeof spec === "string" ? spec : spec.name);

export function hostActions(steps: readonly Step[], appliesTo: (step: Step) => boolean, facts: HostFacts, policy: CompiledPolicy): HostActions {
  const actions: PlannedAction[] = [];
  const touched = new Set<string>();
  const upgraded: PlannedPackage[] = [];
  const heldOnHost = new Set<string>();
  for (const p of facts.installed) if (p.held) heldOnHost.add(p.name);
  // Only install/remove steps need the installed map; most runbooks never build it.
  let installedMap: Map<string, string> | undefined;
  const installed = (): Map<string, string> => (installedMap ??= new Map(facts.installed.map((p) => [p.name, p.version])));
  let upgrades = 0;
  let changes = 0;
  let rebootExpected = false;
  let hasPackageStep = false;

  for (const step of steps) {
    if (!appliesTo(step)) continue;
    switch (step.kind) {
      case "packages": {
        hasPackageStep = true;
        if (step.action === "upgrade") {
          const filters = step.packages?.map((p) => globToRegExp(specName(p)));
          const action: Extract<PlannedAction, { action: "upgrade" }> = { step: step.name, kind: "packages", action: "upgrade", upgrades: [], excluded: [] };
          for (const pkg of facts.upgradable) {
            if (filters && !filters.some((re) => re.test(pkg.name))) {
              action.excluded.push({ name: pkg.name, from: pkg.from, to: pkg.to, reason: "not-in-step", detail: `the step upgrades only ${step.packages!.map((p) => `'${specName(p)}'`).join(", ")}` });
              continue;
            }
            const decision = decidePackage(policy, pkg, heldOnHost);
            if ("planned" in decision) {
              action.upgrades.push(decision.planned);
              upgraded.push(decision.planned);
              touched.add(pkg.name);
            } else {
              action.excluded.push(decision.excluded);
            }
          }
          action.upgrades.sort(byName);
          action.excluded.sort(byName);
          upgrades += action.upgrades.length;
          changes += action.upgrades.length;
          actions.push(action);
        } else {
          // Install what is missing, remove what is present; the rest is already as asked.
          const wanted = (step.packages ?? []).map((p) => (typeof p === "string" ? { name: p } : { name: p.name, ...(p.version !== undefined ? { version: p.version } : {}) }));
          const packages = wanted.filter((p) => (step.action === "install" ? installed().get(p.name) === undefined || ("version" in p && installed().get(p.name) !== p.version) : installed().has(p.name)));
          for (const p of packages) touched.add(p.name);
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
          const kernels = upgraded.filter((p) => isKernelPackage(p.name)).map((p) => p.name);
          if (kernels.length > 0) because.push(`upgrades ${kernels.join(", ")}`);
        }
        const expected = because.length > 0;
        rebootExpected ||= expected;
        actions.push({ step: step.name, kind: "reboot", when, expected, because });
        break;
      }
      default:
        actions.push({ step: step.name, kind: step.kind });
    }
  }
  return { actions, touched, upgrades, rebootExpected, packagesIdle: hasPackageStep && changes === 0, hasPackageStep };
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
