/**
 * One measurement of the report bench in a process of its own, so its peak RSS is its
 * own: argv[2] the repository, argv[3] what to do, argv[4] the report's --now.
 * - `read`: read every file a report reads (facts/snapshots/*.jsonl, runs/*\/results.json,
 *   runs/audit.jsonl, incidents/*.md) into memory and drop it: the floor of reading.
 * - `parse`: the same, and JSON.parse each results file and each snapshot line.
 * - `status`, `trends`, `forecast`: the command in-process, exactly as the CLI runs it
 *   (`steward report status`, `trends --since 365d`, `forecast --since 365d`), its
 *   Markdown captured; `html`: `trends` then the HTML page of its Markdown.
 * Prints one JSON line: wall and CPU ms, peak RSS and sampled peak heap (MB), output bytes.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { report } from "../src/cli/commands/report.ts";
import type { CommandIO } from "../src/cli/io.ts";
import { RunSecrets } from "../src/core/secrets.ts";
import { runForecastReport } from "../src/report/forecast/command.ts";
import { renderHtmlReport } from "../src/report/html/index.ts";

const [root, mode, now] = process.argv.slice(2) as [string, string, string];

let peakHeap = 0;
const sample = (): void => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
const sampler = setInterval(sample, 5);

/** Every file a report reads, in the order the loader reads them. */
async function inputs(): Promise<string[]> {
  const files: string[] = [];
  const snapshots = join(root, "facts", "snapshots");
  for (const name of (await readdir(snapshots)).sort()) if (name.endsWith(".jsonl")) files.push(join(snapshots, name));
  for (const name of (await readdir(join(root, "runs"))).sort()) {
    if (name === "audit.jsonl") files.push(join(root, "runs", name));
    else if (name !== "locks") files.push(join(root, "runs", name, "results.json"));
  }
  for (const name of (await readdir(join(root, "incidents")).catch(() => [] as string[])).sort()) if (name.endsWith(".md")) files.push(join(root, "incidents", name));
  return files;
}

async function run(): Promise<{ bytes: number; files?: number }> {
  if (mode === "read" || mode === "parse") {
    let bytes = 0;
    let values = 0;
    const files = await inputs();
    for (const file of files) {
      const text = await readFile(file, "utf8");
      bytes += text.length;
      if (mode === "parse") {
        if (file.endsWith(".jsonl")) {
          for (const line of text.split("\n")) if (line !== "") values += JSON.parse(line) === null ? 0 : 1;
        } else if (file.endsWith(".json")) values += JSON.parse(text) === null ? 0 : 1;
      }
      sample();
    }
    return { bytes: mode === "parse" ? values : bytes, files: files.length };
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
