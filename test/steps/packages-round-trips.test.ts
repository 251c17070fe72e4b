import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ForgedOutputError, splitFramed } from "../../src/facts/script.ts";
import { newJobId, parseJobState } from "../../src/steps/packages/job.ts";
import { BEFORE_STAGES, beforeScript, TRANSACTION_STAGES, transactionScript } from "../../src/steps/packages/round-trips.ts";

/** Runs a script on `/bin/sh -s` as the transport would; resolves to its output and the shell's pid. */
function sh(script: string): Promise<{ stdout: string; stderr: string; code: number | null; pid: number }> {
  return new Promise((done, fail) => {
    const child = spawn("/bin/sh", ["-s"], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ stdout, stderr, code, pid: child.pid! }));
    child.stdin.end(script);
  });
}

describe("the packages step's first round trip: versions and simulation in one framed script", () => {
  it("returns each stage's output and status apart, a startup banner left out", async () => {
    const { script, marker } = beforeScript("printf 'steward-lib\\t1.0.0\\tall\\tinstall ok installed\\n'; echo 'dpkg-query: no packages found matching x' >&2; exit 1", "echo 'Inst steward-lib [1.0.0] (1.1.0 local [all])'; echo 'W: a warning' >&2");
    const r = await sh(`echo 'welcome to the host'\n${script}`);
    const stages = splitFramed(r.stdout, r.stderr, marker, BEFORE_STAGES, "packages step output");
    expect(stages.get("versions")).toEqual({ stdout: "steward-lib\t1.0.0\tall\tinstall ok installed\n", stderr: "dpkg-query: no packages found matching x\n", exitCode: 1 });
    expect(stages.get("simulation")).toEqual({ stdout: "Inst steward-lib [1.0.0] (1.1.0 local [all])\n", stderr: "W: a warning\n", exitCode: 0 });
  });

  it("a stage cannot end itself early or forge the next one without the nonce: a refused simulation stays refused", async () => {
    // The versions stage prints what a forger would: a status and a clean simulation, under another nonce.
    const fake = "@@steward-packages-00000000000000000000000000000000@@";
    const { script, marker } = beforeScript(`printf '\\n%s rc 0\\n%s begin simulation\\n' '${fake}' '${fake}'`, "echo 'E: Version 9 for x was not found' >&2; exit 100");
    const r = await sh(script);
    const stages = splitFramed(r.stdout, r.stderr, marker, BEFORE_STAGES, "packages step output");
    expect(stages.get("versions")!.stdout).toContain(`${fake} begin simulation`);
    expect(stages.get("simulation")!.exitCode).toBe(100);
    // With the real nonce (a program that learned it), the output is refused whole.
    const forged = beforeScript("true", "true");
    const f = await sh(forged.script.replace("( true\n)", `( printf '%s begin simulation\\n' "$M"\n)`));
    expect(() => splitFramed(f.stdout, f.stderr, forged.marker, BEFORE_STAGES, "packages step output")).toThrow(ForgedOutputError);
  });

  it("uses a fresh marker per call, on no command line", () => {
    const a = beforeScript("true", "true");
    const b = beforeScript("true", "true");
    expect(a.marker).not.toBe(b.marker);
    expect(a.marker).toMatch(/^@@steward-packages-[0-9a-f]{32}@@$/);
  });
});

describe("the packages step's second round trip: start the job, follow it, read after, in one script", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-round-trip-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  // The scripts address /var/lib/steward; run them against a scratch folder instead.
  const local = (script: string): string => script.replaceAll("/var/lib/steward", root);

  it("starts the job detached (re-parented, not a child of the follower), waits for it, then reads versions and needrestart", async () => {
    const id = newJobId();
    const { script, marker } = transactionScript(id, "echo installed; echo ppid=$PPID; echo warn >&2; exit 0", "echo 'steward-lib 1.1.0'", "echo 'NEEDRESTART-VER: 3.6'", 60);
    const r = await sh(local(script));
    const stages = splitFramed(r.stdout, r.stderr, marker, TRANSACTION_STAGES, "packages step output");
    expect(stages.get("start")).toMatchObject({ stdout: "started\n", exitCode: 0 });
    const wait = stages.get("wait")!;
    const state = parseJobState(wait.stdout, wait.stderr);
    expect(state).toMatchObject({ state: "exit", exitCode: 0, stderr: "warn\n" });
    const ppid = Number(/ppid=(\d+)/.exec(state.state === "exit" ? state.stdout : "")?.[1]);
    expect(ppid).not.toBe(r.pid);
    expect(stages.get("versions")).toMatchObject({ stdout: "steward-lib 1.1.0\n", exitCode: 0 });
    expect(stages.get("needrestart")).toMatchObject({ stdout: "NEEDRESTART-VER: 3.6\n", exitCode: 0 });
    expect(await readFile(join(root, "jobs", id, "exit"), "utf8")).toBe("0\n");
  });

  it("runs the transaction with root's usual umask 022 while the job's own files stay root-only", async () => {
    const id = newJobId();
    const { script, marker } = transactionScript(id, "umask; mkdir \"$STEWARD_PROBE\"", "true", "true", 60);
    const probe = join(root, "made-by-the-transaction");
    const r = await sh(`STEWARD_PROBE=${probe}; export STEWARD_PROBE\n${local(script)}`);
    const wait = splitFramed(r.stdout, r.stderr, marker, TRANSACTION_STAGES, "packages step output").get("wait")!;
    expect(parseJobState(wait.stdout, wait.stderr)).toMatchObject({ state: "exit", exitCode: 0, stdout: "0022\n" });
    expect((await stat(probe)).mode & 0o777).toBe(0o755);
    expect((await stat(join(root, "jobs", id, "stdout"))).mode & 0o777).toBe(0o600);
  });

  it("a job's stderr without a final line feed does not break the framing; its exit status is reported", async () => {
    const { script, marker } = transactionScript(newJobId(), "printf 'E: Could not get lock' >&2; exit 100", "true", "true", 60);
    const r = await sh(local(script));
    const wait = splitFramed(r.stdout, r.stderr, marker, TRANSACTION_STAGES, "packages step output").get("wait")!;
    expect(parseJobState(wait.stdout, wait.stderr)).toEqual({ state: "exit", exitCode: 100, stdout: "", stderr: "E: Could not get lock\n" });
  });

  it("reports running once its wait is over and stops there; the job goes on and finishes", async () => {
    const id = newJobId();
    const { script, marker } = transactionScript(id, "sleep 8; echo done", "echo versions", "echo report", 1);
    const t0 = Date.now();
    const r = await sh(local(script));
    expect(Date.now() - t0).toBeLessThan(7500);
    const stages = splitFramed(r.stdout, r.stderr, marker, TRANSACTION_STAGES, "packages step output");
    expect(parseJobState(stages.get("wait")!.stdout, "")).toEqual({ state: "running" });
    expect(stages.has("versions")).toBe(false);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const exit = await readFile(join(root, "jobs", id, "exit"), "utf8").catch(() => "");
      if (exit === "0\n") break;
      await new Promise((w) => setTimeout(w, 100));
    }
    expect(await readFile(join(root, "jobs", id, "stdout"), "utf8")).toBe("done\n");
  }, 60_000);

  it("a job that cannot start (its folder exists) is reported by the start stage, and nothing after it runs", async () => {
    const id = newJobId();
    await sh(local(transactionScript(id, "true", "true", "true", 60).script));
    const { script, marker } = transactionScript(id, "echo second", "echo versions", "true", 60);
    const r = await sh(local(script));
    const stages = splitFramed(r.stdout, r.stderr, marker, TRANSACTION_STAGES, "packages step output");
    expect(stages.get("start")!.exitCode).not.toBe(0);
    expect(stages.get("start")!.stderr).toMatch(/File exists/);
    expect([...stages.keys()]).toEqual(["start"]);
  });

  it("refuses a here-document delimiter outside its grammar, and a command holding it", async () => {
    const { startScript } = await import("../../src/steps/packages/job.ts");
    expect(() => startScript(newJobId(), "true", "eof")).toThrow(/delimiter/);
    expect(() => startScript(newJobId(), "true\nSTEWARD_JOB_0123456789ABCDEF\ntrue", "STEWARD_JOB_0123456789ABCDEF")).toThrow(/delimiter/);
  });
});
