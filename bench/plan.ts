import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { FactsResult } from "../src/facts/types.ts";
import { renderPlanMarkdown } from "../src/plan/artifact.ts";
import { plan } from "../src/plan/planner.ts";
import { benchFacts, benchInventory, benchRunbook, HOSTS, NOW, PACKAGES } from "./plan-fleet.ts";
import { cpuMs, fmt, summarise } from "./stats.ts";

const RUNS = 5;
const run = promisify(execFile);

/**
 * Planning 10,000 hosts with 50 upgradable packages each: policy on 500,000 package
 * upgrades, ordering, waves and a facts digest per host.
 *
 * 1. The planner alone, facts already in memory: CPU of plan().
 * 2. `steward plan`'s path from the facts cache, each run in a fresh process: CPU of
 *    reading every host's facts file and planning, and the process's peak RSS. The
 *    reference is the floor of that path: a process that only reads and parses the
 *    same files.
 * Targets: < 1 s CPU and < 300 MB peak RSS.
 */
export async function benchPlan(work: string): Promise<void> {
  const cache = join(work, "facts");
  await mkdir(cache, { recursive: true });
  let cacheBytes = 0;
  for (let h = 0; h < HOSTS; h++) {
    const result = benchFacts(h);
    const text = JSON.stringify(result);
    cacheBytes += text.length;
    await writeFile(join(cache, `${result.host}.json`), text);
  }
  console.log(`input: ${HOSTS} hosts × ${PACKAGES} upgradable packages; facts cache ${(cacheBytes / 1048576).toFixed(1)} MiB in ${HOSTS} files`);

  // 1. In memory.
  const inventory = benchInventory();
  const runbook = benchRunbook();
  const facts = new Map<string, FactsResult>();
  for (let h = 0; h < HOSTS; h++) facts.set(benchFacts(h).host, benchFacts(h));
  const inMemory: number[] = [];
  let planned: ReturnType<typeof plan> | undefined;
  for (let i = 0; i < RUNS; i++) inMemory.push(await cpuMs(() => (planned = plan({ inventory, runbook, facts, now: NOW, toolVersion: "bench", inputs: { files: [] } }))));
  facts.clear();
  const markdown = await cpuMs(() => renderPlanMarkdown(planned!));
  const m = summarise(inMemory);
  console.log(`plan() with facts in memory: ${fmt(m)} CPU — ${planned!.summary.planned} hosts planned, ${planned!.summary.upgrades} upgrades, waves ${planned!.summary.waves.join("/")}`);
  console.log(`Markdown (size-capped): ${markdown.toFixed(0)} ms`);

  // 2. From the cache, one process per run.
  const child = join(import.meta.dirname, "plan-child.ts");
  const once = async (...args: string[]): Promise<{ cpuMs: number; peakRssMb: number; jsonMs?: number; planBytes?: number }> => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", child, cache, ...args], { maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split("\n").pop()!) as { cpuMs: number; peakRssMb: number };
  };
  const reads: Array<{ cpuMs: number; peakRssMb: number }> = [];
  const plans: Array<{ cpuMs: number; peakRssMb: number; jsonMs?: number; planBytes?: number }> = [];
  for (let i = 0; i < 3; i++) {
    reads.push(await once("read"));
    plans.push(await once());
  }
  const r = summarise(reads.map((x) => x.cpuMs));
  const p = summarise(plans.map((x) => x.cpuMs));
  const rss = summarise(plans.map((x) => x.peakRssMb));
  const readRss = summarise(reads.map((x) => x.peakRssMb));
  const json = summarise(plans.map((x) => x.jsonMs ?? 0));
  console.log(`reference (read + JSON.parse every facts file): ${fmt(r)} CPU, peak RSS ${readRss.median.toFixed(0)} MB`);
  console.log(`plan from the cache (read + parse + plan): ${fmt(p)} CPU; plan JSON ${(plans[0]!.planBytes! / 1048576).toFixed(1)} MiB in ${json.median.toFixed(0)} ms`);
  console.log(`ratio plan from cache / read floor (median): ${(p.median / r.median).toFixed(2)}x`);
  console.log(`peak RSS of the planning process: ${fmt(rss, " MB")} (serialised plan included)`);
  console.log(`target: plan() < 1000 ms CPU — ${m.median < 1000 ? "met" : "NOT met"} (median ${m.median.toFixed(0)} ms); from the cache ${p.median < 1000 ? "also under" : "over"} 1000 ms (median ${p.median.toFixed(0)} ms); < 300 MB — ${rss.max < 300 ? "met" : "NOT met"} (peak RSS max ${rss.max.toFixed(0)} MB)`);
}
