import canonicalize from "canonicalize";
import * as crypto from "node:crypto";
import { StewardError } from "../core/errors.ts";
import type { AvailableVersion, InstalledPackage, PlanFacts, UpgradablePackage } from "../facts/types.ts";
import { sameVersions, type DecisionEntry } from "./policy.ts";

/**
 * A value with its keys sorted at every level and undefined values dropped: for
 * pretty output (the plan file) that reads in the same order as the canonical form.
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

/**
 * The JSON Canonicalization Scheme (RFC 8785) form of a value, by the RFC's reference
 * implementation: keys sorted by UTF-16 code units at every level, no whitespace,
 * strings and numbers serialised as ECMAScript's JSON.stringify does (RFC 8785 §3.2.2),
 * undefined object members dropped. Every hash of identity (the plan's digest and
 * fingerprint, each host's facts digest) is taken over this text.
 * @throws StewardError "invalid-input" for a string holding a lone UTF-16 surrogate,
 *   which RFC 8785 (§3.2.2.2, I-JSON) does not allow; the message gives its JSON pointer.
 */
export function canonicalJson(value: unknown): string {
  try {
    const text = canonicalize(value);
    if (text === undefined) throw new TypeError("the value has no JSON form");
    return text;
  } catch (error) {
    const at = loneSurrogateAt(value, "");
    if (at === undefined) throw error;
    throw new StewardError("invalid-input", `the text at ${at || "/"} holds a lone UTF-16 surrogate, which canonical JSON (RFC 8785) cannot represent`, "gather facts again; a hand-edited facts or plan file may hold a \\uD800-\\uDFFF escape");
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The JSON pointer of the first string (or key) holding a lone surrogate. */
function loneSurrogateAt(value: unknown, pointer: string): string | undefined {
  if (typeof value === "string") return LONE_SURROGATE.test(value) ? pointer : undefined;
  if (value === null || typeof value !== "object") return undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
    if (LONE_SURROGATE.test(key)) return at;
    const found = loneSurrogateAt(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** sha256 of the UTF-8 text, hex; the one-shot crypto.hash where this Node has it. */
export const sha256: (text: string) => string =
  typeof crypto.hash === "function" ? (text) => crypto.hash("sha256", text, "hex") : (text) => crypto.createHash("sha256").update(text).digest("hex");

/**
 * The facts digest of a host whose actions depend on no fact at all (only commands,
 * checks, services, backups…; see hostFactsDependencies): sha256 of `{}`, the canonical
 * JSON of the empty value. Apply reads no facts before such a host's steps — a pending
 * reboot or an OS upgrade since planning changes nothing these steps were decided from.
 */
export const NO_FACTS_DIGEST: string = sha256("{}");

/**
 * The digest text factsDigest writes for one package, kept with the package's shared
 * decision (see policy.ts) together with the entry it was written for, so the next host
 * with an equal entry reuses it instead of writing it again.
 */
export interface DigestMemo {
  installed: { version: string; arch: string | undefined; held: boolean | undefined; text: string } | undefined;
  upgradable: { versions: readonly AvailableVersion[] | undefined; text: string } | undefined;
}

/**
 * The digest of exactly the facts a host's plan depends on: OS, package manager, the
 * reboot flag, the installed and upgradable entries (with the versions offered,
 * from which the planner chose) of the packages the plan touches, and the probed
 * versions of the apps its app-upgrade steps decide (the key only when there are any). Apply recomputes it from fresh facts with the same names; a difference
 * means the plan is stale for that host. Facts the plan ignores (load, disks, other
 * packages) may change freely.
 */
export function factsDigest(facts: PlanFacts, packages: ReadonlySet<string>, apps: readonly string[] = []): string {
  const names = [...packages].sort();
  return plannedFactsDigest(facts, { names, entries: names.map(() => null) }, undefined, undefined, apps);
}

/**
 * The packages a host's plan touches: names sorted without repeats, each with the
 * shared decision that planned its upgrade (null for an install or a removal).
 */
export interface TouchedPackages {
  names: readonly string[];
  entries: ReadonlyArray<DecisionEntry | null>;
}

/**
 * TouchedPackages from names and entries as the actions touched them. For a name
 * touched more than once the last decision is kept: any of them describes the same package.
 */
export function touchedPackages(names: string[], entries: Array<DecisionEntry | null>): TouchedPackages {
  let sorted = true;
  for (let i = 1; i < names.length && sorted; i++) sorted = names[i - 1]! < names[i]!;
  if (sorted) return { names, entries };
  const order = Array.from(names, (_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : a - b));
  const outNames: string[] = [];
  const outEntries: Array<DecisionEntry | null> = [];
  for (const i of order) {
    const name = names[i]!;
    const entry = entries[i] ?? null;
    const last = outNames.length - 1;
    if (last < 0 || outNames[last] !== name) {
      outNames.push(name);
      outEntries.push(entry);
    } else if (entry !== null) {
      outEntries[last] = entry;
    }
  }
  return { names: outNames, entries: outEntries };
}

/**
 * factsDigest of the packages in `touched`: the text of an entry equal to the one its
 * package's decision last saw is reused. The orders are those of orderByName for the
 * facts' lists, when the caller has them.
 */
export function plannedFactsDigest(
  facts: PlanFacts,
  touched: TouchedPackages,
  installedOrder: readonly number[] | null = orderByName(facts.installed),
  upgradableOrder: readonly number[] | null = orderByName(facts.upgradable),
  apps: readonly string[] = [],
): string {
  // Written out by hand with keys in sorted order and undefined fields left out, which
  // is exactly canonicalJson of the same value (a test holds the two together); this
  // runs once per host and must stay cheap for fleets of thousands. Entries are taken
  // in name order, ties in the facts' order, as factsDigestValue's stable sort has them,
  // and matched to the touched names (sorted too) by walking both lists together.
  try {
    return sha256(plannedFactsText(facts, touched, installedOrder, upgradableOrder, apps));
  } catch (error) {
    if (!(error instanceof LoneSurrogate)) throw error;
    return sha256(canonicalJson(factsDigestValue(facts, new Set(touched.names), apps)));
  }
}

function plannedFactsText(facts: PlanFacts, touched: TouchedPackages, installedOrder: readonly number[] | null, upgradableOrder: readonly number[] | null, apps: readonly string[]): string {
  const { names, entries } = touched;
  let text = apps.length > 0 ? `{"apps":{${appsText(facts, apps)}},"installed":[` : '{"installed":[';
  text += entriesText(facts.installed, installedOrder, names, entries, installedText, memoInstalled);
  text += `],"os":{"id":${q(facts.os.id)},"versionId":${q(facts.os.versionId)}},"packageManager":${q(facts.packageManager)},"rebootRequired":${facts.reboot.required},"upgradable":[`;
  text += entriesText(facts.upgradable, upgradableOrder, names, entries, upgradableText, memoUpgradable);
  return `${text}]}`;
}

/** The comma-separated digest texts of a list's entries that `names` (sorted) touches, in name order. */
function entriesText<T extends { name: string }>(
  list: readonly T[],
  order: readonly number[] | null,
  names: readonly string[],
  entries: ReadonlyArray<DecisionEntry | null>,
  plain: (p: T) => string,
  memo: (entry: DecisionEntry, p: T) => string,
): string {
  let text = "";
  for (let k = 0, j = 0; k < list.length && j < names.length; k++) {
    const p = list[order === null ? k : order[k]!]!;
    while (j < names.length && names[j]! < p.name) j++;
    if (names[j] !== p.name) continue;
    const entry = entries[j] ?? null;
    text += (text === "" ? "" : ",") + (entry === null ? plain(p) : memo(entry, p));
  }
  return text;
}

function memoInstalled(entry: DecisionEntry, p: InstalledPackage): string {
  const memo = (entry.digest ??= { installed: undefined, upgradable: undefined });
  const m = memo.installed;
  if (m !== undefined && m.version === p.version && m.arch === p.arch && m.held === p.held && entry.name === p.name) return m.text;
  const text = flat(installedText(p));
  memo.installed = { version: p.version, arch: p.arch, held: p.held, text };
  return text;
}

function memoUpgradable(entry: DecisionEntry, p: UpgradablePackage): string {
  const memo = (entry.digest ??= { installed: undefined, upgradable: undefined });
  const m = memo.upgradable;
  const same = entry.name === p.name && entry.from === p.from && entry.to === p.to && entry.security === p.security && entry.source === p.source;
  if (m !== undefined && same && sameVersions(m.versions, p.versions)) return m.text;
  const text = flat(upgradableText(p));
  // Only an entry the decision was taken for is kept: its strings are compared above.
  if (same) memo.upgradable = { versions: p.versions, text };
  return text;
}

/** The probed versions of the named apps, sorted by name; an app without facts is left out. */
function appsText(facts: PlanFacts, apps: readonly string[]): string {
  const out: string[] = [];
  for (const app of [...new Set(apps)].sort()) {
    const a = facts.apps?.[app];
    if (a === undefined) continue;
    out.push(`${q(app)}:{${a.available !== undefined ? `"available":[${a.available.map(q).join(",")}],` : ""}"current":${q(a.current)}${a.error !== undefined ? `,"error":${q(a.error)}` : ""}}`);
  }
  return out.join(",");
}

const installedText = (p: InstalledPackage): string => `{${p.arch !== undefined ? `"arch":${q(p.arch)},` : ""}"held":${p.held ?? false},"name":${q(p.name)},"version":${q(p.version)}}`;

function upgradableText(p: UpgradablePackage): string {
  let text = `{"from":${q(p.from)},"name":${q(p.name)},"security":${p.security},${p.source !== undefined ? `"source":${q(p.source)},` : ""}"to":${q(p.to)}`;
  if (p.versions !== undefined) text += `,"versions":[${p.versions.map((v) => `{"security":${v.security},${v.source !== undefined ? `"source":${q(v.source)},` : ""}"version":${q(v.version)}}`).join(",")}]`;
  return `${text}}`;
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Raised by q for a lone surrogate, which canonicalJson refuses: the caller redoes the digest the slow way to get that error, with its pointer. */
class LoneSurrogate extends Error {}

/** JSON.stringify for a string, without its cost for the plain ASCII of package names and versions. */
function q(text: string | null): string {
  if (text === null) return "null";
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  if (LONE_SURROGATE.test(text)) throw new LoneSurrogate();
  return JSON.stringify(text);
}

/** The value factsDigest hashes, in plain form: what apply must reproduce. */
export function factsDigestValue(facts: PlanFacts, packages: ReadonlySet<string>, apps: readonly string[] = []): unknown {
  return {
    apps: apps.length > 0 ? Object.fromEntries(apps.filter((a) => facts.apps?.[a] !== undefined).map((a) => [a, facts.apps![a]])) : undefined,
    os: { id: facts.os.id, versionId: facts.os.versionId },
    packageManager: facts.packageManager,
    rebootRequired: facts.reboot.required,
    installed: facts.installed.filter((p) => packages.has(p.name)).sort(byName).map((p) => ({ name: p.name, version: p.version, arch: p.arch, held: p.held ?? false })),
    upgradable: facts.upgradable.filter((p) => packages.has(p.name)).sort(byName).map((p) => ({ name: p.name, from: p.from, to: p.to, security: p.security, source: p.source, versions: p.versions })),
  };
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * A list's order by name as indices, ties in list order (a stable sort), or null when
 * the list is in that order already: gatherers list packages sorted, so usually null.
 */
export function orderByName(list: readonly { name: string }[]): number[] | null {
  let sorted = true;
  for (let i = 1; i < list.length && sorted; i++) sorted = !(list[i - 1]!.name > list[i]!.name);
  if (sorted) return null;
  const order = Array.from(list, (_, i) => i);
  return order.sort((a, b) => byName(list[a]!, list[b]!) || a - b);
}

/**
 * orderByName for the lists of one host after another. Hosts of a fleet tend to list
 * the same packages in the same order, so a list with the same names in the same order
 * as the last unsorted one gets the last order back without sorting again.
 */
export class NameOrder {
  private names: string[] = [];
  private order: number[] | null = null;

  of(list: readonly { name: string }[]): readonly number[] | null {
    const names = this.names;
    if (this.order !== null && names.length === list.length) {
      let i = 0;
      while (i < names.length && list[i]!.name === names[i]) i++;
      if (i === names.length) return this.order;
    }
    const order = orderByName(list);
    if (order !== null) {
      this.names = list.map((p) => p.name);
      this.order = order;
    }
    return order;
  }
}

/**
 * The same string, stored in one piece: text built by concatenation is a tree of pieces
 * until first read, and a kept fragment would otherwise be walked piece by piece in every
 * digest text it goes into. Reading one character makes V8 store it flat.
 */
function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}
