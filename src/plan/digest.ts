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
 * reboot flag, and the installed and upgradable entries (with the versions offered,
 * from which the planner chose) of the packages the plan touches. Apply recomputes it from fresh facts with the same names; a difference
 * means the plan is stale for that host. Facts the plan ignores (load, disks, other
 * packages) may change freely.
 */
export function factsDigest(facts: HostFacts, packages: ReadonlySet<string>): string {
  // Written out by hand with keys in sorted order and undefined fields left out, which
  // is exactly canonicalJson of the same value (a test holds the two together); this
  // runs once per host and must stay cheap for fleets of thousands.
  const installed = pick(facts.installed, packages);
  const upgradable = pick(facts.upgradable, packages);
  let text = '{"installed":[';
  installed.forEach((p, i) => {
    text += `${i > 0 ? "," : ""}{${p.arch !== undefined ? `"arch":${q(p.arch)},` : ""}"held":${p.held ?? false},"name":${q(p.name)},"version":${q(p.version)}}`;
  });
  text += `],"os":{"id":${q(facts.os.id)},"versionId":${q(facts.os.versionId)}},"packageManager":${q(facts.packageManager)},"rebootRequired":${facts.reboot.required},"upgradable":[`;
  upgradable.forEach((p, i) => {
    text += `${i > 0 ? "," : ""}{"from":${q(p.from)},"name":${q(p.name)},"security":${p.security},${p.source !== undefined ? `"source":${q(p.source)},` : ""}"to":${q(p.to)}`;
    if (p.versions !== undefined) text += `,"versions":[${p.versions.map((v) => `{"security":${v.security},${v.source !== undefined ? `"source":${q(v.source)},` : ""}"version":${q(v.version)}}`).join(",")}]`;
    text += "}";
  });
  return sha256(`${text}]}`);
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
/** JSON.stringify for a string, without its cost for the plain ASCII of package names and versions. */
const q = (text: string | null): string => (text === null ? "null" : NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`);

/** The value factsDigest hashes, in plain form: what apply must reproduce. */
export function factsDigestValue(facts: HostFacts, packages: ReadonlySet<string>): unknown {
  return {
    os: { id: facts.os.id, versionId: facts.os.versionId },
    packageManager: facts.packageManager,
    rebootRequired: facts.reboot.required,
    installed: facts.installed.filter((p) => packages.has(p.name)).sort(byName).map((p) => ({ name: p.name, version: p.version, arch: p.arch, held: p.held ?? false })),
    upgradable: facts.upgradable.filter((p) => packages.has(p.name)).sort(byName).map((p) => ({ name: p.name, from: p.from, to: p.to, security: p.security, source: p.source, versions: p.versions })),
  };
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The entries named in `names`, by name; gatherers list packages sorted already, so the sort is usually skipped. */
function pick<T extends { name: string }>(list: readonly T[], names: ReadonlySet<string>): T[] {
  const out: T[] = [];
  let sorted = true;
  for (const p of list) {
    if (!names.has(p.name)) continue;
    if (sorted && out.length > 0 && out[out.length - 1]!.name > p.name) sorted = false;
    out.push(p);
  }
  // Array.prototype.sort is stable, so entries of equal name keep their order either way.
  return sorted ? out : out.sort(byName);
}
