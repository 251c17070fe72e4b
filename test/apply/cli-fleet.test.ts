import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJournal } from "../../src/apply/journal-replay.ts";
import type { RunResults } from "../../src/apply/results.ts";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";

/**
 * `steward plan --gather` then `steward apply` through the CLI entry, on six real
 * sandbox hosts: what an engineer runs. Profiles (src/sandbox/packages.ts): sandbox-01
 * and -05 start with steward-lib 1.0.0, -04 with 1.0.1 (all three go to 1.1.0 with
 * patch and minor updates), -02 and -06 with 1.1.0 and -03 with 2.0.0 (nothing to do).
 * Every host has steward-broken 1.0.0, whose 1.0.1 fails in its postinst.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 229;
const PROJECT = resolve(import.meta.dirname, "../..");

const LIB = `name: lib
targets: all
rollout:
  waves: [1, "100%"]
  failure_budget: 1
policy:
  update_types: [patch, minor]
steps:
  - kind: check
    name: pre-flight
    checks:
      - type: disk
        mount: /
        max_used: "99%"
  - kind: packages
    name: upgrade
    action: upgrade
    packages: [steward-lib]
`;

const BROKEN = `name: broken
targets: all
rollout:
  waves: [1, "100%"]
  failure_budget: 0
policy:
  update_types: [patch, minor]
steps:
  - kind: packages
    name: upgrade
    action: upgrade
    packages: [steward-broken]
`;

const GATED = `name: gated
targets: all
rollout:
  waves: [1, "100%"]
  failure_budget: 5
  gate:
    checks:
      - type: command
        name: canary healthy
        command: test -e /tmp/canary-healthy
steps:
  - kind: command
    name: mark
    command: touch /tmp/gated-ran
`;

const conc = (name: string): string => `name: conc-${name}
targets: host:sandbox-02
steps:
  - kind: command
    name: work
    command: echo ${name}-start >> /tmp/conc.log; sleep 2; echo ${name}-end >> /tmp/conc.log
`;

const SECRET_RUNBOOK = `name: secret
targets: host:sandbox-01
vars:
  db_password: { env: DB_PASSWORD }
steps:
  - kind: command
    name: first
    command: touch /tmp/first-ran
  - kind: command
    name: uses the secret
    command: test -n {{vars.db_password}}
`;

// A host that prints the secret with an escape sequence inside it: the stream redactor
// sees "correct\x1b[1m horse battery", which is not the secret, and the tail drops the
// escape code, leaving the secret readable around one mark unless redacted again.
const SPLIT_SECRET_RUNBOOK = `name: split-secret
targets: host:sandbox-01
vars:
  db_password: { env: DB_PASSWORD }
steps:
  - kind: command
    name: leaks it split
    command: p={{vars.db_password}}; printf '%s\\033[1m%s\\n' "\${p%% *}" " \${p#* }"; printf '%s\\033[0m%s\\n' "\${p%% *}" " \${p#* }" >&2; exit 3
`;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

describe("steward plan, then steward apply, on the sandbox fleet", () => {
  let dir: string;
  let state: FleetState;

  async function steward(...args: string[]): Promise<Ran> {
    return stewardWith({}, ...args);
  }

  async function stewardWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Ran> {
    let stdout = "";
    let stderr = "";
    const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "", ...env }, cwd: state.dir };
    const code = await main(args, io);
    return { code, stdout, stderr };
  }

  async function planned(runbook: string): Promise<string> {
    const r = await steward("plan", runbook, "--gather");
    expect(r.code, r.stderr).toBe(0);
    return /^wrote (\S+\.json)$/m.exec(r.stdout)![1]!;
  }

  const results = async (stdout: string): Promise<RunResults> => JSON.parse(await readFile(join(state.dir, /^wrote (\S+results\.json)$/m.exec(stdout)![1]!), "utf8")) as RunResults;
  const version = async (host: string, pkg: string): Promise<string> => (await execInHost(state, host, ["dpkg-query", "-W", "-f=${Version}", pkg])).stdout;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-apply-cli-")), "fleet");
    state = await upFleet({ dir, count: 6, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    await writeFile(join(state.dir, "runbooks", "lib.yaml"), LIB);
    await writeFile(join(state.dir, "runbooks", "broken.yaml"), BROKEN);
    await writeFile(join(state.dir, "runbooks", "secret.yaml"), SECRET_RUNBOOK);
    await writeFile(join(state.dir, "runbooks", "gated.yaml"), GATED);
    await writeFile(join(state.dir, "runbooks", "split-secret.yaml"), SPLIT_SECRET_RUNBOOK);
    await writeFile(join(state.dir, "runbooks", "conc-a.yaml"), conc("a"));
    await writeFile(join(state.dir, "runbooks", "conc-b.yaml"), conc("b"));
  });

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("refuses a hand-edited plan and a runbook edited after planning, before touching a host", async () => {
    const file = await planned("lib");
    const text = await readFile(join(state.dir, file), "utf8");
    await writeFile(join(state.dir, "edited.json"), text.replace(/"to": "1\.1\.0"/, '"to": "2.0.0"'));
    const edited = await steward("apply", "edited.json");
    expect(edited.code).toBe(5);
    expect(edited.stderr).toMatch(/changed after it was written/);

    const original = await readFile(join(state.dir, "runbooks", "lib.yaml"), "utf8");
    await writeFile(join(state.dir, "runbooks", "lib.yaml"), original.replace('max_used: "99%"', 'max_used: "98%"'));
    try {
      const stale = await steward("apply", file);
      expect(stale.code).toBe(5);
      expect(stale.stderr).toContain("is stale: runbooks/lib.yaml changed");
    } finally {
      await writeFile(join(state.dir, "runbooks", "lib.yaml"), original);
    }
    const nosuch = await steward("apply", file, "--resume", "lib-20261130T000000Z-dead");
    expect(nosuch.code).toBe(2);
    expect(nosuch.stderr).toContain("there is no run lib-20261130T000000Z-dead to resume");
    expect(await version("sandbox-01", "steward-lib")).toBe("1.0.0");
    expect(await readdir(join(state.dir, "runs")).catch(() => [])).not.toContainEqual(expect.stringMatching(/^lib-/));
  });

  it("applies a clean upgrade in waves: versions on the hosts, a complete journal, results and report", async () => {
    const file = await planned("lib");
    const r = await steward("apply", file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wave 1: 1 host\(s\)/);
    expect(r.stdout).toMatch(/wave 2: 2 host\(s\)/);
    for (const host of ["sandbox-01", "sandbox-04", "sandbox-05"]) expect(await version(host, "steward-lib")).toBe("1.1.0");
    expect(await version("sandbox-03", "steward-lib")).toBe("2.0.0");

    const res = await results(r.stdout);
    expect(res.status).toBe("ok");
    expect(res.counts.changed).toBe(3);
    const upgrade = res.hosts.find((h) => h.host === "sandbox-04")!.steps.find((s) => s.kind === "packages")!;
    expect(upgrade.packages).toEqual([expect.objectContaining({ name: "steward-lib", from: "1.0.1", to: "1.1.0" })]);

    const runDir = join(state.dir, "runs", res.runId);
    const { records, tornBytes } = await readJournal(join(runDir, "journal.jsonl"));
    expect(tornBytes).toBe(0);
    const types = records.map((rec) => rec.type);
    expect(types[0]).toBe("run-start");
    expect(types.at(-1)).toBe("run-end");
    // An intent before every outcome, one of each per host and step.
    expect(types.filter((t) => t === "step-intent")).toHaveLength(6);
    expect(types.filter((t) => t === "step-outcome")).toHaveLength(6);
    const report = await readFile(join(runDir, "report.md"), "utf8");
    expect(report).toContain("| Status | ok (exit 0) |");
    expect(report).not.toContain("Post-incident");
  });

  it("halts when the failure budget is spent: later waves untouched, a post-incident report", async () => {
    const file = await planned("broken");
    const r = await steward("apply", file);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    const res = await results(r.stdout);
    expect(res.status).toBe("halted:budget");
    expect(res.counts.failed).toBe(1);
    expect(res.counts["not-started:budget"]).toBe(5);
    // The halt, the summary and the report count the failures the same way.
    expect(r.stdout).toContain("halted:budget (the failure budget is exhausted: 1 host(s) counted against the failure budget (1 failed), 0 allowed; it halts at 1)");
    expect(r.stdout).toContain("  hosts: 1 failed, 5 not-started:budget\n  1 host(s) counted against the failure budget (1 failed); the rollout halts at 1\n");
    const failed = res.hosts.find((h) => h.outcome === "failed")!;
    expect(failed.detail).toMatch(/dpkg --configure -a/);
    for (const h of res.hosts.filter((x) => x.outcome === "not-started:budget")) expect(await version(h.host, "steward-broken")).toBe("1.0.0");
    const report = await readFile(join(state.dir, "runs", res.runId, "report.md"), "utf8");
    expect(report).toContain("## Post-incident");
    expect(report).toContain("| Failure budget | 1 host(s) counted against the failure budget (1 failed); the rollout halts at 1 |");
    expect(report).toMatch(/failure budget tripped at sandbox-0\d/);
    expect(report).toContain(`--resume ${res.runId}`);
  });

  it("refuses before touching any host when a secret a step reads is not set, naming it", async () => {
    const r0 = await stewardWith({ DB_PASSWORD: "correct horse battery" }, "plan", "secret", "--gather");
    expect(r0.code, r0.stderr).toBe(0);
    const file = /^wrote (\S+\.json)$/m.exec(r0.stdout)![1]!;
    const r = await steward("apply", file);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("step 'uses the secret' reads `vars.db_password`, which is { env: DB_PASSWORD }, but DB_PASSWORD is not set in the environment; nothing was applied");
    expect((await execInHost(state, "sandbox-01", ["test", "-e", "/tmp/first-ran"])).code).not.toBe(0);
  });

  it("redacts a secret the host split with an escape sequence, in results, journal and report", async () => {
    const env = { DB_PASSWORD: "correct horse battery" };
    const r0 = await stewardWith(env, "plan", "split-secret", "--gather");
    expect(r0.code, r0.stderr).toBe(0);
    const r = await stewardWith(env, "apply", /^wrote (\S+\.json)$/m.exec(r0.stdout)![1]!);
    expect(r.code, r.stderr).toBe(4);
    const res = await results(r.stdout);
    const step = res.hosts.find((h) => h.host === "sandbox-01")!.steps[0]!;
    expect(step.exitCode).toBe(3);
    expect(step.stdoutTail).toContain("***");
    expect(step.stderrTail).toContain("***");
    const runDir = join(state.dir, "runs", res.runId);
    for (const file of ["results.json", "journal.jsonl", "report.md"]) {
      const text = await readFile(join(runDir, file), "utf8");
      expect(text, file).not.toMatch(/correct.{0,12}horse battery/su);
    }
    expect(r.stdout + r.stderr).not.toMatch(/correct.{0,12}horse battery/su);
  });

  it("runs the gate's checks on the finished wave's hosts: a failing gate halts before the next wave", async () => {
    const file = await planned("gated");
    const r = await steward("apply", file);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout).toMatch(/gate after wave 1: FAILED: sandbox-0\d: /);
    const res = await results(r.stdout);
    expect(res.status).toBe("halted:gate");
    expect(res.counts.changed).toBe(1);
    expect(res.counts["not-started:budget"]).toBe(5);
    const ran = await Promise.all(res.hosts.map(async (h) => (await execInHost(state, h.host, ["test", "-e", "/tmp/gated-ran"])).code === 0));
    expect(ran.filter(Boolean)).toHaveLength(1);
  });

  it("two runs of different plans on one host take turns: never both changing it at once", async () => {
    const [a, b] = [await planned("conc-a"), await planned("conc-b")];
    const [ra, rb] = await Promise.all([steward("apply", a), steward("apply", b)]);
    expect([ra.code, rb.code], ra.stdout + ra.stderr + rb.stdout + rb.stderr).toEqual([0, 0]);
    const log = (await execInHost(state, "sandbox-02", ["cat", "/tmp/conc.log"])).stdout.trim().split("\n");
    expect(log).toHaveLength(4);
    // Each run's start is followed by its own end: the second waited for the first.
    expect(log[0]!.replace("-start", "-end")).toBe(log[1]);
    expect(log[2]!.replace("-start", "-end")).toBe(log[3]);
    expect(await readdir(join(state.dir, "runs", "locks"))).toEqual([]);
    // The one that waited said so, naming the other run, and journaled it.
    const [resA, resB] = [await results(ra.stdout), await results(rb.stdout)];
    const waits = await Promise.all([resA, resB].map(async (res) => (await readJournal(join(state.dir, "runs", res.runId, "journal.jsonl"))).records.filter((x) => x.type === "host-wait")));
    expect(waits.map((w) => w.length).sort()).toEqual([0, 1]);
    const [waiter, holder] = waits[0]!.length === 1 ? [ra, resB] : [rb, resA];
    const wait = waits.flat()[0]!;
    expect(wait).toMatchObject({ type: "host-wait", host: "sandbox-02", holder: { runId: holder.runId, pid: process.pid } });
    expect(waiter.stdout).toContain(`sandbox-02: waiting for the host lock held by run ${holder.runId} (pid ${process.pid} on `);
  });
});
