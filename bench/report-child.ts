/**
 * One measurement of the report bench in a process of its own, so its peak RSS is its
 * own: argv[2] the repository, argv[3] what to do, argv[4] the report's --now.
 * - `read:<report>`: read every file that report reads into memory (one buffer reused
 *   from file to file, as the snapshot reader does) and drop it: the floor of reading. status reads every snapshot, each run's summary.json (its
 *   results.json when it has none), runs/audit.jsonl and incidents/*.md; trends the
 *   snapshots up to --now, the runs of the last 365 days and incidents/*.md; forecast
 *   the snapshots of the last 365 days.
 * - `parse:<report>`: the same, and JSON.parse each .json file and each snapshot line
 *   (each line decoded from the buffer on its own).
 * - `status`, `trends`, `forecast`: the command in-process, exactly as the CLI runs it
 *   (`steward report status`, `trends --since 365d`, `forecast --since 365d`), its
 *   Markdown captured; `html`: `trends` then the HTML page of its Markdown.
 * With --expose-gc, the heap is sampled after a collection every 250 ms: the peak of what
 * the report keeps reachable, rather than of the garbage V8 lets pile up between collections.
 * Prints one JSON line: wall and CPU ms, peak RSS and sampled peak heap (MB), output
 * bytes (for read and parse: bytes read, files, and how many run files were summaries).
 */
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { report } from "../src/cli/commands/report.ts";
import type { CommandIO } from "../src/cli/io.ts";
import { RunSecrets } from "../src/core/secrets.ts";
import { runForecastReport } from "../src/report/forecast/command.ts";
import { runIdTime } from "../src/report/history/runs.ts";
import { renderHtmlReport } from "../src/report/html/index.ts";

const [root, mode, now] = process.argv.slice(2) as [string, string, string];

let peakHeap = 0;
const sample = (): void => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
// With --expose-gc (the bench's live-memory runs): the heap still reachable, collected before each sample.
const gc = (globalThis as { gc?: () => void }).gc;
const sampler = gc === undefined ? setInterval(sample, 5) : setInterval(() => (gc(), sample()), 250);

const DAY = 86_400_000;

/** Every file `of` reads, in the order the loader reads them, and how many run files are summaries. */
async function inputs(of: string): Promise<{ files: string[]; summaries: number }> {
  const files: string[] = [];
  const until = Date.parse(now);
  const since = of === "status" ? -Infinity : until - 365 * DAY;
  const snapshots = join(root, "facts", "snapshots");
  for (const name of (await readdir(snapshots)).sort()) {
    const day = Date.parse(name.slice(0, 10));
    // trends reads the snapshots before its range too (an update pending since then was first seen then).
    if (name.endsWith(".jsonl") && day <= until && (of !== "forecast" || day + DAY > since)) files.push(join(snapshots, name));
  }
  let summaries = 0;
  if (of === "forecast") return { files, summaries };
  for (const name of (await readdir(join(root, "runs"))).sort()) {
    if (name === "audit.jsonl") {
      if (of === "status") files.push(join(root, "runs", name));
      continue;
    }
    const t = runIdTime(name);
    if (name === "locks" || t === undefined || t < since || t > until) continue;
    const summary = join(root, "runs", name, "summary.json");
    if (await lstat(summary).then(() => true, () => false)) {
      files.push(summary);
      summaries += 1;
    } else files.push(join(root, "runs", name, "results.json"));
  }
  for (const name of (await readdir(join(root, "incidents")).catch(() => [] as string[])).sort()) if (name.endsWith(".md")) files.push(join(root, "incidents", name));
  return { files, summaries };
}

async function run(): Promise<{ bytes: number; files?: number; summaries?: number }> {
  const [floor, of] = mode.split(":") as [string, string | undefined];
  if ((floor === "read" || floor === "parse") && of !== undefined) {
    let bytes = 0;
    const { files, summaries } = await inputs(of);
    // Read as the snapshot reader reads (src/report/history/snapshots.ts): into one buffer
    // reused from file to file, each line decoded on its own; a fresh buffer and string per
    // file would cost more than the reports' own reading and flatter every ratio.
    let buffer = Buffer.allocUnsafe(1 << 20);
    for (const file of files) {
      const handle = await open(file, "r");
      const size = (await handle.stat()).size;
      if (buffer.length < size) buffer = Buffer.allocUnsafe(size);
      let length = 0;
      while (length < size) {
        const { bytesRead } = await handle.read(buffer, length, size - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      await handle.close();
      bytes += length;
      if (floor === "parse") {
        if (file.endsWith(".jsonl")) {
          let start = 0;
          while (start < length) {
            let end = buffer.indexOf(10, start);
            if (end === -1 || end > length) end = length;
            if (end > start) JSON.parse(buffer.toString("utf8", start, end));
            start = end + 1;
          }
        } else if (file.endsWith(".json")) JSON.parse(buffer.toString("utf8", 0, length));
      }
      sample();
    }
    return { bytes, files: files.length, summaries };
  }
  let out = "";
  const io: CommandIO = { stdout: (t) => void (out += t), stderr: () => undefined, workflowCommands: (t) => void (out += t), env: {}, cwd: root, secrets: new RunSecrets({}) };
  const common = ["--root", root, "--now", now];
  if (mode === "status") await report.run(["status", ...common], io);
  else if (mode === "trends" || mode === "html") await report.run(["trends", "--since", "365d", ...common], io);
  else if (mode === "forecast") await runForecastReport(["--since", "365d", ...common], io);
  else throw new Error(`unknown mode ${mode}`);
  if (mode === "html") out = renderHtmlReport(out, { title: "trends" });
  return { bytes: out.length };
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = await run();
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
sample();
console.log(JSON.stringify({ mode, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024, peakHeapMb: peakHeap / 1048576, ...result }));
