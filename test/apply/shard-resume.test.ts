import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJournal } from "../../src/apply/journal-replay.ts";
import type { JournalRecord } from "../../src/apply/journal-records.ts";
import type { RunResults } from "../../src/apply/results.ts";
import { partitionWave } from "../../src/apply/shard/partition.ts";
import { parsePlan } from "../../src/plan/artifact.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { planGathered, planIdOf, runSteward, startSteward, type Ran, type Running } from "../support/steward-cli.ts";

/**
 * `steward apply --resume <run-id> --shard i/n --wave K`: a shard's runner killed with
 * SIGKILL mid-wave (the real binary, bin/steward.js, in a child process; 8 real sandbox
 * hosts), then continued from the shard's own journal. Commands count their own runs on
 * the host (a line appended to a file), so "ran twice" is read from the host itself;
 * the shard's journal must end complete (every step's outcome once, every host ended)
 * and `steward results merge` must accept it. Then the refusals, each naming the folder.
 */
const SUBNET = 124;
const PROJECT = resolve(import.meta.dirname, "../..");

const RUNBOOKS: Record<string, string> = {
  // Waves of 4 and 4 hosts; concurrency 2 gives each of 2 shards one host at a time.
  // `first` sleeps, fails where /tmp/crash-fail exists, else counts its run and makes
  // its marker (its guard); `second` is unguarded and counts its runs.
  crash: `name: crash
targets: all
rollout:
  waves: [4, "100%"]
  concurrency: 2
  failure_budget: 1
steps:
  - kind: command
    name: first
    command: sleep 3; test ! -e /tmp/crash-fail || exit 1; echo run >> /tmp/crash-first-runs; touch /tmp/crash-first
    creates: /tmp/crash-first
  - kind: command
    name: second
    command: echo run >> /tmp/crash-second-runs
`,
  // One unguarded command: after a crash nothing on the host says whether it ran.
  unguarded: `name: unguarded
targets: sandbox-08
steps:
  - kind: command
    name: count
    command: sleep 3; echo run >> /tmp/unguarded-runs
`,
  touch: `name: touch
targets: all
steps:
  - kind: command
    name: mark
    command: touch /tmp/touch-ran
`,
  slow: `name: slow
targets: sandbox-07
steps:
  - kind: command
    name: nap
    command: sleep 15
`,
};

describe("a crashed shard is resumed from its own journal", () => {
  let dir: string;
  let state: FleetState;

  const start = (...args: string[]): Running => startSteward(state.dir, ...args);
  const steward = (...args: string[]): Promise<Ran> => runSteward(state.dir, ...args);
  const planned = (runbook: string): Promise<string> => planGathered(state.dir, runbook);
  const runIdOf = (plan: string): string => `${planIdOf(plan)}-sharded`;
  const shardDir = (runId: string, folder: string): string => join(state.dir, "runs", runId, "shards", folder);
  const shardJournal = async (runId: string, folder: string): Promise<JournalRecord[]> => (await readJournal(join(shardDir(runId, folder), "journal.jsonl")).catch(() => ({ records: [] as JournalRecord[] }))).records;
  const shardResults = async (runId: string, folder: string): Promise<RunResults> => JSON.parse(await readFile(join(shardDir(runId, folder), "results.json"), "utf8")) as RunResults;
  /** Waits until the shard's journal satisfies `ready`; fails when the runner exits first. */
  async function waitJournal(runId: string, folder: string, running: Running, ready: (records: JournalRecord[]) => boolean): Promise<void> {
    let exited = false;
    void running.exited.then(() => (exited = true));
    for (let i = 0; i < 1200; i++) {
      if (ready(await shardJournal(runId, folder))) return;
      if (exited) throw new Error(`the shard ended before it could be killed:\n${(await running.exited).stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the shard's journal never got there");
  }
  /** Kills the runner with SIGKILL and lets a command that outlived its connection end: either way it ran at most once. */
  async function kill9(running: Running): Promise<void> {
    running.child.kill("SIGKILL");
    expect((await running.exited).code).toBe(null);
    await new Promise((r) => setTimeout(r, 4000));
  }
  const intents = (records: JournalRecord[], step: string): string[] => records.flatMap((r) => (r.type === "step-intent" && r.step === step ? [r.host] : []));
  const runsOn = async (host: string, file: string): Promise<number> => {
    const r = await execInHost(state, host, ["sh", "-c", `cat /tmp/${file} 2>/dev/null || true`]);
    return r.stdout.split("\n").filter((l) => l === "run").length;
  };
  /** How many step-outcome and host-end records each host/step has in a journal. */
  const tally = (records: JournalRecord[]): { outcomes: Map<string, number>; ends: Map<string, number> } => {
    const outcomes = new Map<string, number>();
    const ends = new Map<string, number>();
    for (const r of records) {
      if (r.type === "step-outcome") outcomes.set(`${r.host}/${r.result.step}`, (outcomes.get(`${r.host}/${r.result.step}`) ?? 0) + 1);
      if (r.type === "host-end") ends.set(r.host, (ends.get(r.host) ?? 0) + 1);
    }
    return { outcomes, ends };
  };
  const existsOn = async (host: string, path: string): Promise<boolean> => (await execInHost(state, host, ["test", "-e", path])).code === 0;
  /** The hosts of each shard of wave `wave` (0-based) when cut into `of`. */
  const cutOf = async (plan: string, wave: number, of: number): Promise<string[][]> => partitionWave(parsePlan(await readFile(join(state.dir, plan), "utf8"), plan), wave, of);

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-shard-resume-")), "fleet");
    state = await upFleet({ dir, count: 8, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    for (const [name, text] of Object.entries(RUNBOOKS)) await writeFile(join(state.dir, "runbooks", `${name}.yaml`), text);
  }, 300_000);

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("kill -9 mid-wave, then --resume: nothing ran twice, the journal is complete, the merge accepts it; failures before the crash count against the share", async () => {
    const plan = await planned("crash");
    const runId = runIdOf(plan);
    const wave1 = await cutOf(plan, 0, 2);
    expect(wave1.map((s) => s.length)).toEqual([2, 2]);

    // Wave 1: shard 2 runs through; shard 1 is killed while its second host sleeps in `first`.
    const other = start("apply", plan, "--shard", "2/2", "--wave", "1");
    const victim = start("apply", plan, "--shard", "1/2", "--wave", "1");
    await waitJournal(runId, "w1-1-of-2", victim, (records) => new Set(intents(records, "first")).size === 2);
    await kill9(victim);
    expect((await other.exited).code).toBe(0);
    const killed = await shardJournal(runId, "w1-1-of-2");
    expect(killed.some((r) => r.type === "run-end")).toBe(false);

    // Applied again from scratch, it is refused, naming the resume.
    const again = await steward("apply", plan, "--shard", "1/2", "--wave", "1");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`continue it from its journal: steward apply ${plan} --resume ${runId} --shard 1/2 --wave 1`);
    // The merge refuses it too, with the same way out.
    const early = await steward("results", "merge", runId);
    expect(early.code).toBe(5);
    expect(early.stderr).toContain(`runs/${runId}/shards/w1-1-of-2/journal.jsonl has no run-end`);
    expect(early.stderr).toContain(`--resume ${runId} --shard 1/2 --wave 1`);

    const resumed = await steward("apply", plan, "--resume", runId, "--shard", "1/2", "--wave", "1");
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`run ${runId} shard 1/2 of wave 1 (resumed, attempt 2): ok`);
    expect(resumed.stdout).toContain(`took over the stale lock of run ${runId}`);
    expect(resumed.stdout).toContain(`check its journal (runs/${runId}/shards/w1-1-of-2/journal.jsonl)`);
    const res = await shardResults(runId, "w1-1-of-2");
    expect([res.status, res.resumes]).toEqual(["ok", 1]);
    expect(res.hosts.map((h) => [h.host, h.outcome])).toEqual(wave1[0]!.map((h) => [h, "changed"]));
    for (const h of res.hosts) expect(h.steps.map((s) => s.step)).toEqual(["first", "second"]);
    // The journal: one start, one resume, each step's outcome once, each host ended once.
    const records = await shardJournal(runId, "w1-1-of-2");
    expect(records.filter((r) => r.type === "run-start")).toHaveLength(1);
    expect(records.filter((r) => r.type === "run-resume")).toHaveLength(1);
    expect(records.filter((r) => r.type === "run-end")).toHaveLength(1);
    const { outcomes, ends } = tally(records);
    expect([...outcomes.entries()].sort()).toEqual(wave1[0]!.flatMap((h) => [[`${h}/first`, 1], [`${h}/second`, 1]]).sort());
    expect([...ends.entries()].sort()).toEqual(wave1[0]!.map((h) => [h, 1]).sort());
    // Nothing ran twice, read from the hosts.
    for (const host of wave1.flat()) {
      expect(await runsOn(host, "crash-first-runs"), host).toBe(1);
      expect(await runsOn(host, "crash-second-runs"), host).toBe(1);
    }
    // A finished shard is not resumed again.
    const twice = await steward("apply", plan, "--resume", runId, "--shard", "1/2", "--wave", "1");
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(`shard 1/2 of wave 1 of run ${runId} finished (ok): runs/${runId}/shards/w1-1-of-2/journal.jsonl ends with its run-end`);
    expect(twice.stderr).toContain(`steward results merge ${runId}`);

    const merged = await steward("results", "merge", runId, "--wave", "1");
    expect(merged.code, merged.stdout + merged.stderr).toBe(0);
    // Every host record of both shards, exactly once, in the run's journal.
    const copied = new Set(["host-start", "step-intent", "step-outcome", "host-end"]);
    const strip = (r: JournalRecord): string => JSON.stringify({ ...r, seq: 0, prev: "" });
    const fromShards = [...(await shardJournal(runId, "w1-1-of-2")), ...(await shardJournal(runId, "w1-2-of-2"))].filter((r) => copied.has(r.type)).map(strip);
    const inRun = (await readJournal(join(state.dir, "runs", runId, "journal.jsonl"))).records.filter((r) => copied.has(r.type)).map(strip);
    expect(inRun.sort()).toEqual(fromShards.sort());
    // A merged wave is not resumed.
    const stale = await steward("apply", plan, "--resume", runId, "--shard", "1/2", "--wave", "1");
    expect(stale.code).toBe(2);
    expect(stale.stderr).toContain("so the next wave is 2");

    // Wave 2: the budget's share. 1 failure allowed, none spent: shard 1's share is 1
    // (halts at 2), shard 2's 0. Both of shard 1's hosts fail; the first fails before the
    // crash, the second after the resume: the run halts only if the first still counts.
    const wave2 = await cutOf(plan, 1, 2);
    for (const host of wave2[0]!) await execInHost(state, host, ["touch", "/tmp/crash-fail"]);
    const other2 = start("apply", plan, "--shard", "2/2", "--wave", "2");
    const victim2 = start("apply", plan, "--shard", "1/2", "--wave", "2");
    await waitJournal(runId, "w2-1-of-2", victim2, (records) => records.some((r) => r.type === "host-end" && r.result.outcome === "failed") && new Set(intents(records, "first")).size === 2);
    await kill9(victim2);
    expect((await other2.exited).code).toBe(0);
    const resumed2 = await steward("apply", plan, "--resume", runId, "--shard", "1/2");
    expect(resumed2.code, resumed2.stdout + resumed2.stderr).toBe(4);
    const res2 = await shardResults(runId, "w2-1-of-2");
    expect(res2.status).toBe("halted:budget");
    expect(res2.failureBudget).toEqual({ failures: 2, haltsAt: 2 });
    expect(res2.hosts.map((h) => h.outcome)).toEqual(["failed", "failed"]);
    const merged2 = await steward("results", "merge", runId);
    expect(merged2.code, merged2.stdout + merged2.stderr).toBe(4);
    expect(merged2.stdout).toMatch(/halted:budget/);
    for (const host of wave2[0]!) expect(await runsOn(host, "crash-first-runs"), host).toBe(0);
    for (const host of wave2[1]!) expect(await runsOn(host, "crash-first-runs"), host).toBe(1);
    const verify = await steward("audit", "verify");
    expect(verify.code, verify.stdout).toBe(0);
  }, 300_000);

  it("a step no guard can judge is left unknown; the finished shard is resumed again only with --retry-unknown, which runs it once", async () => {
    const plan = await planned("unguarded");
    const runId = runIdOf(plan);
    const running = start("apply", plan, "--shard", "1/1", "--wave", "1");
    await waitJournal(runId, "w1-1-of-1", running, (records) => intents(records, "count").length === 1);
    await kill9(running);
    const before = await runsOn("sandbox-08", "unguarded-runs");

    const judged = await steward("apply", plan, "--resume", runId, "--shard", "1/1", "--wave", "1");
    expect(judged.code, judged.stdout + judged.stderr).toBe(1);
    let host = (await shardResults(runId, "w1-1-of-1")).hosts[0]!;
    expect([host.outcome, host.steps.map((s) => [s.step, s.outcome])]).toEqual(["interrupted", [["count", "unknown"]]]);
    expect(await runsOn("sandbox-08", "unguarded-runs")).toBe(before);

    const plain = await steward("apply", plan, "--resume", runId, "--shard", "1/1", "--wave", "1");
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain("finished (hosts-failed)");
    expect(plain.stderr).toContain(`its host(s) sandbox-08 were left with a step of unknown effect: check them by hand, then run it again: steward apply ${plan} --resume ${runId} --shard 1/1 --wave 1 --retry-unknown`);
    expect(await runsOn("sandbox-08", "unguarded-runs")).toBe(before);
    // Merged, the shard could no longer be retried: the merge refuses until someone decides.
    const early = await steward("results", "merge", runId);
    expect(early.code, early.stdout + early.stderr).toBe(2);
    expect(early.stderr).toContain("holds steps of unknown effect");
    expect(early.stderr).toContain("sandbox-08 (count, shard 1/1)");
    expect(early.stderr).toContain(`--resume ${runId} --shard 1/1 --wave 1 --retry-unknown`);
    expect(early.stderr).toContain(`steward results merge ${runId} --accept-unknown`);
    await expect(readFile(join(state.dir, "runs", runId, "results.json"), "utf8")).rejects.toThrow(/ENOENT/);

    const retried = await steward("apply", plan, "--resume", runId, "--shard", "1/1", "--wave", "1", "--retry-unknown");
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    host = (await shardResults(runId, "w1-1-of-1")).hosts[0]!;
    expect([host.outcome, host.steps.map((s) => [s.step, s.outcome])]).toEqual(["changed", [["count", "changed"]]]);
    expect(await runsOn("sandbox-08", "unguarded-runs")).toBe(before + 1);
    const merged = await steward("results", "merge", runId);
    expect(merged.code, merged.stdout + merged.stderr).toBe(0);
    const run = JSON.parse(await readFile(join(state.dir, "runs", runId, "results.json"), "utf8")) as RunResults;
    expect(run.hosts.map((h) => [h.host, h.outcome])).toEqual([["sandbox-08", "changed"]]);
  }, 180_000);

  it("refuses, naming the folder: a shard never started, another cut, another run, a moved folder, another plan's folder, a live runner's shard", async () => {
    // A shard whose runner is alive: its lock names it.
    const slow = await planned("slow");
    const slowRun = runIdOf(slow);
    const running = start("apply", slow, "--shard", "1/1");
    await waitJournal(slowRun, "w1-1-of-1", running, (records) => intents(records, "nap").length === 1);
    const locked = await steward("apply", slow, "--resume", slowRun, "--shard", "1/1", "--wave", "1");
    expect(locked.code, locked.stderr).toBe(7);
    expect(locked.stderr).toContain(`is being applied by run ${slowRun} (pid ${running.child.pid}`);
    expect(locked.stderr).toContain(`a shard so stopped is continued with --resume ${slowRun} --shard 1/1 --wave 1`);
    // Applying it again while it runs is the same: the live runner is named, not "crashed".
    const again = await steward("apply", slow, "--shard", "1/1");
    expect(again.code, again.stderr).toBe(7);
    expect(again.stderr).toContain(`is being applied by run ${slowRun} (pid ${running.child.pid}`);
    const ended = await running.exited;
    expect(ended.code, ended.stderr).toBe(0);
    expect((await shardResults(slowRun, "w1-1-of-1")).resumes).toBe(0);

    const plan = await planned("touch");
    const runId = runIdOf(plan);
    const resume = (...args: string[]): Promise<Ran> => steward("apply", plan, "--resume", runId, ...args);
    const first = await steward("apply", plan, "--shard", "1/2", "--wave", "1");
    expect(first.code, first.stderr).toBe(0);
    // A runner that recorded the shard's end and died before writing results.json: the
    // resume writes them from the journal (the same bytes), touching no host.
    const resultsFile = join(state.dir, "runs", runId, "shards", "w1-1-of-2", "results.json");
    const written = await readFile(resultsFile, "utf8");
    const journalBefore = await readFile(join(state.dir, "runs", runId, "shards", "w1-1-of-2", "journal.jsonl"), "utf8");
    await rm(resultsFile);
    for (const host of (await cutOf(plan, 0, 2))[0]!) await execInHost(state, host, ["rm", "/tmp/touch-ran"]);
    const rewritten = await resume("--shard", "1/2", "--wave", "1");
    expect(rewritten.code, rewritten.stdout + rewritten.stderr).toBe(0);
    expect(await readFile(resultsFile, "utf8")).toBe(written);
    expect(await readFile(join(state.dir, "runs", runId, "shards", "w1-1-of-2", "journal.jsonl"), "utf8")).toBe(journalBefore);
    for (const host of (await cutOf(plan, 0, 2))[0]!) expect(await existsOn(host, "/tmp/touch-ran"), host).toBe(false);

    let r = await resume("--shard", "2/2", "--wave", "1");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`there is no shard 2/2 of wave 1 of run ${runId} to resume: runs/${runId}/shards/w1-2-of-2/journal.jsonl does not exist`);
    expect(r.stderr).toContain(`apply it: steward apply ${plan} --shard 2/2 --wave 1`);
    r = await resume("--shard", "1/3", "--wave", "1");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`wave 1 of run ${runId} is already cut into 2 shard(s)`);
    r = await resume("--shard", "1/2", "--wave", "2");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("so the next wave is 1");
    r = await steward("apply", plan, "--resume", "crash-20260101T000000Z-abcd", "--shard", "1/2");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the shards of plan ${runId.replace(/-sharded$/, "")} belong to its sharded run ${runId}`);
    // A sharded run is never continued by one runner.
    r = await steward("apply", plan, "--resume", runId);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`run ${runId} is a sharded run: it is continued one shard at a time, never by one runner`);
    r = await steward("apply", plan, "--shard", "1/2", "--retry-unknown");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--retry-unknown works only with --resume");

    // Shard 1's folder copied as shard 2's: its journal says which shard it is.
    const shards = join(state.dir, "runs", runId, "shards");
    await cp(join(shards, "w1-1-of-2"), join(shards, "w1-2-of-2"), { recursive: true });
    await rm(join(shards, "w1-2-of-2", "results.json"));
    r = await resume("--shard", "2/2", "--wave", "1");
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`runs/${runId}/shards/w1-2-of-2/journal.jsonl is the journal of shard 1/2 of wave 1, not of shard 2/2 of wave 1`);
    // Another plan's shard folder in its place.
    await rm(join(shards, "w1-2-of-2"), { recursive: true });
    await cp(join(state.dir, "runs", slowRun, "shards", "w1-1-of-1"), join(shards, "w1-2-of-2"), { recursive: true });
    r = await resume("--shard", "2/2", "--wave", "1");
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(new RegExp(`runs/${runId}/shards/w1-2-of-2/journal.jsonl applied plan slow-\\S+ \\(digest [0-9a-f]{12}…\\), not plan touch-`));
    expect(r.stderr).toContain(`move runs/${runId}/shards/w1-2-of-2/ out of runs/`);
    // None of the refusals touched a host of shard 2.
    for (const host of (await cutOf(plan, 0, 2))[1]!) expect(await existsOn(host, "/tmp/touch-ran"), host).toBe(false);
    await rm(join(shards, "w1-2-of-2"), { recursive: true });
    const second = await steward("apply", plan, "--shard", "2/2", "--wave", "1");
    expect(second.code, second.stderr).toBe(0);
    expect((await steward("results", "merge", runId)).code).toBe(0);
  }, 180_000);
});
