import { execFile } from "node:child_process";
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJournal } from "../../src/apply/journal-replay.ts";
import type { JournalRecord } from "../../src/apply/journal-records.ts";
import type { RunResults } from "../../src/apply/results.ts";
import { partitionWave } from "../../src/apply/shard/partition.ts";
import { parsePlan } from "../../src/plan/artifact.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { planGathered, planIdOf, runSteward, startSteward, type Ran, type Running } from "../support/steward-cli.ts";

/**
 * What a sharded run tells an operator and an auditor when its record has gaps, with the
 * real binary (bin/steward.js, child processes) on 4 real sandbox hosts: a shard stopped
 * by SIGINT is resumable like a crashed one (nothing runs twice, read from the hosts) and
 * the merge says so instead of halting the run; a torn journal line is named on standard
 * error by the resume and the merge; a deleted shard folder is named by what else records
 * the shard (its lock left behind, a commit holding its journal) or honestly as
 * unrecorded, and is never applied afresh over a lock that says it ran; `audit verify`
 * calls an empty shard folder what it is.
 */
const SUBNET = 131;
const PROJECT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

const RUNBOOKS: Record<string, string> = {
  // One wave of 4 hosts; 2 shards with one host in flight each. `first` is guarded and
  // slow, `second` unguarded; each counts its runs on the host.
  stop: `name: stop
targets: all
rollout:
  waves: ["100%"]
  concurrency: 2
  failure_budget: 1
steps:
  - kind: command
    name: first
    command: sleep 3; echo run >> /tmp/stop-first-runs; touch /tmp/stop-first
    creates: /tmp/stop-first
  - kind: command
    name: second
    command: echo run >> /tmp/stop-second-runs
`,
  torn: `name: torn
targets: host:sandbox-04
steps:
  - kind: command
    name: nap
    command: sleep 3; echo run >> /tmp/torn-runs; touch /tmp/torn-ran
    creates: /tmp/torn-ran
`,
  tornone: `name: tornone
targets: host:sandbox-03
steps:
  - kind: command
    name: nap
    command: sleep 3; echo run >> /tmp/tornone-runs; touch /tmp/tornone-ran
    creates: /tmp/tornone-ran
`,
  empty: `name: empty
targets: all
rollout:
  waves: [2, "100%"]
steps:
  - kind: command
    name: mark
    command: touch /tmp/empty-ran
`,
  // Two waves of 2 hosts; an unguarded step, so running it twice shows on the host.
  gone: `name: gone
targets: all
rollout:
  waves: [2, "100%"]
steps:
  - kind: command
    name: count
    command: sleep 2; echo run >> /tmp/gone-runs
`,
};

describe("a sharded run's gaps are told as they are", () => {
  let dir: string;
  let state: FleetState;
  const extra: string[] = [];

  const start = startSteward;
  const steward = (...args: string[]): Promise<Ran> => runSteward(state.dir, ...args);
  const planned = (runbook: string): Promise<string> => planGathered(state.dir, runbook);
  const idOf = planIdOf;
  const shardPath = (runId: string, folder: string): string => join(state.dir, "runs", runId, "shards", folder);
  const journalOf = async (path: string): Promise<JournalRecord[]> => (await readJournal(path).catch(() => ({ records: [] as JournalRecord[] }))).records;
  /** Waits until the journal at `path` satisfies `ready`; fails when the runner exits first. */
  async function waitJournal(path: () => Promise<string | null>, running: Running, ready: (records: JournalRecord[]) => boolean): Promise<void> {
    let exited = false;
    void running.exited.then(() => (exited = true));
    for (let i = 0; i < 1200; i++) {
      const p = await path();
      if (p !== null && ready(await journalOf(p))) return;
      if (exited) throw new Error(`the runner ended first:\n${(await running.exited).stdout}${(await running.exited).stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the journal never got there");
  }
  const intents = (records: JournalRecord[], step: string): string[] => records.flatMap((r) => (r.type === "step-intent" && r.step === step ? [r.host] : []));
  async function kill9(running: Running): Promise<void> {
    running.child.kill("SIGKILL");
    expect((await running.exited).code).toBe(null);
    // A command that outlived its connection ends: either way it ran at most once.
    await new Promise((r) => setTimeout(r, 4000));
  }
  const runsOn = async (host: string, file: string): Promise<number> => {
    const r = await execInHost(state, host, ["sh", "-c", `cat /tmp/${file} 2>/dev/null || true`]);
    return r.stdout.split("\n").filter((l) => l === "run").length;
  };
  const cutOf = async (plan: string, wave: number, of: number): Promise<string[][]> => partitionWave(parsePlan(await readFile(join(state.dir, plan), "utf8"), plan), wave, of);
  /** A torn last line, as a runner killed mid-write leaves it: part of a record, no "\n". */
  const TORN = '{"seq":99,"time":"2026-';

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-shard-gaps-")), "fleet");
    state = await upFleet({ dir, count: 4, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    for (const [name, text] of Object.entries(RUNBOOKS)) await writeFile(join(state.dir, "runbooks", `${name}.yaml`), text);
  }, 300_000);

  afterAll(async () => {
    for (const d of extra) await rm(d, { recursive: true, force: true });
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("a shard stopped by SIGINT is resumed like a crashed one: the merge names it instead of halting the run, nothing runs twice, the share is kept", async () => {
    const plan = await planned("stop");
    const runId = `${idOf(plan)}-sharded`;
    const cut = await cutOf(plan, 0, 2);
    expect(cut.map((s) => s.length)).toEqual([2, 2]);
    const other = start(state.dir, "apply", plan, "--shard", "2/2", "--wave", "1");
    const victim = start(state.dir, "apply", plan, "--shard", "1/2", "--wave", "1");
    const journal = join(shardPath(runId, "w1-1-of-2"), "journal.jsonl");
    await waitJournal(async () => journal, victim, (records) => intents(records, "first").length === 1);
    victim.child.kill("SIGINT");
    const stopped = await victim.exited;
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(4);
    expect(stopped.stdout).toContain(`run ${runId} shard 1/2 of wave 1: halted:signal`);
    expect(stopped.stdout).toContain(`continue with: steward apply ${plan} --resume ${runId} --shard 1/2 --wave 1`);
    expect((await other.exited).code).toBe(0);
    const before = JSON.parse(await readFile(join(shardPath(runId, "w1-1-of-2"), "results.json"), "utf8")) as RunResults;
    expect(before.hosts.map((h) => h.outcome)).toEqual(["interrupted", "not-started:signal"]);

    // The merge names the stopped shard and its resume; it writes nothing.
    const early = await steward("results", "merge", runId);
    expect(early.code, early.stdout + early.stderr).toBe(2);
    expect(early.stderr).toContain(`shard 1/2 (runs/${runId}/shards/w1-1-of-2/, stopped by SIGINT at `);
    expect(early.stderr).toContain(`${cut[0]![0]} interrupted, ${cut[0]![1]} not-started:signal`);
    expect(early.stderr).toContain("a stopped shard is resumable from its journal");
    expect(early.stderr).toContain(`steward apply plans/${idOf(plan)}.json --resume ${runId} --shard 1/2 --wave 1`);
    expect(early.stderr).toContain(`steward results merge ${runId} --accept-stopped`);
    await expect(readFile(join(state.dir, "runs", runId, "results.json"), "utf8")).rejects.toThrow(/ENOENT/);
    // Applied afresh, it is pointed at the resume.
    const again = await steward("apply", plan, "--shard", "1/2", "--wave", "1");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("was stopped by a signal (halted:signal");
    expect(again.stderr).toContain(`continue it from its journal: steward apply ${plan} --resume ${runId} --shard 1/2 --wave 1`);

    const resumed = await steward("apply", plan, "--resume", runId, "--shard", "1/2", "--wave", "1");
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`run ${runId} shard 1/2 of wave 1 (resumed, attempt 2): ok`);
    const res = JSON.parse(await readFile(join(shardPath(runId, "w1-1-of-2"), "results.json"), "utf8")) as RunResults;
    expect([res.status, res.resumes, res.failureBudget]).toEqual(["ok", 1, { failures: 0, haltsAt: 2 }]);
    expect(res.hosts.map((h) => [h.host, h.outcome, h.steps.map((s) => s.step)])).toEqual(cut[0]!.map((h) => [h, "changed", ["first", "second"]]));
    const records = await journalOf(journal);
    const outcomes = records.flatMap((r) => (r.type === "step-outcome" ? [`${r.host}/${r.result.step}`] : []));
    expect(outcomes.sort()).toEqual(cut[0]!.flatMap((h) => [`${h}/first`, `${h}/second`]).sort());
    expect(records.filter((r) => r.type === "run-end").map((r) => r.type === "run-end" && r.status)).toEqual(["halted:signal", "ok"]);
    for (const host of cut.flat()) {
      expect(await runsOn(host, "stop-first-runs"), host).toBe(1);
      expect(await runsOn(host, "stop-second-runs"), host).toBe(1);
    }
    const merged = await steward("results", "merge", runId);
    expect(merged.code, merged.stdout + merged.stderr).toBe(0);
    const verify = await steward("audit", "verify");
    expect(verify.code, verify.stdout).toBe(0);
  }, 180_000);

  it("a torn last journal line is named on standard error by the resume and the merge (a shard's and a whole run's)", async () => {
    const plan = await planned("torn");
    const runId = `${idOf(plan)}-sharded`;
    const journal = join(shardPath(runId, "w1-1-of-1"), "journal.jsonl");
    const running = start(state.dir, "apply", plan, "--shard", "1/1", "--wave", "1");
    await waitJournal(async () => journal, running, (records) => intents(records, "nap").length === 1);
    await kill9(running);
    const whole = (await journalOf(journal)).length;
    await appendFile(journal, TORN);
    const line = whole + 1;

    const early = await steward("results", "merge", runId);
    expect(early.code).toBe(5);
    expect(early.stderr).toContain(`its last line, line ${line}, is torn (${TORN.length} byte(s) its runner was writing when it was killed)`);
    const resumed = await steward("apply", plan, "--resume", runId, "--shard", "1/1", "--wave", "1");
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`steward apply: note: runs/${runId}/shards/w1-1-of-1/journal.jsonl line ${line} was torn: ${TORN.length} byte(s) without a line end`);
    expect(resumed.stderr).toContain(`this resume cut it off, and line ${line} is now this resume's run-resume record`);
    expect(await runsOn("sandbox-04", "torn-runs")).toBe(1);
    const merged = await steward("results", "merge", runId);
    expect(merged.code, merged.stdout + merged.stderr).toBe(0);
    expect(merged.stderr).toContain(`steward results: note: runs/${runId}/shards/w1-1-of-1/journal.jsonl line ${line} was torn: its runner was killed while writing it (${TORN.length} byte(s))`);
    expect(merged.stderr).toContain(`cut it off and wrote its run-resume record as line ${line}`);

    // One runner: the same note on its resume.
    const one = await planned("tornone");
    const runs = join(state.dir, "runs");
    const mine = async (): Promise<string | null> => {
      const d = (await readdir(runs)).find((n) => n.startsWith("tornone-"));
      return d === undefined ? null : join(runs, d, "journal.jsonl");
    };
    const whole1 = start(state.dir, "apply", one);
    await waitJournal(mine, whole1, (records) => intents(records, "nap").length === 1);
    await kill9(whole1);
    const path = (await mine())!;
    const n = (await journalOf(path)).length + 1;
    await appendFile(path, TORN);
    const id = /runs\/([^/]+)\/journal\.jsonl$/.exec(path)![1]!;
    const again = await steward("apply", one, "--resume", id);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stderr).toContain(`steward apply: note: runs/${id}/journal.jsonl line ${n} was torn: ${TORN.length} byte(s) without a line end`);
    expect(await runsOn("sandbox-03", "tornone-runs")).toBe(1);
  }, 180_000);

  it("a deleted shard folder is named by what records the shard, or honestly as unrecorded, and never applied afresh over its lock", async () => {
    const plan = await planned("gone");
    const runId = `${idOf(plan)}-sharded`;
    const cut = await cutOf(plan, 0, 2);
    const two = await Promise.all([1, 2].map((i) => steward("apply", plan, "--shard", `${i}/2`, "--wave", "1")));
    expect(two.map((r) => r.code), two.map((r) => r.stderr).join("\n")).toEqual([0, 0]);
    // A copy in git, for the commit that still holds the shard's files.
    const repo = await mkdtemp(join(tmpdir(), "steward-shard-gaps-git-"));
    extra.push(repo);
    await cp(join(state.dir, "runs"), join(repo, "runs"), { recursive: true });
    await cp(join(state.dir, "plans"), join(repo, "plans"), { recursive: true });
    const git = (...args: string[]) => run("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args], { cwd: repo });
    await git("init", "-q");
    await git("add", "-A");
    await git("commit", "-q", "-m", "the run so far");
    const sha = (await git("rev-parse", "HEAD")).stdout.trim();

    // Nothing else records it: said so, never "never started".
    const folder = shardPath(runId, "w1-2-of-2");
    await rm(folder, { recursive: true });
    let merged = await steward("results", "merge", runId);
    expect(merged.code).toBe(5);
    expect(merged.stderr).toContain(`missing shard(s) 2/2 (runs/${runId}/shards/w1-2-of-2/): shard 2/2's folder does not exist, and nothing else records whether the shard started`);
    expect(merged.stderr).toContain("a folder that was deleted (or not gathered from its runner) and a shard that never ran look the same");
    expect(merged.stderr).not.toContain("never started");
    let resumed = await steward("apply", plan, "--resume", runId, "--shard", "2/2", "--wave", "1");
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain("journal.jsonl does not exist, and nothing else records whether the shard started");
    expect(resumed.stderr).toContain(`if it never ran, apply it: steward apply ${plan} --shard 2/2 --wave 1`);
    expect(resumed.stderr).not.toContain("never started");

    // Its lock left behind by a killed runner records that it started.
    const runner = start(state.dir, "apply", plan, "--shard", "2/2", "--wave", "1");
    await waitJournal(async () => join(folder, "journal.jsonl"), runner, (records) => intents(records, "count").length === 1);
    const pid = runner.child.pid;
    await kill9(runner);
    await rm(folder, { recursive: true });
    const counts = await Promise.all(cut[1]!.map((h) => runsOn(h, "gone-runs")));
    merged = await steward("results", "merge", runId);
    expect(merged.code).toBe(5);
    expect(merged.stderr).toContain(`runs/locks/${idOf(plan)}.w1-2-of-2.lock was left by its runner (run ${runId}, pid ${pid} on `);
    expect(merged.stderr).toContain("the shard started, and its record is missing");
    const fresh = await steward("apply", plan, "--shard", "2/2", "--wave", "1");
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(5);
    expect(fresh.stderr).toContain(`shard 2/2 of wave 1 of run ${runId} is not applied afresh`);
    expect(fresh.stderr).toContain(`remove runs/locks/${idOf(plan)}.w1-2-of-2.lock and apply it: steward apply ${plan} --shard 2/2 --wave 1`);
    resumed = await steward("apply", plan, "--resume", runId, "--shard", "2/2", "--wave", "1");
    expect(resumed.code).toBe(5);
    expect(resumed.stderr).toContain("the shard started, and its record is missing");
    // Nothing ran a second time.
    expect(await Promise.all(cut[1]!.map((h) => runsOn(h, "gone-runs")))).toEqual(counts);

    // In git, the commit that holds its journal is named, and restoring from it merges.
    await rm(join(repo, "runs", runId, "shards", "w1-2-of-2"), { recursive: true });
    const inGit = await start(repo, "results", "merge", runId).exited;
    expect(inGit.code).toBe(5);
    expect(inGit.stderr).toContain(`commit ${sha} holds runs/${runId}/shards/w1-2-of-2/journal.jsonl`);
    expect(inGit.stderr).toContain(`restore runs/${runId}/shards/w1-2-of-2/ (git checkout ${sha} -- runs/${runId}/shards/w1-2-of-2/)`);
    await git("checkout", sha, "--", `runs/${runId}/shards/w1-2-of-2/`);
    const restored = await start(repo, "results", "merge", runId).exited;
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);

    // The way out the refusal gave: check the hosts, remove the lock, apply it again.
    await rm(join(state.dir, "runs", "locks", `${idOf(plan)}.w1-2-of-2.lock`), { recursive: true });
    const third = await steward("apply", plan, "--shard", "2/2", "--wave", "1");
    expect(third.code, third.stdout + third.stderr).toBe(0);
    merged = await steward("results", "merge", runId);
    expect(merged.code, merged.stdout + merged.stderr).toBe(0);

  }, 240_000);
  it("audit verify calls an empty shard folder empty, a note and no gap, unless its lock left behind says a shard ran there", async () => {
    const plan = await planned("empty");
    const runId = `${idOf(plan)}-sharded`;
    const two = await Promise.all([1, 2].map((i) => steward("apply", plan, "--shard", `${i}/2`, "--wave", "1")));
    expect(two.map((r) => r.code), two.map((r) => r.stderr).join("\n")).toEqual([0, 0]);
    const merged = await steward("results", "merge", runId);
    expect(merged.code, merged.stdout + merged.stderr).toBe(0);
    /** verify's findings about this run's shard folder `folder`. */
    const findings = async (folder: string): Promise<{ code: number | null; found: Array<{ severity: string; message: string }> }> => {
      const r = await steward("audit", "verify", "--format", "json");
      const all = (JSON.parse(r.stdout) as { findings: Array<{ severity: string; message: string; file?: string }> }).findings;
      return { code: r.code, found: all.filter((f) => f.file?.startsWith(`runs/${runId}/shards/${folder}`) === true) };
    };

    // An empty folder of the next wave: a note, not "applied but never merged".
    await mkdir(shardPath(runId, "w2-1-of-2"));
    let { code, found } = await findings("w2-1-of-2");
    expect(found.map((f) => f.severity), JSON.stringify(found)).toEqual(["note"]);
    expect(found[0]!.message).toContain(`runs/${runId}/shards/w2-1-of-2/ holds no journal record (it is empty, or its journal's first line never ended): an empty shard folder, where no shard ran`);
    expect(found[0]!.message).toContain("it records nothing applied, so it is no gap in the history");
    expect(found[0]!.message).toContain(`wave 2 is not merged yet: apply the shard into it (steward apply plans/${idOf(plan)}.json --shard 1/2 --wave 2)`);
    // An empty folder of a merged wave, of another cut: not part of the run.
    await mkdir(shardPath(runId, "w1-1-of-3"));
    found = (await findings("w1-1-of-3")).found;
    expect(found.map((f) => f.severity)).toEqual(["note"]);
    expect(found[0]!.message).toContain("wave 1 was merged from other shard folders, so this one is not part of the run: remove it");
    await rm(shardPath(runId, "w1-1-of-3"), { recursive: true });

    // The same folder with its shard's lock left behind: a shard ran there, and its record was removed.
    const lockDir = join(state.dir, "runs", "locks", `${idOf(plan)}.w2-1-of-2.lock`);
    await mkdir(lockDir);
    await writeFile(join(lockDir, "holder.json"), `${JSON.stringify({ pid: 999999, machine: "elsewhere", runId, planId: `${idOf(plan)}.w2-1-of-2`, startedAt: "2026-01-01T00:00:00.000Z" })}\n`);
    // Not refreshed for a minute: its holder is gone (a lock goes stale after 20 s).
    const past = new Date(Date.now() - 60_000);
    await utimes(lockDir, past, past);
    ({ code, found } = await findings("w2-1-of-2"));
    expect(code).toBe(5);
    expect(found.map((f) => f.severity)).toEqual(["error"]);
    expect(found[0]!.message).toContain(`runs/locks/${idOf(plan)}.w2-1-of-2.lock was left by its runner (run ${runId}, pid 999999 on elsewhere, since 2026-01-01T00:00:00.000Z)`);
    expect(found[0]!.message).toContain("the shard started, and its record is missing");
    await rm(lockDir, { recursive: true });
  }, 180_000);
});
