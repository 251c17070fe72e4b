import { createHash } from "node:crypto";
import type { HostFacts } from "../facts/types.ts";

/**
 * Canonical JSON and the hashes built on it. Keys are sorted at every level and
 * undefined values dropped, so the same value always gives the same bytes whatever
 * order it was built in.
 */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Compact canonical JSON: sorted keys, no whitespace. */
export const canonicalJson = (value: unknown): string => JSON.stringify(sortKeys(value));

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/**
 * The digest of exactly the facts a host's plan depends on: OS, package manager, the
 * reboot flag, and the installed and upgradable entries of the packages the plan
 * touches. Apply recomputes it from fresh facts with the same names; a difference
 * means the plan is stale for that host. Facts the plan ignores (load, disks, other
 * packages) may change freely.
 */
export function factsDigest(facts: HostFacts, packages: ReadonlySet<string>): string {
  const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return sha256(
    canonicalJson({
      os: { id: facts.os.id, versionId: facts.os.versionId },
      packageManager: facts.packageManager,
      rebootRequired: facts.reboot.required,
      installed: facts.installed.filter((p) => packages.has(p.name)).map((p) => ({ name: p.name, version: p.version, arch: p.arch, held: p.held ?? false })).sort(byName),
      upgradable: facts.upgradable.filter((p) => packages.has(p.name)).map((p) => ({ name: p.name, from: p.from, to: p.to, security: p.security, source: p.source })).sort(byName),
    }),
  );
}
