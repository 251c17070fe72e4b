import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { runEngine } from "../../src/apply/engine.ts";
import { readJournal } from "../../src/apply/journal-replay.ts";
import type { JournalRecord } from "../../src/apply/journal-records.ts";
import { budgetCount, resultsProblems } from "../../src/apply/results.ts";
import { StopController } from "../../src/apply/stop.ts";
import { summariseResults, summaryText } from "../../src/apply/summary.ts";
import { EventEmitter, type ApplyEvent } from "../../src/core/events.ts";
import { FakeFleet, newJournal, rolloutPlan, type HostSpec } from "./fixtures.ts";

function hosts(n: number, wave: (i: number) => number, group: (i: number) => string | null = () => null): HostSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `h${String(i + 1).padStart(2, "0")}`, wave: wave(i), group: group(i) }));
}

async function records(path: string): Promise<JournalRecord[]> {
  return (await readJournal(path)).records;
}

describe("engine: scheduling", () => {
  it("runs waves in order: no host of a wave starts before every host of the one before ended", async () => {
    const plan = rolloutPlan({ hosts: hosts(9, (i) => (i < 1 ? 0 : i < 4 ? 1 : 2)) });
    const fleet = new FakeFleet(plan, { h01: { stepMs: 30 }, h02: { stepMs: 20 } });
    const journal = await newJournal(plan);
    const results = await runEngine({ plan, journal, runHost: fleet.runHost });
    expect(results.status).toBe("ok");
    expect(results.exitCode).toBe(0);
    const rs = await records(journal.path);
    const lastEnd = (wave: number) => Math.max(...rs.filter((r) => r.type === "host-end" && r.result.wave === wave).map((r) => r.seq));
    const firstStart = (wave: number) => Math.min(...rs.filter((r) => r.type === "host-start" && r.wave === wave).map((r) => r.seq));
    expect(lastEnd(0)).toBeLessThan(firstStart(1));
    expect(lastEnd(1)).toBeLessThan(firstStart(2));
    expect(rs.filter((r) => r.type === "wave-start").map((r) => (r as { wave: number }).wave)).toEqual([0, 1, 2]);
    expect(rs.at(-1)).toMatchObject({ type: "run-end", status: "ok", exitCode: 0 });
  });

  it("writes summary.json with results.json, derived from its bytes; a shard's engine writes none", async () => {
    const plan = rolloutPlan({ hosts: hosts(3, () => 0) });
    const journal = await newJournal(plan);
    const results = await runEngine({ plan, journal, runHost: new FakeFleet(plan, {}).runHost });
    const bytes = await readFile(join(dirname(journal.path), "results.json"));
    expect(await readFile(join(dirname(journal.path), "summary.json"), "utf8")).toBe(summaryText(summariseResults(results, bytes)));
    const shard = await newJournal(plan);
    await runEngine({ plan, journal: shard, runHost: new FakeFleet(plan, {}).runHost, summary: false });
    await expect(readFile(join(dirname(shard.path), "summary.json"))).rejects.toThrow(/ENOENT/);
  });

  it("never exceeds the global and per-group limits, and reaches them", async () => {
    const groups = ["db", "app", "web"];
    const plan = rolloutPlan({ hosts: hosts(18, () => 0, (i) => groups[Math.floor(i / 6)] as string), concurrency: 4, groupConcurrency: { db: 2, app: 3 } });
    const scripts = Object.fromEntries(plan.hosts.map((h, i) => [h.name, { stepMs: 3 + ((i * 7) % 11) }]));
    const fleet = new FakeFleet(plan, scripts);
    await runEngine({ plan, journal: await newJournal(plan), runHost: fleet.runHost });
    expect(fleet.maxGroup.get("db")).toBe(2);
    expect(fleet.maxGroup.get("app")).toBe(3);
    expect(fleet.maxInFlight).toBe(4);
    // The order of groups holds: every db host started before any app host, every app host before any web host.
    const at = (name: string) => fleet.started.indexOf(name);
    expect(Math.max(...plan.hosts.slice(0, 6).map((h) => at(h.name)))).toBeLessThan(Math.min(...plan.hosts.slice(6, 12).map((h) => at(h.name))));
  });

  it("runs one host of a group at a time with serial_within_group", async () => {
    const plan = rolloutPlan({ hosts: hosts(8, () => 0, (i) => (i < 4 ? "db" : null)), serial: true });
    const fleet = new FakeFleet(plan);
    await runEngine({ plan, journal: await newJournal(plan), runHost: fleet.runHost });
    expect(fleet.maxGroup.get("db")).toBe(1);
    // Hosts outside any group are not serialised.
    expect(fleet.maxInFlight).toBeGreaterThan(1);
  });

  it("emits typed events for the CLI, in journal order", async () => {
    const plan = rolloutPlan({ hosts: hosts(3, (i) => i) });
    const events = new EventEmitter<ApplyEvent>();
    const seen: string[] = [];
    events.on((e) => seen.push(e.type));
    await runEngine({ plan, journal: await newJournal(plan), runHost: new FakeFleet(plan).runHost, events });
    expect(seen[0]).toBe("run-start");
    expect(seen.at(-1)).toBe("run-end");
    expect(seen.filter((t) => t === "step-start")).toHaveLength(6);
    expect(seen.filter((t) => t === "step-end")).toHaveLength(6);
    expect(seen.slice(1, 6)).toEqual(["wave-start", "host-start", "step-start", "step-end", "step-start"]);
  });
});

describe("engine: the failure budget", () => {
  it("trips exactly at haltsAt: in-flight hosts finish, the rest are not-started:budget, exit 4", async () => {
    // Wave 0: h01 fails fast; wave 1: h02 fails fast, h03 and h04 are slow and in flight when it trips.
    const plan = rolloutPlan({ hosts: hosts(10, (i) => (i === 0 ? 0 : i < 6 ? 1 : 2)), haltsAt: 2, concurrency: 3 });
    const fleet = new FakeFleet(plan, { h01: { outcome: "failed" }, h02: { outcome: "unreachable", stepMs: 2 }, h03: { stepMs: 150 }, h04: { stepMs: 150 } });
    const journal = await newJournal(plan);
    const results = await runEngine({ plan, journal, runHost: fleet.runHost });
    expect(results.status).toBe("halted:budget");
    expect(results.exitCode).toBe(4);
    expect(results.failureBudget).toEqual({ failures: 2, haltsAt: 2 });
    const outcome = Object.fromEntries(results.hosts.map((h) => [h.host, h.outcome]));
    expect(outcome).toEqual({ h01: "failed", h02: "unreachable", h03: "changed", h04: "changed", h05: "not-started:budget", h06: "not-started:budget", h07: "not-started:budget", h08: "not-started:budget", h09: "not-started:budget", h10: "not-started:budget" });
    expect(fleet.started).toEqual(["h01", "h02", "h03", "h04"]);
    const rs = await records(journal.path);
    const trips = rs.filter((r) => r.type === "budget-trip");
    expect(trips).toEqual([expect.objectContaining({ failures: 2, haltsAt: 2, host: "h02" })]);
    // The in-flight hosts ended after the trip was recorded: they were not cut short.
    const tripSeq = trips[0]?.seq ?? 0;
    expect(rs.find((r) => r.type === "host-end" && r.host === "h03")?.seq).toBeGreaterThan(tripSeq);
    expect(results.counts["not-started:budget"]).toBe(6);
    // One count everywhere: the halt names the same hosts, by outcome, as the counts do.
    expect(results.halt?.detail).toBe("the failure budget is exhausted: 2 host(s) counted against the failure budget (1 failed, 1 unreachable), 1 allowed; it halts at 2");
    expect(budgetCount(results.failureBudget.failures, results.hosts)).toBe(`2 host(s) counted against the failure budget (${results.counts.failed} failed, ${results.counts.unreachable} unreachable)`);
    expect(resultsProblems(JSON.parse(await readFile(join(dirname(journal.path), "results.json"), "utf8")))).toEqual([]);
  });

  it("does not trip below haltsAt: failures within the budget exit 1", async () => {
    const plan = rolloutPlan({ hosts: hosts(4, () => 0), haltsAt: 2 });
    const results = await runEngine({ plan, journal: await newJournal(plan), runHost: new FakeFleet(plan, { h03: { outcome: "cancelled:precheck" } }).runHost });
    expect(results.status).toBe("hosts-failed");
    expect(results.exitCode).toBe(1);
    expect(results.counts.changed).toBe(3);
  });
});

describe("engine: gates, pause and window", () => {
  it("halts on a failing gate: later waves are not started", async () => {
    const plan = rolloutPlan({ hosts: hosts(5, (i) => (i < 2 ? 0 : 1)), gateChecks: 1 });
    const fleet = new FakeFleet(plan);
    const journal = await newJournal(plan);
    const seen: string[][] = [];
    const results = await runEngine({
      plan,
      journal,
      runHost: fleet.runHost,
      runGate: async (_wave, members) => {
        seen.push(members.map((h) => h.name));
        return { ok: false, detail: "h02: endpoint http://127.0.0.1:8080/health answered 503" };
      },
    });
    expect(seen).toEqual([["h01", "h02"]]);
    expect(results.status).toBe("halted:gate");
    expect(results.exitCode).toBe(4);
    expect(results.halt?.detail).toMatch(/gate after wave 1 failed: h02: endpoint/);
    expect(results.hosts.slice(2).map((h) => h.outcome)).toEqual(["not-started:budget", "not-started:budget", "not-started:budget"]);
    expect((await records(journal.path)).filter((r) => r.type === "gate")).toEqual([expect.objectContaining({ wave: 0, ok: false })]);
  });

  it("pauses between waves for the plan's pause, and a stop ends the pause", async () => {
    const plan = rolloutPlan({ hosts: hosts(3, (i) => i), pause: "5m" });
    const stop = new StopController();
    const waits: number[] = [];
    const journal = await newJournal(plan);
    const results = await runEngine({
      plan,
      journal,
      stop,
      runHost: new FakeFleet(plan).runHost,
      sleep: async (ms, signal) => {
        waits.push(ms);
        // The operator stops the run during the second pause.
        if (waits.length === 2) {
          stop.request("SIGINT");
          expect(signal.aborted).toBe(true);
        }
      },
    });
    expect(waits).toEqual([300_000, 300_000]);
    expect(results.status).toBe("halted:signal");
    expect(results.hosts.map((h) => h.outcome)).toEqual(["changed", "changed", "not-started:signal"]);
    expect((await records(journal.path)).filter((r) => r.type === "pause")).toHaveLength(2);
  });

  it("starts no host after the window closes; in-flight hosts finish; the rest are not-started:window", async () => {
    const plan = rolloutPlan({ hosts: hosts(8, (i) => (i < 4 ? 0 : 1)), concurrency: 2, window: { opens: "2026-11-24T02:00:00.000Z", closes: "2026-11-24T05:00:00.000Z" } });
    let clock = new Date("2026-11-24T04:58:00Z");
    const fleet = new FakeFleet(plan, { h01: { stepMs: 20 }, h02: { stepMs: 20 } });
    // Each host start costs a minute of the window.
    fleet.onStart = () => (clock = new Date(clock.getTime() + 60_000));
    const journal = await newJournal(plan);
    const results = await runEngine({ plan, journal, runHost: fleet.runHost, now: () => clock });
    expect(fleet.started).toEqual(["h01", "h02"]);
    expect(results.hosts.map((h) => h.outcome)).toEqual(["changed", "changed", ...Array(6).fill("not-started:window")]);
    expect(results.status).toBe("hosts-failed");
    expect(results.exitCode).toBe(1);
    const closes = (await records(journal.path)).filter((r) => r.type === "window-close");
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ closes: "2026-11-24T05:00:00.000Z" });
    expect(results.hosts[2]?.detail).toMatch(/closed at 2026-11-24T05:00:00.000Z/);
  });

  it("starts nothing before the window opens", async () => {
    const plan = rolloutPlan({ hosts: hosts(2, () => 0), window: { opens: "2026-11-24T02:00:00.000Z", closes: "2026-11-24T05:00:00.000Z" } });
    const fleet = new FakeFleet(plan);
    const results = await runEngine({ plan, journal: await newJournal(plan), runHost: fleet.runHost, now: () => new Date("2026-11-24T01:59:59Z") });
    expect(fleet.started).toEqual([]);
    expect(results.hosts[0]?.detail).toMatch(/opens at 2026-11-24T02:00:00.000Z/);
  });
});

describe("engine: stop requests", () => {
  it("graceful: no new host, in-flight hosts finish their current step and are interrupted; hard: stops at once", async () => {
    const plan = rolloutPlan({ hosts: hosts(6, () => 0), concurrency: 2, steps: 3 });
    const stop = new StopController();
    // Steps of 300 ms, the stop 20 ms into the first: room for a loaded machine.
    const fleet = new FakeFleet(plan, {}, 300);
    fleet.onStart = (h) => {
      if (h.name === "h02") setTimeout(() => stop.request("SIGINT"), 20);
    };
    const journal = await newJournal(plan);
    const results = await runEngine({ plan, journal, stop, runHost: fleet.runHost });
    expect(fleet.started).toEqual(["h01", "h02"]);
    expect(results.status).toBe("halted:signal");
    expect(results.exitCode).toBe(4);
    // Each in-flight host finished the step it was in (one step each) and stopped before the next.
    for (const h of results.hosts.slice(0, 2)) {
      expect(h.outcome).toBe("interrupted");
      expect(h.steps.map((s) => s.outcome)).toEqual(["changed"]);
    }
    expect(results.hosts.slice(2).map((h) => h.outcome)).toEqual(Array(4).fill("not-started:signal"));
    expect((await records(journal.path)).filter((r) => r.type === "signal")).toEqual([expect.objectContaining({ mode: "graceful", reason: "SIGINT" })]);

    // A second request aborts the step in flight; a runner that ignores it is recorded after the grace period.
    const plan2 = rolloutPlan({ hosts: hosts(3, () => 0), steps: 2 });
    const stop2 = new StopController();
    const fleet2 = new FakeFleet(plan2, { h01: { stepMs: 10_000 }, h02: { stepMs: 10_000 } });
    const stuck = new FakeFleet(plan2, {}, 10_000);
    const journal2 = await newJournal(plan2);
    setTimeout(() => stop2.request("SIGTERM"), 20);
    setTimeout(() => stop2.request("SIGTERM"), 40);
    const t0 = Date.now();
    const results2 = await runEngine({
      plan: plan2,
      journal: journal2,
      stop: stop2,
      hardStopGraceMs: 100,
      // h03 ignores every signal: the engine must not wait for it.
      runHost: (host, s, j, a) => (host.name === "h03" ? stuck.runHost(host, new AbortController().signal, j, new AbortController().signal) : fleet2.runHost(host, s, j, a)),
    });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(results2.hosts.map((h) => h.outcome)).toEqual(["interrupted", "interrupted", "interrupted"]);
    expect(results2.hosts[2]?.detail).toMatch(/did not return within 100 ms/);
    const rs2 = await records(journal2.path);
    expect(rs2.filter((r) => r.type === "signal").map((r) => (r as { mode: string }).mode)).toEqual(["graceful", "hard"]);
    // h03's step has an intent and no outcome: a resume re-judges it.
    expect(rs2.some((r) => r.type === "step-intent" && r.host === "h03")).toBe(true);
    expect(rs2.some((r) => r.type === "step-outcome" && r.host === "h03")).toBe(false);
  });
});

describe("engine: a journal that can no longer be written", () => {
  it("stops the hosts at once and throws the journal's error instead of going on unrecorded", async () => {
    const plan = rolloutPlan({ hosts: hosts(6, () => 0), concurrency: 2, steps: 3 });
    const journal = await newJournal(plan);
    const fleet = new FakeFleet(plan, { h02: { stepMs: 5000 } });
    const stop = new StopController();
    fleet.onStart = (h) => {
      if (h.name === "h03") void journal.close();
    };
    const error = await runEngine({ plan, journal, stop, runHost: fleet.runHost, hardStopGraceMs: 200 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/journal .* is closed/);
    expect(stop.abort.aborted).toBe(true);
    expect(fleet.started).not.toContain("h04");
  });
});
