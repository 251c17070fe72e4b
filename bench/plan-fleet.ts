/**
 * The synthetic fleet the plan benchmark plans: 10,000 hosts in four groups, each with
 * 50 upgradable packages in a realistic mix of patch, minor, major and epoch changes,
 * some security, some held. Deterministic: the same index gives the same facts.
 */
import type { FactsResult, UpgradablePackage } from "../src/facts/types.ts";
import type { Host, Inventory, Runbook } from "../src/model/types.ts";

export const HOSTS = 10_000;
export const PACKAGES = 50;
export const NOW = new Date("2026-11-24T01:30:00Z");
const GROUPS = ["db", "app", "web", "cache"];

export const hostName = (h: number): string => `host-${String(h).padStart(5, "0")}`;

export function benchInventory(): Inventory {
  const hosts = new Map<string, Host>();
  for (let h = 0; h < HOSTS; h++) {
    const name = hostName(h);
    const group = GROUPS[h % GROUPS.length]!;
    hosts.set(name, {
      name, address: `10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255}`, port: 22, user: "steward", become: false,
      criticality: (["low", "medium", "high", "critical"] as const)[h % 4]!, transport: "ssh", groups: [group], memberOf: [group, "production"].sort(),
      tags: [], hostKeys: [], connectTimeoutMs: 10_000, vars: {}, origin: { file: "inventory/hosts.yaml", pointer: `/hosts/${name}` },
    });
  }
  return { hosts, groups: new Map([...GROUPS, "production"].map((g) => [g, { name: g, children: [], vars: {}, origins: [] }])) };
}

export function benchRunbook(): Runbook {
  return {
    name: "bench", targets: "group:production", file: "runbooks/bench.yaml",
    rollout: { waves: [1, "10%", "50%", "100%"], order: ["db", "app", "web"], failure_budget: "5%", concurrency: "10%" },
    policy: { deny: ["pkg-4*"], holds: ["pkg-13"], update_types: ["patch", "minor", "major"], approvals: [{ package: "pkg-2*", to: "1", approved_by: "ops" }] },
    steps: [
      { kind: "check", name: "pre-flight", checks: [{ type: "load", max_per_cpu: 2 }] },
      { kind: "packages", name: "updates", action: "upgrade" },
      { kind: "reboot", name: "reboot if required", when: "required" },
    ],
  };
}

export function benchFacts(h: number): FactsResult {
  const upgradable: UpgradablePackage[] = [];
  for (let p = 0; p < PACKAGES; p++) {
    const kind = (h + p) % 10;
    const from = kind === 9 ? `1:${p}.4-${h % 7}+deb12u1` : `${p % 5}.${p}.${h % 9}-1~deb12u1`;
    const to = kind === 0 ? `${(p % 5) + 1}.0.0-1` : kind === 1 ? `${p % 5}.${p + 1}.0-1` : kind === 9 ? `1:${p}.4-${(h % 7) + 1}+deb12u1` : `${p % 5}.${p}.${(h % 9) + 1}-1~deb12u1`;
    upgradable.push({ name: p === 0 ? "linux-image-amd64" : `pkg-${p}`, from, to, security: p % 3 === 0, source: p % 3 === 0 ? "bookworm-security" : "bookworm-updates" });
  }
  return {
    host: hostName(h), ok: true, gatheredAt: "2026-11-24T01:00:00.000Z",
    facts: {
      os: { id: "debian", versionId: "12", prettyName: "Debian GNU/Linux 12 (bookworm)" }, kernel: { release: "6.1.0-13-amd64", installed: ["6.1.0-13-amd64"] }, packageManager: "apt",
      installed: upgradable.map((u, i) => ({ name: u.name, version: u.from, arch: "amd64", ...(i === 7 && h % 10 === 0 ? { held: true } : {}) })),
      upgradable, reboot: { required: h % 20 === 0, reasons: [] }, disks: [], memory: { totalBytes: 8e9, availableBytes: 4e9 }, load: { one: 0.2, five: 0.2, fifteen: 0.2, cpus: 4 },
      uptimeSeconds: 86_400, bootId: "00000000-0000-0000-0000-000000000000", services: {},
    },
  };
}
