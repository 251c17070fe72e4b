import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journal } from "../../src/apply/journal.ts";
import { lineHash } from "../../src/apply/journal-records.ts";
import { JournalError, readJournal, replayJournal } from "../../src/apply/journal-replay.ts";
import type { StepResult } from "../../src/apply/types.ts";

const START = { runId: "run-1", planId: "plan-1", planDigest: "a".repeat(64) };

async function tempJournal(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), "steward-journal-")), "run-1", "journal.jsonl");
}

function step(name: string, outcome: StepResult["outcome"] = "changed"): StepResult {
  return { step: name, kind: "command", outcome, startedAt: "2026-11-24T02:00:00.000Z", finishedAt: "2026-11-24T02:00:01.000Z", durationMs: 1000, detail: "ran" };
}

describe("journal", () => {
  it("writes one chained, numbered JSON line per record", async () => {
    const path = await tempJournal();
    const j = await Journal.create(path, START, { clock: () => new Date("2026-11-24T02:00:00Z") });
    await j.append({ type: "host-start", host: "web-1", wave: 0, attempt: 1 });
    await Promise.all([j.append({ type: "step-intent", host: "web-1", step: "a", kind: "command" }), j.append({ type: "step-outcome", host: "web-1", result: step("a") })]);
    await j.close();
    const lines = (await readFile(path, "utf8")).split("\n");
    expect(lines.at(-1)).toBe("");
    const records = lines.slice(0, -1).map((l) => JSON.parse(l) as { seq: number; prev: string; time: string; type: string });
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(records.map((r) => r.type)).toEqual(["run-start", "host-start", "step-intent", "step-outcome"]);
    expect(records[0]?.prev).toBe("");
    expect(records[2]?.prev).toBe(lineHash(lines[1] as string));
    expect(records[0]?.time).toBe("2026-11-24T02:00:00.000Z");
    expect(lines[0]).not.toContain("argv");
  });

  it("refuses to create a journal twice for one run id", async () => {
    const path = await tempJournal();
    await (await Journal.create(path, START)).close();
    const error = (await Journal.create(path, START).catch((e: unknown) => e)) as { message: string; hint: string };
    expect(error.message).toMatch(/exists already/);
    expect(error.hint).toMatch(/--resume run-1/);
  });

  it("replays completed steps, steps with an intent only, finished hosts and failures", async () => {
    const path = await tempJournal();
    const j = await Journal.create(path, START);
    await j.append({ type: "host-start", host: "a", wave: 0, attempt: 1 });
    await j.append({ type: "step-intent", host: "a", step: "one", kind: "command" });
    await j.append({ type: "step-outcome", host: "a", result: step("one", "failed") });
    await j.append({ type: "host-end", host: "a", result: { host: "a", wave: 0, outcome: "failed", detail: "x", startedAt: null, finishedAt: null, steps: [step("one", "failed")] } });
    await j.append({ type: "host-start", host: "b", wave: 0, attempt: 1 });
    await j.append({ type: "step-intent", host: "b", step: "one", kind: "command" });
    await j.append({ type: "step-outcome", host: "b", result: step("one") });
    await j.append({ type: "step-intent", host: "b", step: "two", kind: "packages", evidence: { bootId: "x" } });
    await j.append({ type: "host-start", host: "c", wave: 0, attempt: 1 });
    await j.append({ type: "host-end", host: "c", result: { host: "c", wave: 0, outcome: "interrupted", detail: "", startedAt: null, finishedAt: null, steps: [] } });
    await j.append({ type: "gate", wave: 0, ok: true, detail: "fine" });
    await j.close();
    const state = replayJournal(await readJournal(path));
    expect([...state.finished]).toEqual(["a"]);
    expect(state.failures).toBe(1);
    expect([...(state.hosts.get("b")?.completed.keys() ?? [])]).toEqual(["one"]);
    expect(state.hosts.get("b")?.pending.get("two")).toMatchObject({ step: "two", kind: "packages", evidence: { bootId: "x" } });
    expect(state.hosts.get("c")?.result?.outcome).toBe("interrupted");
    expect(state.gatesPassed.has(0)).toBe(true);
    expect(state.tornBytes).toBe(0);
  });

  it("keeps a step judged unknown pending, so the next resume judges it again and only --retry-unknown runs it", async () => {
    const path = await tempJournal();
    const j = await Journal.create(path, START);
    await j.append({ type: "host-start", host: "a", wave: 0, attempt: 1 });
    await j.append({ type: "step-intent", host: "a", step: "one", kind: "command" });
    await j.append({ type: "run-resume", pid: 1, machine: "m", tornBytes: 0 });
    await j.append({ type: "host-start", host: "a", wave: 0, attempt: 2 });
    await j.append({ type: "step-outcome", host: "a", result: step("one", "unknown") });
    await j.append({ type: "host-end", host: "a", result: { host: "a", wave: 0, outcome: "interrupted", detail: "unknown", startedAt: null, finishedAt: null, steps: [step("one", "unknown")] } });
    await j.close();
    const state = replayJournal(await readJournal(path));
    expect(state.finished.has("a")).toBe(false);
    expect([...(state.hosts.get("a")?.completed.keys() ?? [])]).toEqual([]);
    expect(state.hosts.get("a")?.pending.get("one")).toMatchObject({ step: "one", kind: "command" });
  });

  it("refuses an edited, a removed and a reordered line, naming the line", async () => {
    const path = await tempJournal();
    const j = await Journal.create(path, START);
    for (let i = 0; i < 4; i++) await j.append({ type: "gate", wave: i, ok: true, detail: `g${i}` });
    await j.close();
    const text = await readFile(path, "utf8");
    const lines = text.split("\n").slice(0, -1);
    const cases: Array<[string, RegExp]> = [
      [text.replace('"detail":"g1"', '"detail":"g9"'), /line 4 does not chain/],
      [[lines[0], lines[1], lines[3], lines[4]].join("\n") + "\n", /line 3 has seq 4/],
      [[lines[0], lines[2], lines[1], lines[3], lines[4]].join("\n") + "\n", /line 2 has seq 3/],
      [[lines[0], "{oops", lines[2]].join("\n") + "\n", /line 2 is not JSON/],
    ];
    for (const [damaged, message] of cases) {
      await writeFile(path, damaged);
      const error = await readJournal(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JournalError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("reports a torn final line, and a resume cuts it and chains on", async () => {
    const path = await tempJournal();
    const j = await Journal.create(path, START);
    await j.append({ type: "host-start", host: "a", wave: 0, attempt: 1 });
    await j.close();
    await appendFile(path, '{"seq":3,"time":"2026-');
    const read = await readJournal(path);
    expect(read.records).toHaveLength(2);
    expect(read.tornBytes).toBe(22);
    const { journal, state } = await Journal.resume(path);
    expect(state.tornBytes).toBe(22);
    await journal.append({ type: "host-start", host: "b", wave: 0, attempt: 1 });
    await journal.close();
    const again = await readJournal(path);
    expect(again.tornBytes).toBe(0);
    expect(again.records.map((r) => r.type)).toEqual(["run-start", "host-start", "run-resume", "host-start"]);
    expect(again.records[2]).toMatchObject({ type: "run-resume", tornBytes: 22 });
  });

  it("survives SIGKILL mid-append: every acknowledged record is there, at most the last line is torn", async () => {
    const path = await tempJournal();
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "scripts", "append-forever.ts"), path], { stdio: ["ignore", "pipe", "inherit"] });
    let acknowledged = 0;
    await new Promise<void>((resolve, reject) => {
      child.on("error", reject);
      child.stdout.on("data", (chunk: Buffer) => {
        const counts = [...chunk.toString().matchAll(/ready (\d+)/g)].map((m) => Number(m[1]));
        acknowledged = Math.max(acknowledged, ...counts);
        // Kill while it keeps appending, well after several flushes.
        if (acknowledged >= 301) {
          child.kill("SIGKILL");
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.on("exit", resolve));
    const read = await readJournal(path);
    // Records 1..acknowledged were fsync'd before "ready" was printed.
    expect(read.records.length).toBeGreaterThanOrEqual(acknowledged);
    const state = replayJournal(read);
    expect(state.runId).toBe("r1");
    const { journal } = await Journal.resume(path);
    await journal.close();
    const after = await readJournal(path);
    expect(after.tornBytes).toBe(0);
    expect(after.records.at(-1)?.type).toBe("run-resume");
    expect(after.records.length).toBe(read.records.length + 1);
  });
});
