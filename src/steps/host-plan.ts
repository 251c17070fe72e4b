import type { HostFacts } from "../facts/types.ts";
import { orderByName, touchedPackages, type TouchedPackages } from "../plan/digest.ts";
import type { CompiledPolicy, DecisionEntry } from "../plan/policy.ts";

/** Packages whose upgrade needs a reboot to take effect. */
export const isKernelPackage = (name: string): boolean => name.startsWith("linux-image-") || name.includes("kernel");

/**
 * One host being planned: what the kinds' `plan` functions read (the host's facts, the
 * runbook's compiled policy, what earlier steps planned) and what they record (changes,
 * the packages and apps the plan depends on). The planner makes one per host and
 * passes it to every step in runbook order. Lookups a kind may need are built on
 * first use, since most runbooks need few of them.
 */
export class HostPlan {
  readonly facts: HostFacts;
  readonly policy: CompiledPolicy;
  /** The runbook's name, for hints in plan entries (`steward plan <runbook> --gather`). */
  readonly runbookName: string;
  /** Kernel packages upgraded by earlier steps, by name in the facts' order: a later reboot step expects a reboot. */
  readonly kernels: string[] = [];
  /** Planned changes: packages upgraded, installed or removed, apps upgraded. */
  changes = 0;
  rebootExpected = false;
  /** True once a packages step applies to the host. */
  managesPackages = false;
  /** True once an app-upgrade step applies to the host. */
  managesApps = false;
  private upgradable: readonly number[] | null | undefined;
  private held: Set<string> | null | undefined;
  private installed: Map<string, string> | undefined;
  /** "name arch" of each package upgraded: one package upgraded by two steps counts once. */
  private readonly upgradedKeys = new Set<string>();
  private readonly touchedNames: string[] = [];
  private readonly touchedEntries: Array<DecisionEntry | null> = [];
  private readonly appNames: string[] = [];

  /** `upgradableOrder` is facts.upgradable's order by name (orderByName), when the caller has it already. */
  constructor(facts: HostFacts, policy: CompiledPolicy, runbookName: string, upgradableOrder?: readonly number[] | null) {
    this.facts = facts;
    this.policy = policy;
    this.runbookName = runbookName;
    this.upgradable = upgradableOrder;
  }

  /** facts.upgradable's indices in name order (null when already in name order). */
  upgradableOrder(): readonly number[] | null {
    if (this.upgradable === undefined) this.upgradable = orderByName(this.facts.upgradable);
    return this.upgradable;
  }

  /** Whether the package is held on the host. */
  isHeld(name: string): boolean {
    if (this.held === undefined) {
      // Most hosts hold nothing: the set is made only for a host that does.
      let held: Set<string> | null = null;
      for (const p of this.facts.installed) if (p.held) (held ??= new Set()).add(p.name);
      this.held = held;
    }
    return this.held !== null && this.held.has(name);
  }

  /** The installed version of a package, undefined when it is not installed. */
  installedVersion(name: string): string | undefined {
    this.installed ??= new Map(this.facts.installed.map((p) => [p.name, p.version]));
    return this.installed.get(name);
  }

  /** Records that the plan depends on a package's facts; `entry` is the shared policy decision that planned its upgrade, null for an install or removal. */
  touch(name: string, entry: DecisionEntry | null): void {
    this.touchedNames.push(name);
    this.touchedEntries.push(entry);
  }

  /** Records that the plan depends on an app's probed versions. */
  dependOnApp(app: string): void {
    this.appNames.push(app);
  }

  /** The apps the plan depends on, in the order the steps named them. */
  get apps(): readonly string[] {
    return this.appNames;
  }

  /** Records a package upgrade, by name and architecture. */
  upgraded(name: string, arch: string | undefined): void {
    this.upgradedKeys.add(arch === undefined ? name : `${name} ${arch}`);
  }

  /** Distinct packages upgraded so far. */
  get upgrades(): number {
    return this.upgradedKeys.size;
  }

  /** The packages the plan touches, for the facts digest. */
  touched(): TouchedPackages {
    return touchedPackages(this.touchedNames, this.touchedEntries);
  }
}
