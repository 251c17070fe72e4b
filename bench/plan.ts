import type { FactsResult, UpgradablePackage } from "../src/facts/types.ts";
import type { Host, Inventory, Runbook } from "../src/model/types.ts";
import { planJson, renderPlanMarkdown } from "../src/plan/artifact.ts";
import { plan } from "../src/plan/planner.ts";
import { cpuMs, fmt, summarise } from "./stats.ts";

const RUNS = 5;
const HOSTS = 10_000;
const PACKAGES = 50;

/**
 * Planning 10,000 hosts with 50 upgradable packages each: policy on 500,000 package
 * upgrades, ordering, waves and a facts digest per host. The reference is the floor of
 * merely reading the facts: JSON.parse + JSON.stringify of the same input.
 * Targets: < 1 s CPU (median) and < 300 MB peak RSS.
 */
export async function benchPlan(_work: string): Promise<void> {
  const { inventory, facts, runbook } = generate();
  console.log(`input: ${HOSTS} hosts × ${PACKAGES} upgradable packages`);
  const rssInput = process.memoryUsage().rss / 1048576;
  const planning: number[] = [];
  let heapAfter = 0;
  let result: ReturnType<typeof plan> | undefined;
  for (let i = 0; i < RUNS; i++) {
    result = undefined;
    planning.push(await cpuMs(() => (result = plan({ inventory, runbook, facts, now: new Date("2026-11-24T01:30:00Z"), toolVersion: "bench", inputs: { files: [] } }))));
    heapAfter = Math.max(heapAfter, process.memoryUsage().heapUsed);
  }
  // Measured before the reference runs, which hold the whole facts JSON text in memory.
  const peakRss = process.resourceUsage().maxRSS / 1024;
  if (!result) throw new Error("the benchmark should produce a plan");
  const planned: ReturnType<typeof plan> = result;
  if (planned.hosts.length === 0) throw new Error("the benchmark plan should plan hosts");
  const serialise = await cpuMs(() => planJson(planned));
  const markdown = await cpuMs(() => renderPlanMarkdown(planned));

  const factsText = JSON.stringify([...facts.values()]);
  const reference: number[] = [];
  for (let i = 0; i < RUNS; i++) reference.push(await cpuMs(() => JSON.stringify(JSON.parse(factsText))));
  const r = summarise(reference);
  const p = summarise(planning);
  console.log(`facts JSON: ${(factsText.length / 1048576).toFixed(1)} MiB`);
  console.log(`reference (JSON.parse + JSON.stringify of the facts): ${fmt(r)}`);
  console.log(`plan(): ${fmt(p)} CPU — ${planned.summary.planned} hosts planned, ${planned.summary.upgrades} upgrades, waves ${planned.summary.waves.join("/")}`);
  console.log(`ratio plan / read floor (median): ${(p.median / r.median).toFixed(2)}x`);
  console.log(`plan JSON: ${serialise.toFixed(0)} ms; Markdown (size-capped): ${markdown.toFixed(0)} ms`);
  console.log(`memory while planning: peak RSS ${peakRss.toFixed(0)} MB (whole process; ${rssInput.toFixed(0)} MB before planning, with the facts in memory), peak heap used ${(heapAfter / 1048576).toFixed(0)} MB`);
  console.log(`target: < 1000 ms CPU — ${p.median < 1000 ? "met" : "NOT met"} (median ${p.median.toFixed(0)} ms); < 300 MB — ${peakRss < 300 ? "met" : "NOT met"} (peak RSS ${peakRss.toFixed(0)} MB)`);
}

/** A deterministic fleet: four groups, mixed criticality, a realistic mix of package versions. */
function generate(): { inventory: Inventory; facts: Map<string, FactsResult>; runbook: Runbook } {
  const hosts = new Map<string, Host>();
  const facts = new Map<string, FactsResult>();
  const groups = ["db", "app", "web", "cache"];
  for (let h = 0; h < HOSTS; h++) {
    const name = `host-${String(h).padStart(5, "0")}`;
    const group = groups[h % groups.length]!;
    hosts.set(name, {
      name, address: `10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255}`, port: 22, user: "steward", become: false,
      criticality: (["low", "medium", "high", "critical"] as const)[h % 4]!, transport: "ssh", groups: [group], memberOf: [group, "production"].sort(),
      tags: [], hostKeys: [], connectTimeoutMs: 10_000, vars: {}, origin: { file: "inventory/hosts.yaml", pointer: `/hosts/${name}` },
    });
    const upgradable: UpgradablePackage[] = [];
    for (let p = 0; p < PACKAGES; p++) {
      const kind = (h + p) % 10;
      const from = kind === 9 ? `1:${p}.4-${h % 7}+deb12u1` : `${p % 5}.${p}.${h % 9}-1~deb12u1`;
      const to = kind === 0 ? `${(p % 5) + 1}.0.0-1` : kind === 1 ? `${p % 5}.${p + 1}.0-1` : kind === 9 ? `1:${p}.4-${(h % 7) + 1}+deb12u1` : `${p % 5}.${p}.${(h % 9) + 1}-1~deb12u1`;
      upgradable.push({ name: p === 0 ? "linux-image-amd64" : `pkg-${p}`, from, to, security: p % 3 === 0, source: p % 3 === 0 ? "bookworm-security" : "bookworm-updates" });
    }
    facts.set(name, {
      host: name, ok: true, gatheredAt: "2026-11-24T01:00:00.000Z",
      facts: {
        os: { id: "debian", versionId: "12", prettyName: "Debian GNU/Linux 12 (bookworm)" }, kernel: { release: "6.1.0-13-amd64", installed: ["6.1.0-13-amd64"] }, packageManager: "apt",
        installed: upgradable.map((u, i) => ({ name: u.name, version: u.from, arch: "amd64", ...(i === 7 && h % 10 === 0 ? { held: true } : {}) })),
        upgradable, reboot: { required: h % 20 === 0, reasons: [] }, disks: [], memory: { totalBytes: 8e9, availableBytes: 4e9 }, load: { one: 0.2, five: 0.2, fifteen: 0.2, cpus: 4 },
        uptimeSeconds: 86_400, bootId: "00000000-0000-0000-0000-000000000000", services: {},
      },
    });
  }
  const inventory: Inventory = { hosts, groups: new Map([...groups, "production"].map((g) => [g, { name: g, children: [], vars: {}, origins: [] }])) };
  const runbook: Runbook = {
    name: "bench", targets: "group:production", file: "runbooks/bench.yaml",
    rollout: { waves: [1, "10%", "50%", "100%"], order: ["db", "app", "web"], failure_budget: "5%", concurrency: "10%" },
    policy: { deny: ["pkg-4*"], holds: ["pkg-13"], update_types: ["patch", "minor", "major"], approvals: [{ package: "pkg-2*", to: "1", approved_by: "ops" }] },
    steps: [
      { kind: "check", name: "pre-flight", checks: [{ type: "load", max_per_cpu: 2 }] },
      { kind: "packages", name: "updates", action: "upgrade" },
      { kind: "reboot", name: "reboot if required", when: "required" },
    ],
  };
  return { inventory, facts, runbook };
}
