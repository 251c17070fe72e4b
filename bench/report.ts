import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { generateHistory } from "../test/support/history-model.ts";
import { summarise } from "./stats.ts";

const run = promisify(execFile);

const HOSTS = 1000;
const DAYS = 365;
const RUNS = 3;

interface Measure {
  mode: string;
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  peakHeapMb: number;
  bytes: number;
  files?: number;
}

/**
 * Reports over a year of a 1,000-host fleet: `generateHistory` (test/support/
 * history-model.ts) writes 365 daily patching runs of 1,000 hosts (results.json and
 * audit entries), 52 weekly compliance and backup runs, incidents, and a facts
 * snapshot of every host every day, through the product's own writers. Then, each in a
 * fresh process (so peak RSS is its own) and in-process there (the command's `run`, as
 * the CLI calls it): `steward report status`, `trends --since 365d`, `forecast --since
 * 365d`, and trends rendered as the HTML page. The reference, measured in the same run,
 * is merely reading every file those reports read (and, as a second floor, reading and
 * JSON-parsing them). Target: a few seconds each, memory bounded (it must not grow with
 * the history: the loader streams file by file).
 */
export async function benchReport(work: string): Promise<void> {
  const started = performance.now();
  const truth = await generateHistory(work, { hosts: HOSTS, days: DAYS, seed: 2026 });
  const { stdout: du } = await run("du", ["-sm", work]);
  console.log(`input: ${HOSTS} hosts × ${DAYS} days: ${truth.runs} runs (${truth.hostResults.toLocaleString("en")} host results), ${DAYS} snapshot files, ${truth.incidents.length} incidents; ${du.split("\t")[0]} MB on disk; generated in ${((performance.now() - started) / 1000).toFixed(0)} s`);

  const child = join(import.meta.dirname, "report-child.ts");
  const once = async (mode: string): Promise<Measure> => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", child, work, mode, truth.end], { maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split("\n").pop()!) as Measure;
  };
  const modes = ["read", "parse", "status", "trends", "forecast", "html"] as const;
  const samples = new Map<string, Measure[]>(modes.map((m) => [m, []]));
  // Interleaved, so a slower moment of the machine does not fall on one figure only.
  for (let i = 0; i < RUNS; i++) for (const mode of modes) samples.get(mode)!.push(await once(mode));

  const median = (mode: string, key: "wallMs" | "cpuMs" | "peakRssMb" | "peakHeapMb"): number => summarise(samples.get(mode)!.map((m) => m[key])).median;
  const max = (mode: string, key: "peakRssMb" | "peakHeapMb"): number => Math.max(...samples.get(mode)!.map((m) => m[key]));
  const read = samples.get("read")![0]!;
  console.log(`reference, read every file the reports read (${read.files} files, ${(read.bytes / 1048576).toFixed(0)} MiB): wall ${median("read", "wallMs").toFixed(0)} ms, CPU ${median("read", "cpuMs").toFixed(0)} ms, peak RSS ${max("read", "peakRssMb").toFixed(0)} MB`);
  console.log(`second floor, read and JSON.parse them: wall ${median("parse", "wallMs").toFixed(0)} ms (${(median("parse", "wallMs") / median("read", "wallMs")).toFixed(2)}x reading)`);
  const targetMs = 5000;
  const targetMb = 300;
  for (const [mode, label] of [["status", "report status"], ["trends", "report trends --since 365d"], ["forecast", "report forecast --since 365d"], ["html", "trends as the HTML page"]] as const) {
    const wall = median(mode, "wallMs");
    const rss = max(mode, "peakRssMb");
    console.log(
      `${label}: wall ${wall.toFixed(0)} ms (${(wall / median("read", "wallMs")).toFixed(2)}x reading, ${(wall / median("parse", "wallMs")).toFixed(2)}x read+parse), CPU ${median(mode, "cpuMs").toFixed(0)} ms, peak RSS ${rss.toFixed(0)} MB, peak heap ${max(mode, "peakHeapMb").toFixed(0)} MB; output ${(samples.get(mode)![0]!.bytes / 1024).toFixed(0)} KiB — target < ${targetMs / 1000} s and < ${targetMb} MB: ${wall < targetMs && rss < targetMb ? "met" : "NOT met"}`,
    );
  }
}
