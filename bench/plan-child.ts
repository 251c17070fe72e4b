/**
 * One `steward plan`-shaped run in a process of its own, so its peak RSS is its own:
 * open the facts cache in argv[2], plan the bench fleet, serialise the plan. Prints one
 * JSON line: CPU ms of planning (facts read per host included), of serialising, and
 * the process's peak RSS. With argv[3] = "read", only reads and parses every facts
 * file instead: the floor any planner from that cache pays.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { planJson } from "../src/plan/artifact.ts";
import { openFactsCache } from "../src/plan/inputs.ts";
import { plan } from "../src/plan/planner.ts";
import { benchInventory, benchRunbook, NOW } from "./plan-fleet.ts";
import { cpuMs } from "./stats.ts";

const dir = process.argv[2]!;
if (process.argv[3] === "read") {
  let n = 0;
  const ms = await cpuMs(() => {
    for (const name of readdirSync(dir)) n += (JSON.parse(readFileSync(join(dir, name), "utf8")) as { ok: boolean }).ok ? 1 : 0;
  });
  console.log(JSON.stringify({ cpuMs: ms, hosts: n, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
} else {
  const inventory = benchInventory();
  const runbook = benchRunbook();
  let result: ReturnType<typeof plan> | undefined;
  const planMs = await cpuMs(async () => (result = plan({ inventory, runbook, facts: await openFactsCache(dir), now: NOW, toolVersion: "bench", inputs: { files: [] } })));
  let bytes = 0;
  const jsonMs = await cpuMs(() => (bytes = planJson(result!).length));
  console.log(JSON.stringify({ cpuMs: planMs, jsonMs, planBytes: bytes, planned: result!.summary.planned, upgrades: result!.summary.upgrades, waves: result!.summary.waves, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
}
