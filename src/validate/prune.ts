import type { Diagnostic } from "../core/diagnostic.ts";
import { segmentsOf } from "../core/diagnostic.ts";
import type { YamlSource } from "../load/yaml-source.ts";

/**
 * A file with the entries that failed their schema cut out, so the semantic rules can
 * still check every entry that passed: one host's `connect_timeout: 10` must not hide
 * another host's `via` loop. Entries are cut, not repaired: what is left is exactly
 * what was written, and every rule sees only values of the shape it expects.
 *
 * What one error cuts (pointers follow the files' layout):
 * - inventory: `/hosts/H/FIELD/…` cuts FIELD of host H, `/hosts/H` (a missing key, not
 *   a mapping) cuts host H, likewise for `/groups/G…`; `/defaults/FIELD/…` cuts FIELD;
 *   any other `/KEY/…` cuts KEY;
 * - runbook: `/steps/N/…` cuts step N (leaving a hole, so later steps keep their
 *   pointers), `/rollout/FIELD/…` cuts FIELD, `/vars/NAME/…` cuts NAME, `/window/…` and
 *   any other `/KEY/…` cut KEY;
 * - an error at the file itself (`""`) leaves nothing to check.
 */
export interface Pruned {
  /** The file with the failing entries cut out; undefined when nothing is left to check. */
  source?: YamlSource;
  /** Hosts and groups cut whole: they exist, so references to them are no mistake of their own. */
  cutHosts: Set<string>;
  cutGroups: Set<string>;
  /** Hosts with a schema error anywhere in them: checks of the host as a whole (its keys on record) would only echo it. */
  faultyHosts: Set<string>;
}

/** How many leading segments of an error's pointer name the entry to cut. */
function entryDepth(kind: "inventory" | "runbook", segments: string[]): number {
  const [top, name] = segments;
  if (kind === "inventory") {
    if (top === "hosts" || top === "groups") return Math.min(segments.length, 3);
    if (top === "defaults") return Math.min(segments.length, 2);
    return 1;
  }
  if (top === "steps" || top === "rollout" || top === "vars") return name === undefined ? 1 : 2;
  return 1;
}

/** Deletes the value at a path; array items become holes so the indices after them stay. */
function cut(root: unknown, path: string[]): void {
  let node = root;
  for (const segment of path.slice(0, -1)) {
    if (typeof node !== "object" || node === null) return;
    node = (node as Record<string, unknown>)[segment];
  }
  if (typeof node === "object" && node !== null) delete (node as Record<string, unknown>)[path.at(-1)!];
}

/** The source without the entries its schema errors name (see Pruned). */
export function pruneBySchemaErrors(source: YamlSource, kind: "inventory" | "runbook", errors: Diagnostic[]): Pruned {
  const pruned: Pruned = { cutHosts: new Set(), cutGroups: new Set(), faultyHosts: new Set() };
  if (errors.length === 0) return { ...pruned, source };
  if (typeof source.value !== "object" || source.value === null || Array.isArray(source.value)) return pruned;
  const value = structuredClone(source.value);
  for (const error of errors) {
    const segments = segmentsOf(error.pointer);
    if (segments.length === 0) return pruned;
    const path = segments.slice(0, entryDepth(kind, segments));
    if (kind === "inventory" && path.length >= 2 && path[0] === "hosts") pruned.faultyHosts.add(path[1]!);
    if (kind === "inventory" && path.length === 2 && path[0] === "hosts") pruned.cutHosts.add(path[1]!);
    if (kind === "inventory" && path.length === 2 && path[0] === "groups") pruned.cutGroups.add(path[1]!);
    cut(value, path);
  }
  const record = value as Record<string, unknown>;
  if (kind === "inventory" && typeof record.hosts === "object" && record.hosts !== null) {
    // A host is built from its address; one whose address was cut is cut whole.
    const hosts = record.hosts as Record<string, { address?: unknown } | null>;
    for (const [name, host] of Object.entries(hosts)) {
      if (typeof host?.address === "string") continue;
      delete hosts[name];
      pruned.cutHosts.add(name);
    }
  }
  // A runbook is checked from its name, targets and steps; without them there is nothing to check.
  if (kind === "runbook" && (typeof record.name !== "string" || typeof record.targets !== "string" || !Array.isArray(record.steps))) return pruned;
  return { ...pruned, source: { ...source, value } };
}
