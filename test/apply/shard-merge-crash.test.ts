import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
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
 * `steward results merge` killed with SIGKILL (the real binary, bin/steward.js, in a
 * child process, on shards applied to 4 real sandbox hosts) at each point of its work:
 * holding its lock before it wrote anything, while it wrote the journal's temporary
 * file, after the journal was in place (in the gate's pause), and after results.json
 * and report.md while it waited for the audit log's lock (held by this test). Each kill
 * comes while the child is frozen (SIGSTOP), so the point is the one the files show.
 * The same command run again must end exactly as a merge never killed, run on a copy
 * of the same files: every record once, one shard-merge and one audit entry per wave,
 * the same verdict. The state an older merge left (half a wave appended, a torn line)
 * is merged too. And `--accept-stopped`: a wave with a shard stopped by SIGTERM, merged
 * as it stands, halts the run.
 */
const SUBNET = 132;
const PROJECT = resolve(import.meta.dirname, "../..");
const HOLD_LOCK = join(PROJECT, "test/apply/scripts/hold-lock.ts");

/** 16 steps of ~4 KB of output each: a journal large enough to be written for a while. */
const STEPS = Array.from({ length: 16 }, (_, i) => `  - kind: command
    name: s${String(i + 1).padStart(2, "0")}
    command: test ! -e /tmp/crash-fail && printf '%04000d' 0
`).join("");

const RUNBOOKS: Record<string, string> = {
  // Waves of 2 and 2 hosts, a pause after the gate; budget 0: the first failure halts.
  crash: `name: crash
targets: all
rollout:
  waves: [2, "100%"]
  failure_budget: 0
  gate:
    pause: 8s
steps:
${STEPS}`,
  stop: `name: stop
targets: all
rollout:
  waves: [2, "100%"]
steps:
  - kind: command
    name: nap
    command: sleep 4; touch /tmp/stop-ran
    creates: /tmp/stop-ran
`,
};

interface AuditLine {
  seq: number;
  type: string;
  runId: string;
  status: string;
  exitCode: number;
  outcomes: Record<string, number>;
  hostsDigest: string;
  startedAt: string;
}

describe("a merge killed at any point is completed by the same command", () => {
  let dir: string;
  let state: FleetState;
  const scratch: string[] = [];

  const start = startSteward;
  const steward = (...args: string[]): Promise<Ran> => runSteward(state.dir, ...args);
  const planned = (runbook: string): Promise<string> => planGathered(state.dir, runbook);
  const idOf = planIdOf;
  const records = async (root: string, runId: string): Promise<JournalRecord[]> => (await readJournal(join(root, "runs", runId, "journal.jsonl")).catch(() => ({ records: [] as JournalRecord[] }))).records;
  const audit = async (root: string, runId: string): Promise<AuditLine[]> => (await readFile(join(root, "runs", "audit.jsonl"), "utf8").catch(() => "")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as AuditLine).filter((e) => e.runId === runId);
  const exists = (path: string): Promise<boolean> => readFile(path).then(() => true, () => false);
  const leftovers = async (root: string, runId: string): Promise<string[]> => (await readdir(join(root, "runs", runId))).filter((n) => /^\.journal\.jsonl\..*\.tmp$/.test(n));

  /** Applies every shard of wave `wave` (1-based) of `plan` as `of` parallel runners. */
  async function applyWave(plan: string, wave: number, of: number): Promise<void> {
    const shards = await Promise.all(Array.from({ length: of }, (_, i) => steward("apply", plan, "--shard", `${i + 1}/${of}`, "--wave", String(wave))));
    for (const s of shards) expect([0, 1, 4], s.stdout + s.stderr).toContain(s.code);
  }

  /** A copy of what the merge reads (the plan, the run's folder, the audit log) in a fresh root. */
  async function copyRoot(plan: string, runId: string): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), "steward-merge-ref-"));
    scratch.push(root);
    await mkdir(join(root, "plans"));
    await cp(join(state.dir, plan), join(root, plan));
    await cp(join(state.dir, "runs", runId), join(root, "runs", runId), { recursive: true });
    if (await exists(join(state.dir, "runs", "audit.jsonl"))) await cp(join(state.dir, "runs", "audit.jsonl"), join(root, "runs", "audit.jsonl"));
    return root;
  }

  /** The same files merged, in a copy, by a merge nobody kills. */
  async function reference(plan: string, runId: string, ...args: string[]): Promise<{ root: string; ran: Ran }> {
    const root = await copyRoot(plan, runId);
    return { root, ran: await start(root, "results", "merge", runId, ...args).exited };
  }

  /** What must be the same after a merge killed and run again as after one never killed: the merge's own clock, pid and machine aside. */
  async function sameAsReference(ref: { root: string; ran: Ran }, runId: string, ran: Ran, root = state.dir): Promise<void> {
    expect(ran.code, ran.stdout + ran.stderr).toBe(ref.ran.code);
    const lines = (r: Ran): string[] => r.stdout.split("\n").filter((l) => !/^recorded in runs\/audit\.jsonl/.test(l));
    expect(lines(ran)).toEqual(lines(ref.ran));
    const own = new Set(["run-start", "shard-merge", "gate", "budget-trip", "pause", "run-end"]);
    const normal = (rs: JournalRecord[]): unknown[] =>
      rs.map((r) => {
        const { prev: _prev, ...x } = r as JournalRecord & { pid?: number; machine?: string; until?: string };
        const mine = own.has(r.type) || (r.type === "host-end" && r.result.startedAt === null);
        return { ...x, ...(mine ? { time: "" } : {}), ...("pid" in x ? { pid: 0, machine: "" } : {}), ...(r.type === "pause" ? { until: "" } : {}) };
      });
    const got = await records(root, runId);
    expect(normal(got)).toEqual(normal(await records(ref.root, runId)));
    // Every shard record once.
    const merges = got.filter((r) => r.type === "shard-merge");
    expect(merges.map((r) => r.type === "shard-merge" && r.wave)).toEqual(merges.map((_, k) => k));
    const results = async (root: string): Promise<Omit<RunResults, "finishedAt">> => {
      const { finishedAt: _f, ...rest } = JSON.parse(await readFile(join(root, "runs", runId, "results.json"), "utf8")) as RunResults;
      return rest;
    };
    expect(await results(root)).toEqual(await results(ref.root));
    const entries = (e: AuditLine[]): unknown[] => e.map((x) => [x.type, x.status, x.exitCode, x.outcomes, x.hostsDigest, x.startedAt]);
    const mine = await audit(root, runId);
    expect(entries(mine)).toEqual(entries(await audit(ref.root, runId)));
    expect(mine).toHaveLength(merges.length);
    expect(await leftovers(root, runId)).toEqual([]);
  }

  /**
   * Freezes the running merge (SIGSTOP, until /proc says it is stopped) every couple of
   * milliseconds and asks `point` what its files show; at the first answer kills it
   * (SIGKILL) while frozen, so the kill lands exactly where the files say.
   */
  async function killAt(running: Running, point: () => Promise<string | null>): Promise<string> {
    const pid = running.child.pid!;
    let exited = false;
    void running.exited.then(() => (exited = true));
    for (let i = 0; i < 30_000; i++) {
      if (exited) throw new Error(`the merge ended first:\n${(await running.exited).stdout}${(await running.exited).stderr}`);
      running.child.kill("SIGSTOP");
      for (let k = 0; k < 1000 && !exited; k++) {
        const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
        if (/^\d+ \(.*\) [TtZX]/s.test(stat) || stat === "") break;
      }
      const at = await point();
      if (at !== null) {
        running.child.kill("SIGKILL");
        expect((await running.exited).code).toBe(null);
        return at;
      }
      running.child.kill("SIGCONT");
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error("the merge never got there");
  }

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-merge-crash-")), "fleet");
    state = await upFleet({ dir, count: 4, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    for (const [name, text] of Object.entries(RUNBOOKS)) await writeFile(join(state.dir, "runbooks", `${name}.yaml`), text);
  }, 300_000);

  afterAll(async () => {
    for (const d of scratch) await rm(d, { recursive: true, force: true });
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("a merge killed before, while and after it writes the journal, and before its audit entry, ends as one never killed", async () => {
    const plan = await planned("crash");
    const runId = `${idOf(plan)}-sharded`;
    const parsed = parsePlan(await readFile(join(state.dir, plan), "utf8"), plan);
    const waves = parsed.rollout.waves.map((w) => w.hosts);
    expect(waves.map((w) => w.length)).toEqual([2, 2]);
    await execInHost(state, waves[1]![0]!, ["touch", "/tmp/crash-fail"]);
    const runDir = join(state.dir, "runs", runId);
    const lockDir = join(state.dir, "runs", "locks", `${runId}.merge.lock`);
    const merge = (...extra: string[]): Running => start(state.dir, "results", "merge", runId, "--wave", ...extra);

    // Wave 1, 2 shards; the merge never killed, on a copy, is what every re-run must end as.
    await applyWave(plan, 1, 2);
    const older = await Promise.all([0, 1, 2].map(() => copyRoot(plan, runId)));
    const ref1 = await reference(plan, runId, "--wave", "1");
    expect(ref1.ran.code, ref1.ran.stdout + ref1.ran.stderr).toBe(0);

    // What a merge of an older steward, which appended record by record, left when it
    // was killed: an empty journal, its run-start and a torn line, half the wave (the
    // "exists already … --resume" dead end). The same command merges the wave whole.
    const lines = (await readFile(join(ref1.root, "runs", runId, "journal.jsonl"), "utf8")).split("\n");
    const half = lines.findIndex((l) => l.includes('"type":"step-outcome"')) + 3;
    expect(lines.slice(0, half).some((l) => l.includes('"shard-merge"'))).toBe(false);
    const states = ["", `${lines[0]}\n{"seq":2,"time":"20`, `${lines.slice(0, half).join("\n")}\n`];
    for (const [k, root] of older.entries()) {
      await writeFile(join(root, "runs", runId, "journal.jsonl"), states[k]!);
      const ran = await start(root, "results", "merge", runId, "--wave", "1").exited;
      await sameAsReference(ref1, runId, ran, root);
      if (k > 0) expect(ran.stderr).toContain("written by a merge killed before it completed; nothing acted on them");
    }
    const points: string[] = [];

    // Killed holding its lock, before it wrote anything.
    points.push(await killAt(merge("1"), async () => ((await exists(join(lockDir, "holder.json"))) && !(await exists(join(runDir, "journal.jsonl"))) && (await leftovers(state.dir, runId)).length === 0 ? "before" : null)));
    expect(await exists(join(runDir, "journal.jsonl"))).toBe(false);
    // Killed while it wrote the journal's temporary file: nothing is in place yet.
    points.push(await killAt(merge("1"), async () => ((await leftovers(state.dir, runId)).length > 0 ? ((await exists(join(runDir, "journal.jsonl"))) ? "renamed" : "during") : null)));
    // Killed in the gate's pause: the journal holds the wave, nothing recorded it.
    if (points.at(-1) === "during") {
      expect(await exists(join(runDir, "journal.jsonl"))).toBe(false);
      points.push(await killAt(merge("1"), async () => ((await records(state.dir, runId)).some((r) => r.type === "pause") ? "pause" : null)));
    }
    expect((await records(state.dir, runId)).filter((r) => r.type === "shard-merge")).toHaveLength(1);
    expect(await audit(state.dir, runId)).toEqual([]);
    expect(await exists(join(runDir, "results.json"))).toBe(false);
    // verify names the state and the way on.
    const pending = await steward("audit", "verify");
    expect(pending.code).toBe(5);
    expect(pending.stdout).toContain(`runs/${runId}/ has no entry in runs/audit.jsonl: the merge of wave 1 of run ${runId} wrote runs/${runId}/journal.jsonl and was killed (or is still running) before it recorded its entry: run it again, which completes it (steward results merge ${runId} --wave 1)`);
    // The next wave is not the way on: the merge says what to do.
    const wrong = await steward("results", "merge", runId, "--wave", "2");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`the merge of wave 1 of run ${runId} was killed after it wrote runs/${runId}/journal.jsonl and before runs/audit.jsonl recorded it`);
    expect(wrong.stderr).toContain(`steward results merge ${runId} --wave 1`);
    const t0 = Date.now();
    const again = await merge("1").exited;
    await sameAsReference(ref1, runId, again);
    expect(again.stderr).toContain("so this merge completed it (results.json, report.md and its one audit entry)");
    // The pause ran from when the journal first held it: the completion waited only what was left.
    const pause = (await records(state.dir, runId)).find((r) => r.type === "pause");
    expect(pause?.type === "pause" && Date.now() >= Date.parse(pause.until)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(8_000 + 5_000);

    // Wave 2 (the last; one host fails, budget 0: the run halts), killed after results.json
    // and report.md while it waits for the audit log's lock, which this test holds.
    await applyWave(plan, 2, 2);
    const ref2 = await reference(plan, runId, "--wave", "2");
    expect(ref2.ran.code, ref2.ran.stdout + ref2.ran.stderr).toBe(4);
    expect(ref2.ran.stdout).toContain("halted:budget");
    const hold = spawn(process.execPath, ["--import", "tsx", HOLD_LOCK, join(state.dir, "runs"), "audit-log", runId], { cwd: PROJECT, stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((ok, fail) => {
      hold.stdout!.on("data", (c: Buffer) => (c.toString().includes("locked") ? ok() : fail(new Error(c.toString()))));
    });
    try {
      const report = join(runDir, "report.md");
      points.push(await killAt(merge("2"), async () => {
        const r = JSON.parse(await readFile(join(runDir, "results.json"), "utf8").catch(() => "{}")) as Partial<RunResults>;
        return r.status === "halted:budget" && (await readFile(report, "utf8").catch(() => "")).includes("halted:budget") ? "audit" : null;
      }));
    } finally {
      hold.kill("SIGKILL");
    }
    expect(await audit(state.dir, runId)).toHaveLength(1);
    const unrecorded = await steward("audit", "verify");
    expect(unrecorded.code).toBe(5);
    expect(unrecorded.stdout).toContain(`runs/${runId}/journal.jsonl changed after runs/audit.jsonl line`);
    expect(unrecorded.stdout).toContain(`bytes); the merge of wave 2 of run ${runId} wrote runs/${runId}/journal.jsonl and was killed (or is still running) before it recorded its entry: run it again, which completes it (steward results merge ${runId} --wave 2)`);
    const done = await merge("2").exited;
    await sameAsReference(ref2, runId, done);
    console.log(`merge killed at: ${points.join(", ")}`);
    expect(points).toEqual(expect.arrayContaining(["before", "audit"]));
    expect(points.includes("during") || points.includes("renamed")).toBe(true);

    // Killed after its entry: the same command says the run ended and writes nothing.
    const after = await merge("2").exited;
    expect(after.code).toBe(2);
    expect(after.stderr).toContain(`run ${runId} ended (halted:budget)`);
    expect(await audit(state.dir, runId)).toHaveLength(2);
    const verify = await steward("audit", "verify");
    expect(verify.code, verify.stdout).toBe(0);
  }, 420_000);

  it("--accept-stopped merges a wave with a shard stopped by SIGTERM as it stands: the run halts, later hosts not-started:signal, one audit entry", async () => {
    const plan = await planned("stop");
    const runId = `${idOf(plan)}-sharded`;
    const parsed = parsePlan(await readFile(join(state.dir, plan), "utf8"), plan);
    const cut = partitionWave(parsed, 0, 2);
    expect(cut.map((c) => c.length)).toEqual([1, 1]);
    const later = parsed.rollout.waves[1]!.hosts;
    expect(later).toHaveLength(2);
    const other = start(state.dir, "apply", plan, "--shard", "2/2", "--wave", "1");
    const victim = start(state.dir, "apply", plan, "--shard", "1/2", "--wave", "1");
    const shardJournal = join(state.dir, "runs", runId, "shards", "w1-1-of-2", "journal.jsonl");
    for (let i = 0; !(await readJournal(shardJournal).catch(() => null))?.records.some((r) => r.type === "step-intent"); i++) {
      if (i > 600) throw new Error("the shard never started its step");
      await new Promise((r) => setTimeout(r, 50));
    }
    victim.child.kill("SIGTERM");
    const stopped = await victim.exited;
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(4);
    expect(stopped.stdout).toContain(`run ${runId} shard 1/2 of wave 1: halted:signal`);
    expect((await other.exited).code).toBe(0);
    const shard = JSON.parse(await readFile(join(state.dir, "runs", runId, "shards", "w1-1-of-2", "results.json"), "utf8")) as RunResults;

    const refused = await steward("results", "merge", runId);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("stopped by SIGTERM at ");
    expect(await audit(state.dir, runId)).toEqual([]);

    const merged = await steward("results", "merge", runId, "--accept-stopped");
    expect(merged.code, merged.stdout + merged.stderr).toBe(4);
    expect(merged.stdout).toContain(`run ${runId} wave 1 merged from 2 shard(s): halted:signal (shard(s) 1/2 of wave 1 were stopped by a signal)`);
    expect(merged.stdout).toContain(`run ${runId} ended`);
    const results = JSON.parse(await readFile(join(state.dir, "runs", runId, "results.json"), "utf8")) as RunResults;
    expect([results.status, results.exitCode, results.halt?.reason]).toEqual(["halted:signal", 4, "signal"]);
    const outcome = Object.fromEntries(results.hosts.map((h) => [h.host, h.outcome]));
    expect(outcome).toEqual({ [cut[0]![0]!]: shard.hosts[0]!.outcome, [cut[1]![0]!]: "changed", [later[0]!]: "not-started:signal", [later[1]!]: "not-started:signal" });
    for (const h of results.hosts.filter((x) => later.includes(x.host))) expect(h.detail).toBe("shard(s) 1/2 of wave 1 were stopped by a signal");
    const journal = await records(state.dir, runId);
    expect(journal.filter((r) => r.type === "shard-merge")).toHaveLength(1);
    expect(journal.filter((r) => r.type === "run-end").map((r) => r.type === "run-end" && [r.status, r.halt])).toEqual([["halted:signal", "signal"]]);
    const entries = await audit(state.dir, runId);
    expect(entries.map((e) => [e.type, e.status, e.exitCode])).toEqual([["merge", "halted:signal", 4]]);
    for (const host of later) expect((await execInHost(state, host, ["test", "-e", "/tmp/stop-ran"])).code, host).not.toBe(0);

    // The run ended: no later wave is applied, and merging again writes nothing.
    const more = await steward("apply", plan, "--shard", "1/2", "--wave", "2");
    expect(more.code).toBe(2);
    expect(more.stderr).toContain("nothing is left to apply");
    const again = await steward("results", "merge", runId, "--accept-stopped");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`run ${runId} ended (halted:signal)`);
    expect(await audit(state.dir, runId)).toHaveLength(1);
    const verify = await steward("audit", "verify");
    expect(verify.code, verify.stdout).toBe(0);
  }, 180_000);
});
