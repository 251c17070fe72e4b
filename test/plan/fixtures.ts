import type { FactsResult, HostFacts, UpgradablePackage } from "../../src/facts/types.ts";
import type { Criticality, Host, Inventory, Runbook } from "../../src/model/types.ts";

/** Builders for planner inputs: the shapes the loader and the gatherer produce. */

export function host(name: string, groups: string[], criticality: Criticality = "medium", parents: Record<string, string> = {}): Host {
  const memberOf = new Set<string>();
  for (const g of groups) for (let x: string | undefined = g; x !== undefined; x = parents[x]) memberOf.add(x);
  return {
    name,
    address: `10.0.0.${name.length}`,
    port: 22,
    user: "steward",
    become: false,
    criticality,
    transport: "ssh",
    groups,
    memberOf: [...memberOf].sort(),
    tags: [],
    hostKeys: [],
    connectTimeoutMs: 10_000,
    vars: {},
    origin: { file: "inventory/hosts.yaml", pointer: `/hosts/${name}` },
  };
}

export function inventory(hosts: Host[], parents: Record<string, string> = {}): Inventory {
  const groups: Inventory["groups"] = new Map();
  for (const h of hosts) for (const g of h.memberOf) if (!groups.has(g)) groups.set(g, { name: g, children: [], vars: {}, origins: [] });
  for (const [child, parent] of Object.entries(parents)) groups.get(parent)?.children.push(child);
  return { hosts: new Map(hosts.map((h) => [h.name, h])), groups };
}

export function facts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    os: { id: "debian", versionId: "12", prettyName: "Debian GNU/Linux 12 (bookworm)" },
    kernel: { release: "6.1.0-13-amd64", installed: ["6.1.0-13-amd64"] },
    packageManager: "apt",
    installed: [],
    upgradable: [],
    reboot: { required: false, reasons: [] },
    disks: [],
    memory: { totalBytes: 4e9, availableBytes: 2e9 },
    load: { one: 0.1, five: 0.1, fifteen: 0.1, cpus: 2 },
    uptimeSeconds: 1000,
    bootId: "00000000-0000-0000-0000-000000000000",
    services: {},
    ...overrides,
  };
}

export const up = (name: string, from: string, to: string, security = true): UpgradablePackage => ({ name, from, to, security, source: security ? "bookworm-security" : "bookworm-updates" });

/** Facts with the installed entries the upgradable ones imply. */
export function withUpgrades(upgradable: UpgradablePackage[], overrides: Partial<HostFacts> = {}): HostFacts {
  return facts({ installed: upgradable.map((p) => ({ name: p.name, version: p.from, arch: "amd64" })), upgradable, ...overrides });
}

export const ok = (name: string, f: HostFacts): FactsResult => ({ host: name, ok: true, gatheredAt: "2026-11-22T00:00:00.000Z", facts: f });
export const failed = (name: string, kind: "unreachable" | "auth-failed" = "unreachable"): FactsResult => ({ host: name, ok: false, gatheredAt: "2026-11-22T00:00:00.000Z", error: { kind, message: kind === "unreachable" ? "connect ECONNREFUSED 10.0.0.9:22" : "all keys rejected" } });

export function runbook(overrides: Partial<Runbook> = {}): Runbook {
  return {
    name: "security-patches",
    targets: "all",
    file: "runbooks/security-patches.yaml",
    steps: [
      { kind: "check", name: "pre-flight", checks: [{ type: "load", max_per_cpu: 2 }] },
      { kind: "packages", name: "updates", action: "upgrade" },
      { kind: "reboot", name: "reboot if required", when: "required" },
    ],
    ...overrides,
  };
}

export const NOW = new Date("2026-11-24T01:30:00Z");
export const INPUTS = { files: [{ path: "runbooks/security-patches.yaml", sha256: "0".repeat(64) }] };
