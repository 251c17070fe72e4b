import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJournal } from "../../src/apply/journal-replay.ts";
import type { JournalRecord } from "../../src/apply/journal-records.ts";
import type { RunResults } from "../../src/apply/results.ts";
import { downFleet, execInHost, healFault, injectFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";

/**
 * `steward apply` as an engineer runs it: the real binary (bin/steward.js) in a child
 * process, its repository the fleet's, five real sandbox hosts. The process is stopped
 * mid-wave by SIGINT, twice by SIGINT, or by SIGKILL, and `--resume` must finish the
 * run without running a completed step twice. Commands count their own runs on the
 * host (a line appended to a file), so "ran twice" is read from the host itself.
 */

// Own subnet: every fleet needs its own addresses.
const SUBNET = 242;
const PROJECT = resolve(import.meta.dirname, "../..");
const BIN = join(PROJECT, "bin/steward.js");

/** A runbook of two guarded commands: `first` sleeps, then counts its run and makes its marker. */
const guarded = (name: string, extra = "", sleep = 2): string => `name: ${name}
targets: all
rollout:
  waves: [1, "100%"]
  concurrency: 2
  failure_budget: 2
${extra}steps:
  - kind: command
    name: first
    command: sleep ${sleep}; echo run >> /tmp/${name}-first-runs; touch /tmp/${name}-first
    creates: /tmp/${name}-first
  - kind: command
    name: second
    command: echo run >> /tmp/${name}-second-runs; touch /tmp/${name}-second
    creates: /tmp/${name}-second
`;

/** One unguarded command on one host: after a crash nothing on the host says whether it ran. */
const UNGUARDED = `name: unguarded
targets: sandbox-05
steps:
  - kind: command
    name: count
    command: sleep 3; echo run >> /tmp/unguarded-runs
`;

/** sandbox-02 is made unreachable before apply, sandbox-03 frozen during its step (4 s timeout). */
const FAULTS = `name: faults
targets: "sandbox-02, sandbox-03, sandbox-04"
rollout:
  concurrency: 1
  failure_budget: 1
steps:
  - kind: command
    name: count
    command: sleep 1; echo run >> /tmp/faults-runs
    timeout: 4s
`;

interface Running {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

describe("steward apply in a child process: signals, kill -9, the lock and the window", () => {
  let dir: string;
  let state: FleetState;

  function start(...args: string[]): Running {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: state.dir, env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => void (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => void (stderr += c.toString()));
    const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => child.on("close", (code) => done({ code, stdout, stderr })));
    return { child, pid: child.pid!, stdout: () => stdout, exited };
  }

  async function steward(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return start(...args).exited;
  }

  async function planned(runbook: string, ...extra: string[]): Promise<string> {
    const r = await steward("plan", runbook, "--gather", ...extra);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return /^wrote (\S+\.json)$/m.exec(r.stdout)![1]!;
  }

  /** The journal of the only run of `runbook` so far. */
  async function journalOf(runbook: string): Promise<{ runId: string; records: JournalRecord[] }> {
    const runs = (await readdir(join(state.dir, "runs")).catch(() => [] as string[])).filter((d) => d.startsWith(`${runbook}-`));
    if (runs.length !== 1) return { runId: "", records: [] };
    const { records } = await readJournal(join(state.dir, "runs", runs[0]!, "journal.jsonl")).catch(() => ({ records: [] as JournalRecord[] }));
    return { runId: runs[0]!, records };
  }

  /** Waits until the run's journal satisfies `ready`; fails when the run exits first. */
  async function waitJournal(runbook: string, running: Running, ready: (records: JournalRecord[]) => boolean): Promise<string> {
    let exited = false;
    void running.exited.then(() => (exited = true));
    for (let i = 0; i < 600; i++) {
      const { runId, records } = await journalOf(runbook);
      if (ready(records)) return runId;
      if (exited) throw new Error(`the run ended before it could be stopped:\n${running.stdout()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the journal never got there:\n${running.stdout()}`);
  }

  const intents = (records: JournalRecord[], step: string, wave?: number): string[] =>
    records.flatMap((r) => (r.type === "step-intent" && r.step === step && (wave === undefined || records.some((s) => s.type === "host-start" && s.host === r.host && s.wave === wave)) ? [r.host] : []));
  const results = async (runId: string): Promise<RunResults> => JSON.parse(await readFile(join(state.dir, "runs", runId, "results.json"), "utf8")) as RunResults;
  const runsOn = async (host: string, file: string): Promise<number> => {
    const r = await execInHost(state, host, ["sh", "-c", `cat /tmp/${file} 2>/dev/null || true`]);
    return r.stdout.split("\n").filter((l) => l === "run").length;
  };
  /** Every host/step pair with its step-outcome records, across all processes of the run. */
  const outcomesByStep = (records: JournalRecord[]): Map<string, number> => {
    const seen = new Map<string, number>();
    for (const r of records) if (r.type === "step-outcome") seen.set(`${r.host}/${r.result.step}`, (seen.get(`${r.host}/${r.result.step}`) ?? 0) + 1);
    return seen;
  };
  const ALL = ["sandbox-01", "sandbox-02", "sandbox-03", "sandbox-04", "sandbox-05"];

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-apply-signals-")), "fleet");
    state = await upFleet({ dir, count: 5, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    const window = "window:\n  timezone: UTC\n  days: [mon, tue, wed, thu, fri, sat, sun]\n  start: \"02:00\"\n  duration: 1h\n";
    const files: Record<string, string> = {
      sigint: guarded("sigint"),
      twice: guarded("twice", "", 30),
      kill: guarded("kill", "", 3),
      locked: guarded("locked"),
      // `extra` lands right after the rollout's last key: indented, it belongs to the rollout.
      paused: guarded("paused", "  gate:\n    pause: 60s\n", 0),
      window: guarded("window", window, 14),
      unguarded: UNGUARDED,
      faults: FAULTS,
      piped: guarded("piped", "", 1),
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(state.dir, "runbooks", `${name}.yaml`), text);
  }, 180_000);

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("SIGINT mid-wave: in-flight hosts finish their step, exit 4 with how to resume; --resume completes the run, nothing twice", async () => {
    const plan = await planned("sigint");
    const first = start("apply", plan);
    // Wave 2's first two hosts are inside their sleeping first step.
    const runId = await waitJournal("sigint", first, (records) => intents(records, "first", 1).length === 2);
    first.child.kill("SIGINT");
    const stopped = await first.exited;
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(4);
    expect(stopped.stdout).toContain(`continue with: steward apply ${plan} --resume ${runId}`);
    const halted = await results(runId);
    expect(halted.status).toBe("halted:signal");
    const inFlight = halted.hosts.filter((h) => h.outcome === "interrupted");
    expect(inFlight).toHaveLength(2);
    // Each finished the step it was in, and started no other.
    for (const h of inFlight) expect(h.steps.map((s) => [s.step, s.outcome])).toEqual([["first", "changed"]]);
    expect(halted.hosts.filter((h) => h.outcome === "not-started:signal")).toHaveLength(2);
    expect(halted.hosts.filter((h) => h.outcome === "changed")).toHaveLength(1);

    const resumed = await steward("apply", plan, "--resume", runId);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    const done = await results(runId);
    expect(done.status).toBe("ok");
    expect(done.resumes).toBe(1);
    expect(done.hosts.map((h) => h.outcome)).toEqual(ALL.map(() => "changed"));
    for (const h of done.hosts) expect(h.steps.map((s) => s.step)).toEqual(["first", "second"]);
    const report = await readFile(join(state.dir, "runs", runId, "report.md"), "utf8");
    expect(report).toContain("| Status | ok (exit 0) |");

    const { records } = await journalOf("sigint");
    expect(records.filter((r) => r.type === "run-start")).toHaveLength(1);
    expect(records.filter((r) => r.type === "run-resume")).toHaveLength(1);
    expect(records.filter((r) => r.type === "signal")).toHaveLength(1);
    const outcomes = outcomesByStep(records);
    expect([...outcomes.keys()].sort()).toEqual(ALL.flatMap((h) => [`${h}/first`, `${h}/second`]).sort());
    expect([...outcomes.values()].every((n) => n === 1)).toBe(true);
    for (const host of ALL) {
      expect(await runsOn(host, "sigint-first-runs"), host).toBe(1);
      expect(await runsOn(host, "sigint-second-runs"), host).toBe(1);
    }
  }, 120_000);

  it("a second SIGINT stops at once, and both signals and every host's end are recorded", async () => {
    const plan = await planned("twice");
    const running = start("apply", plan);
    const runId = await waitJournal("twice", running, (records) => intents(records, "first").length === 1);
    const t0 = Date.now();
    running.child.kill("SIGINT");
    await waitJournal("twice", running, (records) => records.some((r) => r.type === "signal"));
    running.child.kill("SIGINT");
    const stopped = await running.exited;
    // The step sleeps 30 s; the hard stop gives hosts 5 s to return.
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(4);
    const { records } = await journalOf("twice");
    expect(records.filter((r) => r.type === "signal").map((r) => (r.type === "signal" ? r.mode : ""))).toEqual(["graceful", "hard"]);
    expect(records.at(-1)).toMatchObject({ type: "run-end", exitCode: 4 });
    const res = await results(runId);
    expect(res.hosts.map((h) => h.outcome)).toEqual(["interrupted", "not-started:signal", "not-started:signal", "not-started:signal", "not-started:signal"]);
  }, 120_000);

  it("kill -9 mid-wave: --resume re-judges the started steps from their guards, runs the rest, nothing twice", async () => {
    const plan = await planned("kill");
    const running = start("apply", plan);
    const runId = await waitJournal("kill", running, (records) => intents(records, "first", 1).length === 2);
    running.child.kill("SIGKILL");
    expect((await running.exited).code).toBe(null);
    // Let a command that outlived its connection finish: either way it ran at most once.
    await new Promise((r) => setTimeout(r, 4000));
    const killed = await journalOf("kill");
    expect(killed.records.some((r) => r.type === "run-end")).toBe(false);

    const resumed = await steward("apply", plan, "--resume", runId);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    const done = await results(runId);
    expect(done.hosts.map((h) => h.outcome)).toEqual(ALL.map(() => "changed"));
    const { records } = await journalOf("kill");
    expect(records.filter((r) => r.type === "run-start")).toHaveLength(1);
    expect(records.filter((r) => r.type === "run-resume")).toHaveLength(1);
    const outcomes = outcomesByStep(records);
    expect([...outcomes.keys()].sort()).toEqual(ALL.flatMap((h) => [`${h}/first`, `${h}/second`]).sort());
    expect([...outcomes.values()].every((n) => n === 1)).toBe(true);
    for (const host of ALL) {
      expect(await runsOn(host, "kill-first-runs"), host).toBe(1);
      expect(await runsOn(host, "kill-second-runs"), host).toBe(1);
    }
  }, 120_000);

  it("kill -9 during a step no guard can judge: resume reports it unknown and leaves it; --retry-unknown runs it", async () => {
    const plan = await planned("unguarded");
    const running = start("apply", plan);
    const runId = await waitJournal("unguarded", running, (records) => intents(records, "count").length === 1);
    running.child.kill("SIGKILL");
    await running.exited;
    await new Promise((r) => setTimeout(r, 4000));
    const before = await runsOn("sandbox-05", "unguarded-runs");

    const judged = await steward("apply", plan, "--resume", runId);
    expect(judged.code, judged.stdout + judged.stderr).not.toBe(0);
    const left = (await results(runId)).hosts[0]!;
    expect(left.outcome).toBe("interrupted");
    expect(left.steps.map((s) => [s.step, s.outcome])).toEqual([["count", "unknown"]]);
    expect(left.detail).toMatch(/--retry-unknown/);
    expect(await runsOn("sandbox-05", "unguarded-runs")).toBe(before);

    // A second resume without the flag leaves it alone again.
    const again = await steward("apply", plan, "--resume", runId);
    expect((await results(runId)).hosts[0]!.outcome, again.stdout).toBe("interrupted");
    expect(await runsOn("sandbox-05", "unguarded-runs")).toBe(before);

    const retried = await steward("apply", plan, "--resume", runId, "--retry-unknown");
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    const host = (await results(runId)).hosts[0]!;
    expect(host.outcome).toBe("changed");
    expect(host.steps.map((s) => [s.step, s.outcome])).toEqual([["count", "changed"]]);
    expect(await runsOn("sandbox-05", "unguarded-runs")).toBe(before + 1);
  }, 120_000);

  it("a second apply of the same plan exits 7 naming the first's run id and pid", async () => {
    const plan = await planned("locked");
    const first = start("apply", plan);
    const runId = await waitJournal("locked", first, (records) => intents(records, "first").length === 1);
    const second = await steward("apply", plan);
    expect(second.code, second.stdout + second.stderr).toBe(7);
    expect(second.stderr).toContain(`run ${runId} (pid ${first.pid}`);
    const ended = await first.exited;
    expect(ended.code, ended.stdout + ended.stderr).toBe(0);
    // The lock went with the first run: the plan can be applied again (nothing left to do).
    const third = await steward("apply", plan);
    expect(third.code, third.stdout + third.stderr).toBe(0);
  }, 120_000);

  it("a reader that closes the output mid-run (`apply | head -1`) does not stop the run: every host finishes, results and audit entry written, exit 0", async () => {
    const plan = await planned("piped");
    const running = start("apply", plan);
    // The first progress line is out: the reader goes away, as `head -1` does.
    await waitJournal("piped", running, (records) => intents(records, "first").length === 1);
    running.child.stdout!.destroy();
    const ended = await running.exited;
    expect(ended.code, ended.stderr).toBe(0);
    const { runId, records } = await journalOf("piped");
    const done = await results(runId);
    expect(done.hosts.map((h) => h.outcome)).toEqual(ALL.map(() => "changed"));
    expect(records.filter((r) => r.type === "step-outcome")).toHaveLength(ALL.length * 2);
    const audit = await readFile(join(state.dir, "runs", "audit.jsonl"), "utf8");
    expect(audit).toContain(`"runId":"${runId}"`);
    for (const host of ALL) expect(await runsOn(host, "piped-first-runs")).toBe(1);
  }, 120_000);

  it("SIGINT during the pause between waves ends the pause at once: later waves not started, exit 4", async () => {
    const plan = await planned("paused");
    const running = start("apply", plan);
    const runId = await waitJournal("paused", running, (records) => records.some((r) => r.type === "pause"));
    const t0 = Date.now();
    running.child.kill("SIGINT");
    const stopped = await running.exited;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(4);
    expect(stopped.stdout).toContain(`--resume ${runId}`);
    const res = await results(runId);
    expect(res.status).toBe("halted:signal");
    const [first, ...rest] = res.hosts;
    expect(first!.outcome).toBe("changed");
    expect(rest.map((h) => h.outcome)).toEqual(rest.map(() => "not-started:signal"));
  }, 120_000);

  it("a window that closes during wave 1: the hosts after it are not-started:window", async () => {
    // The window (02:00–03:00 UTC) closes 10 s into the run, time enough for the first host
    // to start on a loaded machine; wave 1's step takes 14 s, so it is still running then.
    const now = "2026-12-01T02:59:50Z";
    const plan = await planned("window", "--now", now);
    const r = await steward("apply", plan, "--now", now);
    // Not halted (nothing failed), but not done: hosts were left out, as for a failed host.
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/maintenance window closed/);
    const { runId } = await journalOf("window");
    const res = await results(runId);
    const [first, ...rest] = res.hosts;
    expect(first!.outcome).toBe("changed");
    expect(rest.map((h) => h.outcome)).toEqual(rest.map(() => "not-started:window"));
    expect(rest[0]!.detail).toMatch(/closed at 2026-12-01T03:00:00/);
    expect(await runsOn(first!.host, "window-first-runs")).toBe(1);
    for (const h of rest) expect(await runsOn(h.host, "window-first-runs"), h.host).toBe(0);
    // The record says the window was checked against --now, not the real clock.
    const { records } = await readJournal(join(state.dir, "runs", runId, "journal.jsonl"));
    expect(records[0]).toMatchObject({ type: "run-start", clockOverride: expect.stringMatching(/^2026-12-01T02:59:5\d/) });
    expect(await readFile(join(state.dir, "runs", runId, "report.md"), "utf8")).toMatch(/\| Clock \| the maintenance window was checked against --now 2026-12-01T02:59:5/);
  }, 120_000);

  it("an unreachable host and a host frozen mid-step count against the budget; the frozen one fails by its step timeout", async () => {
    const plan = await planned("faults");
    await injectFault(state, "sandbox-02", "unreachable");
    try {
      const t0 = Date.now();
      const running = start("apply", plan);
      // sandbox-03 goes first (plan order); it freezes once its step has started.
      await waitJournal("faults", running, (records) => records.some((r) => r.type === "step-intent" && r.host === "sandbox-03"));
      await injectFault(state, "sandbox-03", "freeze");
      // The run's end is printed, and the lock released, without waiting for the frozen host's connection.
      await waitJournal("faults", running, (records) => records.some((r) => r.type === "run-end"));
      for (let i = 0; i < 100 && !running.stdout().includes("report.md"); i++) await new Promise((r) => setTimeout(r, 100));
      expect(running.stdout()).toMatch(/wrote runs\/faults-\S+\/report\.md/);
      expect(running.stdout()).toMatch(/halted:budget/);
      expect(await readdir(join(state.dir, "runs", "locks"))).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(40_000);
      // The process exits too, while the host is still frozen: the transport destroys a
      // frozen peer's socket when it does not answer the disconnect.
      const ended = await Promise.race([running.exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 15_000))]);
      if (ended === "hung") running.child.kill("SIGKILL");
      expect(ended === "hung" ? "hung" : ended.code).toBe(4);
      const { runId } = await journalOf("faults");
      const res = await results(runId);
      const outcome = new Map(res.hosts.map((h) => [h.host, h]));
      expect(outcome.get("sandbox-02")?.outcome).toBe("unreachable");
      expect(outcome.get("sandbox-03")?.outcome).toBe("failed");
      expect(outcome.get("sandbox-03")?.detail).toMatch(/timed out|timeout/i);
      expect(outcome.get("sandbox-04")?.outcome).toBe("not-started:budget");
      expect(res.status).toBe("halted:budget");
      expect(res.failureBudget).toEqual({ failures: 2, haltsAt: 2 });
      expect(await runsOn("sandbox-04", "faults-runs")).toBe(0);
    } finally {
      await healFault(state, "sandbox-02");
      await healFault(state, "sandbox-03");
    }
  }, 120_000);
});
