import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { generateHistory, type HistoryModelTruth } from "../test/support/history-model.ts";
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
  summaries?: number;
}

/**
 * Reports over a year of a 1,000-host fleet: `generateHistory` (test/support/
 * history-model.ts) writes 365 daily patching runs of 1,000 hosts (results.json and
 * audit entries), 52 weekly compliance and backup runs, incidents, and a facts
 * snapshot of every host every day, through the product's own writers. Then, each in a
 * fresh process (so peak RSS is its own) and in-process there (the command's `run`, as
 * the CLI calls it): `steward report status`, `trends --since 365d`, `forecast --since
 * 365d`, and trends rendered as the HTML page. The reference of each, measured in the
 * same run, is merely reading every file that report reads (run summaries, snapshots…;
 * and, as a second floor, reading and JSON-parsing them). Target: a few seconds of CPU
 * each, memory bounded (it must not grow with the history: the loader streams file by
 * file).
 */
export async function benchReport(work: string): Promise<void> {
  const started = performance.now();
  const { root, truth, cached } = await cachedHistory(work);
  work = root;
  const { stdout: du } = await run("du", ["-sm", work]);
  console.log(`input: ${HOSTS} hosts × ${DAYS} days: ${truth.runs} runs (${truth.hostResults.toLocaleString("en")} host results), ${DAYS} snapshot files, ${truth.incidents.length} incidents; ${du.split("\t")[0]} MB on disk; ${cached ? `reused from the cache ${root}` : `generated in ${((performance.now() - started) / 1000).toFixed(0)} s, cached in ${root}`}`);

  const child = join(import.meta.dirname, "report-child.ts");
  const once = async (mode: string, now = truth.end, live = false): Promise<Measure> => {
    const { stdout } = await run(process.execPath, [...(live ? ["--expose-gc"] : []), "--import", "tsx", child, work, mode, now], { maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split("\n").pop()!) as Measure;
  };
  const reports = ["status", "trends", "forecast"] as const;
  const modes = [...reports.flatMap((r) => [`read:${r}`, `parse:${r}`, r]), "html"];
  const samples = new Map<string, Measure[]>(modes.map((m) => [m, []]));
  // Interleaved, so a slower moment of the machine does not fall on one figure only.
  for (let i = 0; i < RUNS; i++) for (const mode of modes) samples.get(mode)!.push(await once(mode));
  // What each report keeps reachable (collected before each sample), as of half-way through the year and at its end: half the history read, the same fleet.
  const halfway = new Date((Date.parse(truth.options.start) + Date.parse(truth.end)) / 2).toISOString();
  const live = new Map<string, [Measure, Measure]>();
  for (const r of reports) live.set(r, [await once(r, halfway, true), await once(r, truth.end, true)]);

  const median = (mode: string, key: "wallMs" | "cpuMs" | "peakRssMb" | "peakHeapMb"): number => summarise(samples.get(mode)!.map((m) => m[key])).median;
  const max = (mode: string, key: "peakRssMb" | "peakHeapMb"): number => Math.max(...samples.get(mode)!.map((m) => m[key]));
  const targetCpuMs = 4000;
  const targetMb = 300;
  console.log(`target: each report <= ${targetCpuMs / 1000} s CPU and < ${targetMb} MB peak RSS, memory not growing with the history (median of ${RUNS} interleaved runs; on a loaded machine CPU time runs high: compare the ratios)`);
  for (const [mode, label, of] of [["status", "report status", "status"], ["trends", "report trends --since 365d", "trends"], ["forecast", "report forecast --since 365d", "forecast"], ["html", "trends as the HTML page", "trends"]] as const) {
    const read = samples.get(`read:${of}`)![0]!;
    const cpu = median(mode, "cpuMs");
    const rss = max(mode, "peakRssMb");
    if (mode !== "html") {
      console.log(`  ${of} reads ${read.files} files, ${(read.bytes / 1048576).toFixed(0)} MiB${of === "forecast" ? "" : ` (${read.summaries} run summaries, ${(read.files ?? 0) - (read.summaries ?? 0)} other files)`}: reading them CPU ${median(`read:${of}`, "cpuMs").toFixed(0)} ms (wall ${median(`read:${of}`, "wallMs").toFixed(0)} ms), reading and JSON.parse CPU ${median(`parse:${of}`, "cpuMs").toFixed(0)} ms`);
    }
    const halfHeap = mode === "html" ? "" : ` (live after GC: ${live.get(mode)![0].peakHeapMb.toFixed(0)} MB reading half the year, to ${halfway.slice(0, 10)}; ${live.get(mode)![1].peakHeapMb.toFixed(0)} MB the whole year)`;
    console.log(
      `${label}: CPU ${cpu.toFixed(0)} ms = ${(cpu / median(`read:${of}`, "cpuMs")).toFixed(2)}x reading its files, ${(cpu / median(`parse:${of}`, "cpuMs")).toFixed(2)}x reading and parsing them; wall ${median(mode, "wallMs").toFixed(0)} ms; peak RSS ${rss.toFixed(0)} MB, peak heap ${max(mode, "peakHeapMb").toFixed(0)} MB${halfHeap}; output ${(samples.get(mode)![0]!.bytes / 1024).toFixed(0)} KiB — ${cpu <= targetCpuMs && rss < targetMb ? "met" : "NOT met"} here`,
    );
  }
}

/**
 * Source files whose change changes the generated history: the generator and the
 * product writers it calls (snapshot files and their line encoding, results.json, the
 * audit log, incidents). The readers are not part of the key: they do not change the files.
 */
const GENERATOR_SOURCES = ["test/support/history-model.ts", "test/support/prng.ts", "test/support/resource-model.ts", "src/facts/snapshot.ts", "src/facts/snapshot-line.ts", "src/apply/results.ts", "src/apply/summary.ts", "src/audit/record.ts", "src/audit/entry.ts", "src/publish/git/index.ts"];

/**
 * The bench history, generated once (about 50 s) and kept in the system's temp folder
 * under a key of the generator's parameters and a SHA-256 of {@link GENERATOR_SOURCES},
 * so a rerun of the bench reuses it and any change to the generator or a writer makes
 * a new one. The folder is complete only once `truth.json` is in it (written last,
 * after a rename into place), so an interrupted generation is never reused.
 * `STEWARD_BENCH_NO_CACHE=1` generates afresh in `work`.
 */
export async function cachedHistory(work: string): Promise<{ root: string; truth: HistoryModelTruth; cached: boolean }> {
  const params = { hosts: HOSTS, days: DAYS, seed: 2026 };
  if (process.env["STEWARD_BENCH_NO_CACHE"] === "1") return { root: work, truth: await generateHistory(work, params), cached: false };
  const hash = createHash("sha256").update(JSON.stringify(params));
  const repo = join(import.meta.dirname, "..");
  for (const file of GENERATOR_SOURCES) hash.update(`\0${file}\0`).update(await readFile(join(repo, file)).catch(() => Buffer.alloc(0)));
  const root = join(tmpdir(), `steward-bench-report-${hash.digest("hex").slice(0, 16)}`);
  try {
    const truth = JSON.parse(await readFile(join(root, "truth.json"), "utf8")) as HistoryModelTruth;
    if ((await stat(join(root, "runs"))).isDirectory()) return { root, truth, cached: true };
  } catch {
    // not cached yet (or incomplete): generate below
  }
  await rm(root, { recursive: true, force: true });
  const staging = `${root}.${process.pid}`;
  await mkdir(staging, { recursive: true });
  const truth = await generateHistory(staging, params);
  await rename(staging, root);
  await writeFile(join(root, "truth.json"), JSON.stringify(truth));
  return { root, truth, cached: false };
}
