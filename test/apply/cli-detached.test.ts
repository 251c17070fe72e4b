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
 * `kill -9` of steward while apt runs: the real binary in a child process, real sandbox
 * hosts. apt is held mid-step by dpkg's lock (sandbox fault `dpkg-lock`), steward is
 * killed, then the lock is released: the transaction must go on and finish on the host
 * with no steward running, and `--resume` must record it as done without running it
 * again. Profiles (src/sandbox/packages.ts): sandbox-01 starts with steward-lib 1.0.0.
 */

// Own subnet: every fleet needs its own addresses.
const SUBNET = 162;
const PROJECT = resolve(import.meta.dirname, "../..");
const BIN = join(PROJECT, "bin/steward.js");

const runbook = (name: string): string => `name: ${name}
targets: sandbox-01
policy:
  update_types: [patch, minor]
steps:
  - kind: packages
    name: upgrade
    action: upgrade
    packages: [steward-lib]
    lock_timeout: 120
`;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("a package transaction outlives steward", () => {
  let dir: string;
  let state: FleetState;

  function start(...args: string[]): { child: ChildProcess; exited: Promise<Ran> } {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: state.dir, env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => void (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => void (stderr += c.toString()));
    return { child, exited: new Promise((done) => child.on("close", (code) => done({ code, stdout, stderr }))) };
  }
  const sh = (script: string) => execInHost(state, "sandbox-01", ["sh", "-c", script]);
  const until = async (what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const journal = async (name = "survive"): Promise<{ runId: string; records: JournalRecord[] }> => {
    const runs = (await readdir(join(state.dir, "runs")).catch(() => [] as string[])).filter((d) => d.startsWith(`${name}-`));
    if (runs.length !== 1) return { runId: "", records: [] };
    return { runId: runs[0]!, records: (await readJournal(join(state.dir, "runs", runs[0]!, "journal.jsonl")).catch(() => ({ records: [] as JournalRecord[] }))).records };
  };
  /** apt-get of the transaction (it alone passes DPkg::Lock::Timeout) is running inside the host. */
  const aptRunning = async (): Promise<boolean> => (await sh("ps -eo args | grep -q '^apt-get .*Lock::Timeout'")).code === 0;
  const version = async (): Promise<string> => (await sh("dpkg-query -W -f='${Version} ${db:Status-Abbrev}' steward-lib")).stdout.trim();

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-apply-detached-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    await writeFile(join(state.dir, "runbooks", "survive.yaml"), runbook("survive"));
    await writeFile(join(state.dir, "runbooks", "followed.yaml"), runbook("followed"));
    await writeFile(join(state.dir, "runbooks", "slow.yaml"), `${runbook("slow")}    timeout: 6s\n`);
  }, 180_000);

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("kill -9 mid-upgrade: the upgrade completes on the host anyway, and --resume records it as done without running it twice", async () => {
    const planned = await start("plan", "survive", "--gather").exited;
    expect(planned.code, planned.stdout + planned.stderr).toBe(0);
    const plan = /^wrote (\S+\.json)$/m.exec(planned.stdout)![1]!;
    await injectFault(state, "sandbox-01", "dpkg-lock");
    let healed = false;
    try {
      const running = start("apply", plan);
      await until("the package step's intent", async () => (await journal()).records.some((r) => r.type === "step-intent" && r.step === "upgrade"));
      await until("apt waiting for dpkg's lock on the host", aptRunning);
      const { runId, records: before } = await journal();
      const intent = before.find((r) => r.type === "step-intent");
      const job = intent?.type === "step-intent" ? intent.evidence?.job : undefined;
      expect(job).toMatch(/^tx-\d{8}T\d{6}Z-[0-9a-f]{12}$/);

      running.child.kill("SIGKILL");
      expect((await running.exited).code).toBe(null);
      // steward is gone; its transaction is not.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await aptRunning()).toBe(true);
      expect(await version()).toBe("1.0.0 ii");

      expect(await healFault(state, "sandbox-01", "dpkg-lock")).toEqual([]);
      healed = true;
      await until("the job's exit status", async () => (await sh(`cat /var/lib/steward/jobs/${String(job)}/exit`)).stdout.trim() === "0");
      expect(await version()).toBe("1.1.0 ii");
      // The job's folder is root's alone.
      expect((await sh("stat -c '%a %U' /var/lib/steward /var/lib/steward/jobs")).stdout.trim().split("\n")).toEqual(["700 root", "700 root"]);

      const resumed = await start("apply", plan, "--resume", runId).exited;
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      const results = JSON.parse(await readFile(join(state.dir, "runs", runId, "results.json"), "utf8")) as RunResults;
      const host = results.hosts[0]!;
      expect(host.outcome).toBe("changed");
      expect(host.steps.map((s) => [s.step, s.outcome])).toEqual([["upgrade", "changed"]]);
      expect(host.steps[0]!.detail).toMatch(/the host shows it took effect, so it is not run again/);

      // Nothing ran twice: one intent, one outcome, one job, one upgrade in dpkg's log.
      const { records } = await journal();
      expect(records.filter((r) => r.type === "step-intent")).toHaveLength(1);
      expect(records.filter((r) => r.type === "step-outcome")).toHaveLength(1);
      expect(records.filter((r) => r.type === "run-resume")).toHaveLength(1);
      expect((await sh("ls /var/lib/steward/jobs")).stdout.trim().split("\n")).toEqual([job]);
      expect((await sh("grep -c ' upgrade steward-lib:all 1.0.0 1.1.0' /var/log/dpkg.log")).stdout.trim()).toBe("1");
    } finally {
      if (!healed) await healFault(state, "sandbox-01", "dpkg-lock");
    }
  }, 180_000);

  it("a resume while the killed run's transaction still runs waits for it, then records it: no second transaction", async () => {
    expect((await sh("dpkg -i /srv/steward-apt/steward-lib_1.0.0_all.deb >/dev/null")).code).toBe(0);
    const planned = await start("plan", "followed", "--gather").exited;
    expect(planned.code, planned.stdout + planned.stderr).toBe(0);
    const plan = /^wrote (\S+\.json)$/m.exec(planned.stdout)![1]!;
    const jobsBefore = (await sh("ls /var/lib/steward/jobs")).stdout.trim().split("\n");
    await injectFault(state, "sandbox-01", "dpkg-lock");
    let healed = false;
    try {
      const running = start("apply", plan);
      await until("the package step's intent", async () => (await journal("followed")).records.some((r) => r.type === "step-intent"));
      await until("apt waiting for dpkg's lock on the host", aptRunning);
      running.child.kill("SIGKILL");
      await running.exited;
      const { runId } = await journal("followed");
      // Resumed at once: the transaction is still waiting for the lock on the host.
      const resuming = start("apply", plan, "--resume", runId);
      await until("the resume", async () => (await journal("followed")).records.some((r) => r.type === "run-resume"));
      await new Promise((r) => setTimeout(r, 1500));
      expect(await aptRunning()).toBe(true);
      expect(await healFault(state, "sandbox-01", "dpkg-lock")).toEqual([]);
      healed = true;
      const resumed = await resuming.exited;
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      const results = JSON.parse(await readFile(join(state.dir, "runs", runId, "results.json"), "utf8")) as RunResults;
      expect(results.hosts[0]!.steps.map((s) => [s.step, s.outcome])).toEqual([["upgrade", "changed"]]);
      expect(await version()).toBe("1.1.0 ii");
      const jobs = (await sh("ls /var/lib/steward/jobs")).stdout.trim().split("\n");
      expect(jobs.filter((j) => !jobsBefore.includes(j))).toHaveLength(1);
      const { records } = await journal("followed");
      expect(records.filter((r) => r.type === "step-intent")).toHaveLength(1);
      expect(records.filter((r) => r.type === "step-outcome")).toHaveLength(1);
    } finally {
      if (!healed) await healFault(state, "sandbox-01", "dpkg-lock");
    }
  }, 180_000);

  it("a transaction still running at the step's timeout fails the step naming its job, and is left to finish, not killed", async () => {
    expect((await sh("dpkg -i /srv/steward-apt/steward-lib_1.0.0_all.deb >/dev/null")).code).toBe(0);
    const planned = await start("plan", "slow", "--gather").exited;
    expect(planned.code, planned.stdout + planned.stderr).toBe(0);
    const plan = /^wrote (\S+\.json)$/m.exec(planned.stdout)![1]!;
    await injectFault(state, "sandbox-01", "dpkg-lock");
    let healed = false;
    try {
      const t0 = Date.now();
      const r = await start("apply", plan).exited;
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(r.code, r.stdout + r.stderr).toBe(4);
      const { runId } = await journal("slow");
      const host = (JSON.parse(await readFile(join(state.dir, "runs", runId, "results.json"), "utf8")) as RunResults).hosts[0]!;
      expect(host.outcome).toBe("failed");
      const job = /as job (tx-\S+) /.exec(host.detail)?.[1];
      expect(host.detail).toMatch(/the apt transaction was still running after the step's timeout; it goes on on the host, detached, as job tx-\S+ \(\/var\/lib\/steward\/jobs\/tx-\S+\/exit will hold its exit status\)/);
      expect(await aptRunning()).toBe(true);
      expect(await healFault(state, "sandbox-01", "dpkg-lock")).toEqual([]);
      healed = true;
      await until("the job's exit status", async () => (await sh(`cat /var/lib/steward/jobs/${String(job)}/exit`)).stdout.trim() === "0");
      expect(await version()).toBe("1.1.0 ii");
    } finally {
      if (!healed) await healFault(state, "sandbox-01", "dpkg-lock");
    }
  }, 180_000);
});
