import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runEngine } from "../../src/apply/engine.ts";
import { Journal } from "../../src/apply/journal.ts";
import { readJournal } from "../../src/apply/journal-replay.ts";
import { resultsProblems, type RunResults } from "../../src/apply/results.ts";
import { FakeFleet, newJournal, resumePlan, rolloutPlan } from "./fixtures.ts";

/** Runs scripts/engine-run.ts until both hung steps have durable intents, then kills it with SIGKILL. */
async function killMidWave(runsDir: string): Promise<string[]> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "scripts", "engine-run.ts"), runsDir], { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`the run ended by itself (exit ${code}) before it was killed`)));
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      lines.push(...parts);
      if (lines.includes("step-start h04/s2") && lines.includes("step-start h05/s1")) {
        child.removeAllListeners("exit");
        child.kill("SIGKILL");
        child.on("exit", () => resolve());
      }
    });
  });
  return lines;
}

describe("engine: resume after kill -9", () => {
  it("runs nothing twice, carries the budget over, and leaves a complete journal", async () => {
    const runsDir = await mkdtemp(join(tmpdir(), "steward-resume-"));
    const before = await killMidWave(runsDir);
    expect(before.filter((l) => l.startsWith("host-end")).sort()).toEqual(["host-end h01", "host-end h02", "host-end h03"]);

    const plan = resumePlan();
    const path = join(runsDir, "run-1", "journal.jsonl");
    const { journal, state } = await Journal.resume(path);
    expect(state.failures).toBe(1);
    expect([...state.finished].sort()).toEqual(["h01", "h02", "h03"]);
    expect([...(state.hosts.get("h04")?.completed.keys() ?? [])]).toEqual(["s1"]);
    expect([...(state.hosts.get("h04")?.pending.keys() ?? [])]).toEqual(["s2"]);

    // h06 fails: with h01's failure carried over, that is the second, and haltsAt is 2.
    const fleet = new FakeFleet(plan, { h06: { outcome: "failed" } });
    const results = await runEngine({ plan, journal, runHost: fleet.runHost, resume: state });

    expect(fleet.started.sort()).toEqual(["h04", "h05", "h06"]);
    expect(fleet.stepsRun).not.toContain("h04/s1");
    expect(fleet.pendingSeen.sort()).toEqual(["h04/s2", "h05/s1"]);
    expect(results.failureBudget).toEqual({ failures: 2, haltsAt: 2 });
    expect(results.status).toBe("halted:budget");
    expect(results.resumes).toBe(1);
    expect(results.hosts.map((h) => [h.host, h.outcome])).toEqual([
      ["h01", "failed"],
      ["h02", "changed"],
      ["h03", "changed"],
      ["h04", "changed"],
      ["h05", "changed"],
      ["h06", "failed"],
    ]);
    // h04's steps: s1 from the killed run, s2 and s3 from the resume.
    expect(results.hosts[3]?.steps.map((s) => s.step)).toEqual(["s1", "s2", "s3"]);

    const read = await readJournal(path);
    expect(read.tornBytes).toBe(0);
    const outcomes = read.records.flatMap((r) => (r.type === "step-outcome" ? [`${r.host}/${r.result.step}`] : []));
    expect(outcomes).toHaveLength(new Set(outcomes).size);
    expect(outcomes.sort()).toEqual(plan.hosts.flatMap((h) => ["s1", "s2", "s3"].map((s) => `${h.name}/${s}`)).sort());
    const ends = read.records.flatMap((r) => (r.type === "host-end" ? [r.host] : []));
    expect(ends.sort()).toEqual(["h01", "h02", "h03", "h04", "h05", "h06"]);
    expect(read.records.filter((r) => r.type === "run-start")).toHaveLength(1);
    expect(read.records.filter((r) => r.type === "run-resume")).toHaveLength(1);
    expect(read.records.filter((r) => r.type === "budget-trip")).toHaveLength(1);
    expect(read.records.at(-1)).toMatchObject({ type: "run-end", status: "halted:budget", exitCode: 4 });

    const written = JSON.parse(await readFile(join(runsDir, "run-1", "results.json"), "utf8")) as RunResults;
    expect(resultsProblems(written)).toEqual([]);
    expect(written).toEqual(results);
  });

  it("resumes a halted run: the hosts it did not start run, finished ones do not", async () => {
    const plan = rolloutPlan({ hosts: [0, 0, 1, 1].map((wave, i) => ({ name: `h${i + 1}`, wave })), gateChecks: 1 });
    const journal = await newJournal(plan);
    const first = await runEngine({ plan, journal, runHost: new FakeFleet(plan).runHost, runGate: async () => ({ ok: false, detail: "h2 unhealthy" }) });
    expect(first.status).toBe("halted:gate");
    const { journal: again, state } = await Journal.resume(journal.path);
    const fleet = new FakeFleet(plan);
    const gates: number[] = [];
    const second = await runEngine({ plan, journal: again, resume: state, runHost: fleet.runHost, runGate: async (w) => (gates.push(w.index), { ok: true, detail: "healthy" }) });
    expect(gates).toEqual([0]);
    expect(fleet.started).toEqual(["h3", "h4"]);
    expect(second.status).toBe("ok");
    expect(second.exitCode).toBe(0);
  });

  it("refuses to resume a run with another plan", async () => {
    const plan = resumePlan();
    const journal = await newJournal(plan);
    await runEngine({ plan, journal, runHost: new FakeFleet(plan).runHost });
    const { journal: again, state } = await Journal.resume(journal.path);
    const other = { ...plan, digest: "c".repeat(64) };
    await expect(runEngine({ plan: other, journal: again, resume: state, runHost: new FakeFleet(plan).runHost })).rejects.toMatchObject({ code: "stale-plan" });
    await again.close();
  });
});
