import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJournal } from "../../src/apply/journal-replay.ts";
import type { RunResults } from "../../src/apply/results.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";

/**
 * `steward apply --shard i/n` as a matrix of runners would run it: the shards of a wave
 * as parallel child processes (bin/steward.js) on a fleet of 8 real sandbox hosts, then
 * `steward results merge`; the same plans applied by one runner on an identical fleet
 * must leave the same per-host outcomes, versions and budget verdict. Profiles
 * (src/sandbox/packages.ts): host i starts with profile i mod 4, so sandbox-01, -04,
 * -05 and -08 have a steward-lib upgrade within patch and minor updates.
 */
const SHARDED = 120;
const SINGLE = 121;
const PROJECT = resolve(import.meta.dirname, "../..");
const BIN = join(PROJECT, "bin/steward.js");

const RUNBOOKS: Record<string, string> = {
  // Versions: 4 hosts planned, waves of 1 and 3.
  lib: `name: lib
targets: all
rollout:
  waves: [1, "100%"]
  failure_budget: 1
policy:
  update_types: [patch, minor]
steps:
  - kind: packages
    name: upgrade
    action: upgrade
    packages: [steward-lib]
`,
  // The budget: waves of 2, 3 and 3 hosts; failure_budget 1 halts at the second failure.
  budget: `name: budget
targets: all
rollout:
  waves: [2, 5, "100%"]
  failure_budget: 1
steps:
  - kind: command
    name: work
    command: test ! -e /tmp/shard-fail && touch /tmp/budget-ran
`,
  touch: `name: touch
targets: all
steps:
  - kind: command
    name: mark
    command: touch /tmp/touch-ran
`,
};

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function steward(state: FleetState, ...args: string[]): Promise<Ran> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: state.dir, env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => void (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => void (stderr += c.toString()));
  return new Promise((done) => child.on("close", (code) => done({ code, stdout, stderr })));
}

async function planned(state: FleetState, runbook: string): Promise<string> {
  const r = await steward(state, "plan", runbook, "--gather");
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return /^wrote (\S+\.json)$/m.exec(r.stdout)![1]!;
}

const results = async (state: FleetState, runId: string): Promise<RunResults> => JSON.parse(await readFile(join(state.dir, "runs", runId, "results.json"), "utf8")) as RunResults;
const outcomes = (r: RunResults): Record<string, string> => Object.fromEntries(r.hosts.map((h) => [h.host, h.outcome]));
const HOSTS = Array.from({ length: 8 }, (_, i) => `sandbox-0${i + 1}`);

describe("sharded apply on the sandbox fleet, compared with one runner", () => {
  let dirs: string[] = [];
  let sharded: FleetState;
  let single: FleetState;

  beforeAll(async () => {
    const up = async (subnet: number): Promise<FleetState> => {
      const dir = join(await mkdtemp(join(tmpdir(), "steward-shard-")), "fleet");
      dirs.push(dir);
      const state = await upFleet({ dir, count: 8, subnet, hide: [PROJECT] });
      await mkdir(join(state.dir, "runbooks"), { recursive: true });
      for (const [name, text] of Object.entries(RUNBOOKS)) await writeFile(join(state.dir, "runbooks", `${name}.yaml`), text);
      return state;
    };
    sharded = await up(SHARDED);
    single = await up(SINGLE);
  }, 300_000);

  afterAll(async () => {
    for (const dir of dirs) {
      await downFleet(dir);
      await rm(dirname(dir), { recursive: true, force: true });
    }
    dirs = [];
  });

  /** The plan's waves: host names per wave, in start order. */
  const wavesOf = async (state: FleetState, plan: string): Promise<string[][]> => (JSON.parse(await readFile(join(state.dir, plan), "utf8")) as { rollout: { waves: Array<{ hosts: string[] }> } }).rollout.waves.map((w) => w.hosts);

  /** Every wave of `plan` as 3 shards in parallel processes, each followed by its merge. */
  async function applySharded(plan: string): Promise<{ runId: string; merges: Ran[] }> {
    const runId = `${plan.replace(/^plans\//, "").replace(/\.json$/, "")}-sharded`;
    const waves = (await wavesOf(sharded, plan)).length;
    const merges: Ran[] = [];
    for (let k = 1; k <= waves; k++) {
      const shards = await Promise.all([1, 2, 3].map((i) => steward(sharded, "apply", plan, "--shard", `${i}/3`, "--wave", String(k))));
      for (const s of shards) expect([0, 1, 4], s.stdout + s.stderr).toContain(s.code);
      const merged = await steward(sharded, "results", "merge", runId);
      merges.push(merged);
      if (merged.code !== 0 && merged.code !== 1) break;
    }
    return { runId, merges };
  }

  it("applies the same versions and outcomes as one runner, wave by wave", async () => {
    const plan = await planned(sharded, "lib");
    const other = await planned(single, "lib");
    expect(await wavesOf(single, other)).toEqual(await wavesOf(sharded, plan));
    const skipped = (JSON.parse(await readFile(join(sharded.dir, plan), "utf8")) as { skipped: unknown[] }).skipped;
    expect((await wavesOf(sharded, plan)).map((w) => w.length), JSON.stringify(skipped)).toEqual([1, 3]);
    const { runId, merges } = await applySharded(plan);
    expect(merges.map((m) => m.code), merges.map((m) => m.stdout + m.stderr).join("\n")).toEqual([0, 0]);
    expect(merges[1]!.stdout).toContain(`run ${runId} ended`);
    const one = await steward(single, "apply", other);
    expect(one.code, one.stderr).toBe(0);
    const a = await results(sharded, runId);
    const b = await results(single, /^run (\S+):/m.exec(one.stdout)![1]!);
    expect(a.status).toBe("ok");
    expect(outcomes(a)).toEqual(outcomes(b));
    expect(Object.keys(outcomes(a)).sort()).toEqual(["sandbox-01", "sandbox-04", "sandbox-05", "sandbox-08"]);
    for (const host of HOSTS) {
      const v = async (s: FleetState): Promise<string> => (await execInHost(s, host, ["dpkg-query", "-W", "-f=${Version}", "steward-lib"])).stdout;
      expect(await v(sharded), host).toBe(await v(single));
    }
    // The merged journal holds every host record of every shard exactly once.
    const merged = (await readJournal(join(sharded.dir, "runs", runId, "journal.jsonl"))).records;
    const copied = new Set(["host-start", "step-intent", "step-outcome", "host-end"]);
    const fromShards: string[] = [];
    for (const folder of await readdir(join(sharded.dir, "runs", runId, "shards"))) {
      for (const r of (await readJournal(join(sharded.dir, "runs", runId, "shards", folder, "journal.jsonl"))).records) if (copied.has(r.type)) fromShards.push(JSON.stringify({ ...r, seq: 0, prev: "" }));
    }
    const inMerged = merged.filter((r) => copied.has(r.type)).map((r) => JSON.stringify({ ...r, seq: 0, prev: "" }));
    expect(inMerged.sort()).toEqual(fromShards.sort());
    expect(merged.filter((r) => r.type === "shard-merge").map((r) => r.type === "shard-merge" && r.of)).toEqual([3, 3]);
  }, 300_000);

  it("trips the cumulative budget exactly as one runner does when failures fall in different shards", async () => {
    // The first and last host of wave 2 fail. Wave 2 has 3 hosts, one per shard, whose
    // shares of the remaining budget of 1 are 1, 0 and 0: shard 1 may fail once, shard 3
    // halts at its failure, and the merge counts 2 failures: the budget trips.
    const plan = await planned(sharded, "budget");
    const other = await planned(single, "budget");
    const waves = await wavesOf(sharded, plan);
    expect(await wavesOf(single, other)).toEqual(waves);
    expect(waves.map((w) => w.length)).toEqual([2, 3, 3]);
    const failing = [waves[1]![0]!, waves[1]![2]!];
    for (const state of [sharded, single]) for (const host of failing) await execInHost(state, host, ["touch", "/tmp/shard-fail"]);
    const { runId, merges } = await applySharded(plan);
    expect(merges.map((m) => m.code), merges.map((m) => m.stdout + m.stderr).join("\n")).toEqual([0, 4]);
    expect(merges[1]!.stdout).toMatch(/halted:budget/);
    const one = await steward(single, "apply", other);
    expect(one.code, one.stdout + one.stderr).toBe(4);
    const a = await results(sharded, runId);
    const b = await results(single, /^run (\S+):/m.exec(one.stdout)![1]!);
    expect(outcomes(a)).toEqual(outcomes(b));
    const expected: Record<string, string> = {};
    for (const h of waves[0]!) expected[h] = "changed";
    for (const h of waves[1]!) expected[h] = failing.includes(h) ? "failed" : "changed";
    for (const h of waves[2]!) expected[h] = "not-started:budget";
    expect(outcomes(a)).toEqual(expected);
    expect([a.status, a.exitCode, a.failureBudget]).toEqual([b.status, b.exitCode, b.failureBudget]);
    // Each shard ran with its share: the shares add up to the budget left (1).
    const shares = await Promise.all([1, 2, 3].map(async (i) => {
      const start = (await readJournal(join(sharded.dir, "runs", runId, "shards", `w2-${i}-of-3`, "journal.jsonl"))).records[0]!;
      return start.type === "run-start" ? start.shard?.allowed : undefined;
    }));
    expect(shares).toEqual([1, 0, 0]);
    // A halted run applies no further wave.
    const more = await steward(sharded, "apply", plan, "--shard", "1/3");
    expect(more.code).toBe(2);
    expect(more.stderr).toContain("nothing is left to apply");
    for (const host of waves[2]!) expect((await execInHost(sharded, host, ["test", "-e", "/tmp/budget-ran"])).code, host).not.toBe(0);
  }, 300_000);

  it("refuses a missing shard, a shard of another plan and a duplicated shard, naming each; audit verify holds afterwards", async () => {
    const plan = await planned(sharded, "touch");
    const runId = `${plan.replace(/^plans\//, "").replace(/\.json$/, "")}-sharded`;
    const bad = await steward(sharded, "apply", plan, "--shard", "4/3");
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain("--shard");
    const two = await Promise.all([1, 2].map((i) => steward(sharded, "apply", plan, "--shard", `${i}/3`)));
    expect(two.map((r) => r.code), two.map((r) => r.stderr).join("\n")).toEqual([0, 0]);
    let merged = await steward(sharded, "results", "merge", runId);
    expect(merged.code).toBe(5);
    expect(merged.stderr).toContain(`missing shard(s) 3/3 (runs/${runId}/shards/w1-3-of-3/)`);

    const shards = join(sharded.dir, "runs", runId, "shards");
    const runs = await readdir(join(sharded.dir, "runs"));
    const libRun = runs.find((d) => d.endsWith("-sharded") && d !== runId);
    expect(libRun, runs.join(" ")).toBeDefined();
    await cp(join(sharded.dir, "runs", libRun!, "shards", "w1-3-of-3"), join(shards, "w1-3-of-3"), { recursive: true });
    merged = await steward(sharded, "results", "merge", runId);
    expect(merged.code).toBe(5);
    expect(merged.stderr).toMatch(new RegExp(`runs/${runId}/shards/w1-3-of-3 applied plan \\S+ \\(digest [0-9a-f]{12}…\\), not plan touch-`));
    expect(merged.stderr).toContain("shards of different plans are never merged");

    await rm(join(shards, "w1-3-of-3"), { recursive: true });
    await cp(join(shards, "w1-1-of-3"), join(shards, "w1-3-of-3"), { recursive: true });
    merged = await steward(sharded, "results", "merge", runId);
    expect(merged.code).toBe(5);
    expect(merged.stderr).toContain(`runs/${runId}/shards/w1-3-of-3/journal.jsonl is the journal of shard 1/3 of wave 1, not of shard 3/3 of wave 1`);

    await rm(join(shards, "w1-3-of-3"), { recursive: true });
    // A shard of another cut of the wave is refused before it touches a host.
    const recut = await steward(sharded, "apply", plan, "--shard", "1/2", "--wave", "1");
    expect(recut.code).toBe(2);
    expect(recut.stderr).toContain(`wave 1 of run ${runId} is already cut into 3 shard(s)`);
    // A shard whose runner died (a journal, no results) is named as such, with the way out.
    await mkdir(join(shards, "w1-3-of-3"));
    await cp(join(shards, "w1-1-of-3", "journal.jsonl"), join(shards, "w1-3-of-3", "journal.jsonl"));
    const crashed = await steward(sharded, "apply", plan, "--shard", "3/3", "--wave", "1");
    expect(crashed.code).toBe(2);
    expect(crashed.stderr).toContain("started but never finished");
    expect(crashed.stderr).toContain(`continue it from its journal: steward apply ${plan} --resume ${runId} --shard 3/3 --wave 1`);
    await rm(join(shards, "w1-3-of-3"), { recursive: true });
    const third = await steward(sharded, "apply", plan, "--shard", "3/3", "--wave", "1");
    expect(third.code, third.stderr).toBe(0);
    merged = await steward(sharded, "results", "merge", runId, "--wave", "1");
    expect(merged.code, merged.stderr).toBe(0);
    expect((await results(sharded, runId)).counts.changed).toBe(8);

    let verify = await steward(sharded, "audit", "verify");
    expect(verify.code, verify.stdout).toBe(0);
    const log = (await readFile(join(sharded.dir, "runs", "audit.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { type: string; runId: string });
    expect(log.map((e) => e.type)).toEqual(["merge", "merge", "merge", "merge", "merge"]);

    // A shard's file changed after its merge is named by verify.
    const file = join(shards, "w1-2-of-3", "results.json");
    const original = await readFile(file, "utf8");
    await writeFile(file, `${original} `);
    verify = await steward(sharded, "audit", "verify");
    expect(verify.code).toBe(5);
    expect(verify.stdout).toContain(`runs/${runId}/shards/w1-2-of-3/results.json changed after it was merged`);
    await writeFile(file, original);
    expect((await steward(sharded, "audit", "verify")).code).toBe(0);
  }, 300_000);
});
