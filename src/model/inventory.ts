import { isIPv6 } from "node:net";
import type { Diagnostic } from "../core/diagnostic.ts";
import { pointerOf } from "../core/diagnostic.ts";
import { parseDuration } from "../core/duration.ts";
import { didYouMean } from "../core/suggest.ts";
import { diagnosticAt, locate, type YamlSource } from "../load/yaml-source.ts";
import type { Become, Criticality, Group, Host, Inventory, Origin } from "./types.ts";

/** The YAML shape of one inventory file, after schema validation. */
interface RawBecome {
  method: "sudo";
  user?: string;
}
interface RawDefaults {
  user?: string;
  port?: number;
  become?: boolean | RawBecome;
  criticality?: Criticality;
  transport?: "ssh" | "local";
  identity_file?: string;
  identity_passphrase_env?: string;
  known_hosts?: string;
  connect_timeout?: string;
  vars?: Record<string, unknown>;
}
interface RawGroup {
  description?: string;
  children?: string[];
  vars?: Record<string, unknown>;
}
interface RawHost extends Omit<RawDefaults, "known_hosts"> {
  address: string;
  groups?: string[];
  tags?: string[];
  via?: string;
  host_keys?: string[];
}
interface RawInventory {
  defaults?: RawDefaults;
  groups?: Record<string, RawGroup | null>;
  hosts?: Record<string, RawHost>;
}

/** Built-in defaults, used where neither the inventory defaults nor a host say otherwise. */
export const BUILTIN_DEFAULTS = { user: "root", port: 22, become: false as const, criticality: "medium" as Criticality, transport: "ssh" as const, connectTimeoutMs: 10_000 };

function becomeOf(raw: boolean | RawBecome | undefined): Become | undefined {
  if (raw === undefined) return undefined;
  if (raw === false) return false;
  if (raw === true) return { method: "sudo", user: "root" };
  return { method: "sudo", user: raw.user ?? "root" };
}

const where = (o: Origin, sources: Map<string, YamlSource>): string => {
  const source = sources.get(o.file);
  const pos = source ? locate(source, o.pointer, { key: true }) : { line: 1, column: 1 };
  return `${o.file}:${pos.line}:${pos.column}`;
};

/**
 * Merges every inventory file into one inventory and checks what no schema can:
 * duplicates across files, references to unknown groups and hosts, cycles, addresses
 * and timeouts that can never work. Files must already have passed schema validation,
 * or have had the entries that failed cut out: `left` names the hosts and groups cut
 * that way, which exist, so a reference to one is not reported as unknown.
 */
export function buildInventory(files: YamlSource[], left: { hosts: ReadonlySet<string>; groups: ReadonlySet<string> } = { hosts: new Set(), groups: new Set() }): { inventory: Inventory; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const sources = new Map(files.map((f) => [f.file, f]));
  const defaults: RawDefaults = {};
  const defaultOrigin = new Map<string, Origin>();
  const groups = new Map<string, Group>();
  const rawHosts = new Map<string, { raw: RawHost; origin: Origin; source: YamlSource }>();
  const addressOwner = new Map<string, { name: string; origin: Origin }>();

  for (const source of files) {
    const raw = (source.value ?? {}) as RawInventory;
    for (const [key, value] of Object.entries(raw.defaults ?? {})) {
      const pointer = pointerOf(["defaults", key]);
      const first = defaultOrigin.get(key);
      if (first) {
        diagnostics.push(diagnosticAt(source, pointer, "inventory/duplicate-default", `default \`${key}\` is already set in ${where(first, sources)}`, { key: true, hint: "set each default in one file only" }));
        continue;
      }
      defaultOrigin.set(key, { file: source.file, pointer });
      (defaults as Record<string, unknown>)[key] = value;
    }
    for (const [name, rawGroup] of Object.entries(raw.groups ?? {})) {
      const origin = { file: source.file, pointer: pointerOf(["groups", name]) };
      const group = groups.get(name) ?? { name, children: [], vars: {}, origins: [] };
      group.origins.push(origin);
      if (rawGroup?.description !== undefined) group.description = rawGroup.description;
      for (const child of rawGroup?.children ?? []) if (!group.children.includes(child)) group.children.push(child);
      for (const [key, value] of Object.entries(rawGroup?.vars ?? {})) {
        if (key in group.vars) {
          diagnostics.push(diagnosticAt(source, `${origin.pointer}/vars/${key}`, "inventory/conflicting-group-var", `group \`${name}\` sets \`${key}\` in more than one file`, { key: true, hint: `keep \`${key}\` in one declaration of \`${name}\`` }));
        }
        group.vars[key] = value;
      }
      groups.set(name, group);
    }
    for (const [name, rawHost] of Object.entries(raw.hosts ?? {})) {
      const origin = { file: source.file, pointer: pointerOf(["hosts", name]) };
      const first = rawHosts.get(name);
      if (first) {
        diagnostics.push(diagnosticAt(source, origin.pointer, "inventory/duplicate-host", `host \`${name}\` is already defined in ${where(first.origin, sources)}`, { key: true, hint: "host names are unique across all inventory files; rename or remove one" }));
        continue;
      }
      rawHosts.set(name, { raw: rawHost, origin, source });
    }
  }

  checkGroupReferences(groups, left.groups, sources, diagnostics);
  const depth = groupDepths(groups, sources, diagnostics);
  const ancestors = ancestorIndex(groups);
  const connectTimeoutMs = (defaults.connect_timeout && parseDuration(defaults.connect_timeout)) || BUILTIN_DEFAULTS.connectTimeoutMs;

  const hosts = new Map<string, Host>();
  for (const [name, { raw, origin, source }] of rawHosts) {
    const port = raw.port ?? defaults.port ?? BUILTIN_DEFAULTS.port;
    const addressKey = `${raw.address.toLowerCase()}:${port}`;
    const owner = addressOwner.get(addressKey);
    if (owner) {
      diagnostics.push(diagnosticAt(source, `${origin.pointer}/address`, "inventory/duplicate-address", `host \`${name}\` has the same address and port (${raw.address}:${port}) as \`${owner.name}\` (${where(owner.origin, sources)})`, { hint: "two entries for one machine make steward work on it twice; keep one" }));
    } else {
      addressOwner.set(addressKey, { name, origin });
    }
    const direct = raw.groups ?? [];
    direct.forEach((g, i) => {
      if (!groups.has(g) && !left.groups.has(g)) {
        diagnostics.push(diagnosticAt(source, `${origin.pointer}/groups/${i}`, "inventory/unknown-group", `host \`${name}\` names the group \`${g}\`, which no inventory file declares`, { hint: didYouMean(g, groups.keys()) ?? `declare it under \`groups:\`` }));
      }
    });
    const memberOf = new Set<string>();
    for (const g of direct) {
      if (!groups.has(g)) continue;
      memberOf.add(g);
      for (const a of ancestors.get(g) ?? []) memberOf.add(a);
    }
    const vars: Record<string, unknown> = { ...(defaults.vars ?? {}) };
    const ordered = [...memberOf].sort((a, b) => (depth.get(a) ?? 0) - (depth.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
    for (const g of ordered) Object.assign(vars, groups.get(g)?.vars);
    Object.assign(vars, raw.vars ?? {});
    const host: Host = {
      name,
      address: raw.address,
      port,
      user: raw.user ?? defaults.user ?? BUILTIN_DEFAULTS.user,
      become: becomeOf(raw.become) ?? becomeOf(defaults.become) ?? BUILTIN_DEFAULTS.become,
      criticality: raw.criticality ?? defaults.criticality ?? BUILTIN_DEFAULTS.criticality,
      transport: raw.transport ?? defaults.transport ?? BUILTIN_DEFAULTS.transport,
      groups: direct,
      memberOf: [...memberOf].sort(),
      tags: raw.tags ?? [],
      hostKeys: raw.host_keys ?? [],
      connectTimeoutMs: (raw.connect_timeout && parseDuration(raw.connect_timeout)) || connectTimeoutMs,
      vars,
      origin,
    };
    const via = raw.via;
    if (via !== undefined) host.via = via;
    const identityFile = raw.identity_file ?? defaults.identity_file;
    if (identityFile !== undefined) host.identityFile = identityFile;
    const passphraseEnv = raw.identity_passphrase_env ?? defaults.identity_passphrase_env;
    if (passphraseEnv !== undefined) host.identityPassphraseEnv = passphraseEnv;
    hosts.set(name, host);
  }

  checkVia(hosts, left.hosts, sources, diagnostics);
  checkAddresses(rawHosts, diagnostics);
  checkTimeouts(files, diagnostics);
  const inventory: Inventory = { hosts, groups };
  if (defaults.known_hosts !== undefined) inventory.knownHosts = defaults.known_hosts;
  return { inventory, diagnostics };
}

/**
 * What is wrong with a host address the schema let through (it allows the characters
 * of IPv4, IPv6 and DNS names), or undefined: a port written into it, an IPv4 octet
 * over 255, an IPv6 address Node cannot parse, a DNS label over 63 characters
 * (RFC 1035 §2.3.4) or starting or ending with '-'.
 */
export function addressProblem(address: string): { message: string; hint: string } | undefined {
  const withPort = /^([^:]+):(\d+)$/.exec(address);
  if (withPort) return { message: `the address \`${address}\` has a port in it`, hint: `write \`address: ${withPort[1]}\` and \`port: ${withPort[2]}\`` };
  if (/^[0-9.]+$/.test(address)) {
    const octets = address.split(".");
    if (octets.length !== 4 || octets.some((o) => o === "")) return { message: `\`${address}\` is not an IPv4 address (it needs four numbers separated by dots)`, hint: "write it like 10.40.1.12" };
    const big = octets.find((o) => Number(o) > 255);
    if (big !== undefined) return { message: `\`${address}\` is not an IPv4 address: ${big} is over 255`, hint: "each of the four numbers is 0 to 255" };
    if (octets.some((o) => o.length > 1 && o.startsWith("0"))) return { message: `\`${address}\` has a number with a leading zero, which some tools read as octal`, hint: "drop the leading zeros" };
    return undefined;
  }
  if (address.includes(":")) {
    if (isIPv6(address)) return undefined;
    return { message: `\`${address}\` is not an IPv6 address`, hint: "write an IPv6 address without brackets and without a port, e.g. 2001:db8::12, and the port under `port:`" };
  }
  for (const label of address.split(".")) {
    if (label === "") return { message: `\`${address}\` has an empty part between dots`, hint: "remove the extra dot" };
    if (label.length > 63) return { message: `\`${address}\` has a part longer than 63 characters, which DNS does not allow`, hint: "check the name for a paste error" };
    if (label.startsWith("-") || label.endsWith("-")) return { message: `\`${address}\` has a part that starts or ends with '-', which DNS does not allow`, hint: "check the name" };
  }
  return undefined;
}

function checkAddresses(hosts: Map<string, { raw: RawHost; origin: Origin; source: YamlSource }>, out: Diagnostic[]): void {
  for (const [, { raw, origin, source }] of hosts) {
    const problem = addressProblem(raw.address);
    if (problem) out.push(diagnosticAt(source, `${origin.pointer}/address`, "inventory/bad-address", problem.message, { hint: problem.hint }));
  }
}

/** A connect timeout of zero would be replaced by the default without a word; refuse it instead. */
function checkTimeouts(files: YamlSource[], out: Diagnostic[]): void {
  for (const source of files) {
    const raw = (source.value ?? {}) as RawInventory;
    const places: Array<[string, string | undefined]> = [["/defaults/connect_timeout", raw.defaults?.connect_timeout]];
    for (const [name, h] of Object.entries(raw.hosts ?? {})) places.push([pointerOf(["hosts", name, "connect_timeout"]), h.connect_timeout]);
    for (const [pointer, value] of places) {
      if (value !== undefined && parseDuration(value) === 0) out.push(diagnosticAt(source, pointer, "inventory/zero-timeout", "a connect timeout of zero would let no connection succeed", { hint: "give a length like '10s', or remove it to use the default (10s)" }));
    }
  }
}

function checkGroupReferences(groups: Map<string, Group>, leftGroups: ReadonlySet<string>, sources: Map<string, YamlSource>, out: Diagnostic[]): void {
  for (const group of groups.values()) {
    for (const origin of group.origins) {
      const source = sources.get(origin.file)!;
      const raw = (source.value as RawInventory).groups?.[group.name];
      (raw?.children ?? []).forEach((child, i) => {
        const pointer = `${origin.pointer}/children/${i}`;
        if (child === group.name) out.push(diagnosticAt(source, pointer, "inventory/group-cycle", `group \`${group.name}\` lists itself as a child`));
        else if (!groups.has(child) && !leftGroups.has(child)) out.push(diagnosticAt(source, pointer, "inventory/unknown-group", `group \`${group.name}\` lists the child group \`${child}\`, which no inventory file declares`, { hint: didYouMean(child, groups.keys()) ?? "declare it under `groups:`" }));
      });
    }
  }
}

/**
 * Depth of each group below its topmost parent, which orders variable precedence
 * (deeper, more specific groups win). Reports each cycle once, at its first group.
 */
function groupDepths(groups: Map<string, Group>, sources: Map<string, YamlSource>, out: Diagnostic[]): Map<string, number> {
  const parents = new Map<string, string[]>();
  for (const g of groups.values()) for (const c of g.children) if (c !== g.name) parents.set(c, [...(parents.get(c) ?? []), g.name]);
  const depth = new Map<string, number>();
  const visiting: string[] = [];
  const reported = new Set<string>();
  const visit = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const at = visiting.indexOf(name);
    if (at >= 0) {
      const cycle = [...visiting.slice(at), name];
      const key = [...cycle].sort().join(",");
      if (!reported.has(key)) {
        reported.add(key);
        const group = groups.get(name)!;
        const origin = group.origins[0]!;
        out.push(diagnosticAt(sources.get(origin.file)!, origin.pointer, "inventory/group-cycle", `groups form a cycle: ${cycle.reverse().join(" → ")}`, { key: true, hint: "a group cannot be its own ancestor; remove one of the children links" }));
      }
      return 0;
    }
    visiting.push(name);
    const d = Math.max(-1, ...(parents.get(name) ?? []).filter((p) => groups.has(p)).map(visit)) + 1;
    visiting.pop();
    depth.set(name, d);
    return d;
  };
  for (const name of [...groups.keys()].sort()) visit(name);
  return depth;
}

/** For each group, every group it is (transitively) a child of. Cycle-safe. */
function ancestorIndex(groups: Map<string, Group>): Map<string, Set<string>> {
  const parents = new Map<string, string[]>();
  for (const g of groups.values()) for (const c of g.children) parents.set(c, [...(parents.get(c) ?? []), g.name]);
  const index = new Map<string, Set<string>>();
  for (const name of groups.keys()) {
    const seen = new Set<string>();
    const stack = [...(parents.get(name) ?? [])];
    while (stack.length) {
      const p = stack.pop()!;
      if (seen.has(p) || p === name) continue;
      seen.add(p);
      stack.push(...(parents.get(p) ?? []));
    }
    index.set(name, seen);
  }
  return index;
}

function checkVia(hosts: Map<string, Host>, leftHosts: ReadonlySet<string>, sources: Map<string, YamlSource>, out: Diagnostic[]): void {
  for (const host of hosts.values()) {
    if (host.via === undefined || leftHosts.has(host.via)) continue;
    const source = sources.get(host.origin.file)!;
    const pointer = `${host.origin.pointer}/via`;
    if (!hosts.has(host.via)) {
      out.push(diagnosticAt(source, pointer, "inventory/unknown-host", `host \`${host.name}\` jumps via \`${host.via}\`, which is not in the inventory`, { hint: didYouMean(host.via, hosts.keys()) ?? "add the jump host to the inventory" }));
      continue;
    }
    const chain = [host.name];
    let next: string | undefined = host.via;
    while (next !== undefined && hosts.has(next)) {
      if (chain.includes(next)) {
        out.push(diagnosticAt(source, pointer, "inventory/via-cycle", `jump hosts form a loop: ${[...chain, next].join(" → ")}`, { hint: "a chain of `via` must end at a host reached directly" }));
        break;
      }
      chain.push(next);
      next = hosts.get(next)?.via;
    }
  }
}

