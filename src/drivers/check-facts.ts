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
  private readonly accepted = new Map<PackageManager, Record<HostValueKind, Set<string>>>();

  /**
   * Undefined when every package name, version, architecture and source in `facts`
   * passes its manager's grammar; otherwise what is wrong, as `section: what`.
   */
  problem(facts: HostFacts): string | undefined {
    const manager = facts.packageManager;
    if (manager === null) return undefined;
    let seen = this.accepted.get(manager);
    if (seen === undefined) this.accepted.set(manager, (seen = { name: new Set(), version: new Set(), arch: new Set(), source: new Set() }));
    const { name, version, arch, source } = seen;
    let section = "installed";
    // Only a value not seen before is checked; the check throws for a bad one.
    const check = (kind: HostValueKind, set: Set<string>, value: string): void => {
      if (set.has(value)) return;
      new HostValues(drivers[manager], manager, section).check(kind, value, undefined);
      set.add(value);
    };
    // apt lists several suites in one source ("bookworm,bookworm-security"): each is checked, then the whole is remembered.
    const sources = (list: string): void => {
      for (const s of list.split(",")) check("source", source, s);
      source.add(list);
    };
    try {
      for (const p of facts.installed) {
        if (!name.has(p.name)) check("name", name, p.name);
        if (!version.has(p.version)) check("version", version, p.version);
        if (p.arch !== undefined && !arch.has(p.arch)) check("arch", arch, p.arch);
      }
      section = "upgradable";
      for (const p of facts.upgradable) {
        if (!name.has(p.name)) check("name", name, p.name);
        if (!version.has(p.to)) check("version", version, p.to);
        // dnf reports no from-version for a package its installed list lacks.
        if (p.from !== "" && !version.has(p.from)) check("version", version, p.from);
        if (p.arch !== undefined && !arch.has(p.arch)) check("arch", arch, p.arch);
        if (p.source !== undefined && !source.has(p.source)) sources(p.source);
        if (p.versions !== undefined) {
          for (const v of p.versions) {
            if (!version.has(v.version)) check("version", version, v.version);
            if (v.source !== undefined && !source.has(v.source)) sources(v.source);
          }
        }
      }
    } catch (error) {
      if (error instanceof UntrustedValueError) return error.message;
      throw error;
    }
    return undefined;
  }
}
