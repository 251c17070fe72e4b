import type { HostFacts, PackageManager } from "../facts/types.ts";
import { drivers } from "./registry.ts";
import { HostValues, UntrustedValueError, type HostValueKind } from "./untrusted.ts";

/**
 * Checks facts that did not come straight from a driver's parser (a facts cache written
 * by an older steward, or edited by hand) against the same grammars, before the planner
 * trusts them. The gatherer's parsers already refuse bad values, so for fresh facts this
 * finds nothing.
 *
 * Fleets repeat the same names and versions on thousands of hosts, so each accepted
 * value is remembered per manager and kind, and checked once per plan, not once per host.
 */
export class FactsChecker {
  private readonly accepted = new Map<string, Set<string>>();

  /**
   * Undefined when every package name, version, architecture and source in `facts`
   * passes its manager's grammar; otherwise what is wrong, as `section: what`.
   */
  problem(facts: HostFacts): string | undefined {
    const manager = facts.packageManager;
    if (manager === null) return undefined;
    try {
      const installed = this.values(manager, "installed");
      for (const p of facts.installed) {
        installed("name", p.name);
        installed("version", p.version);
        if (p.arch !== undefined) installed("arch", p.arch);
      }
      const upgradable = this.values(manager, "upgradable");
      for (const p of facts.upgradable) {
        upgradable("name", p.name);
        upgradable("version", p.to);
        // dnf reports no from-version for a package its installed list lacks.
        if (p.from !== "") upgradable("version", p.from);
        if (p.arch !== undefined) upgradable("arch", p.arch);
        if (p.source !== undefined) for (const s of p.source.split(",")) upgradable("source", s);
        for (const v of p.versions ?? []) {
          upgradable("version", v.version);
          if (v.source !== undefined) for (const s of v.source.split(",")) upgradable("source", s);
        }
      }
    } catch (error) {
      if (error instanceof UntrustedValueError) return error.message;
      throw error;
    }
    return undefined;
  }

  private values(manager: PackageManager, section: string): (kind: HostValueKind, value: string) => void {
    const check = new HostValues(drivers[manager], manager, section);
    return (kind, value) => {
      const key = `${manager} ${kind}`;
      let seen = this.accepted.get(key);
      if (seen === undefined) this.accepted.set(key, (seen = new Set()));
      if (seen.has(value)) return;
      check.check(kind, value, undefined);
      seen.add(value);
    };
  }
}
