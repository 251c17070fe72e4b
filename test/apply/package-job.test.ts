import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { isJobId, jobBody, newJobId, parseJobState, stateScript } from "../../src/steps/packages/job.ts";

const run = promisify(execFile);

describe("package jobs: ids, scripts and the state a host reports", () => {
  it("makes ids of one grammar, and refuses anything else before it reaches a shell", () => {
    const id = newJobId(new Date("2026-12-07T10:55:00.123Z"));
    expect(id).toMatch(/^tx-20261207T105500Z-[0-9a-f]{12}$/);
    expect(isJobId(id)).toBe(true);
    for (const bad of ["tx-1", "../etc", `${id}; rm -rf /`, `${id}\n`, 42, undefined]) expect(isJobId(bad)).toBe(false);
    expect(() => stateScript("tx-x; reboot", true)).toThrow(/not a job id/);
  });

  it("reads exit N with the output after it, and the three other states; anything else is an error", () => {
    expect(parseJobState("exit 0\nSetting up steward-lib (1.1.0) ...\n", "W: x\n")).toEqual({ state: "exit", exitCode: 0, stdout: "Setting up steward-lib (1.1.0) ...\n", stderr: "W: x\n" });
    expect(parseJobState("exit 100", "")).toEqual({ state: "exit", exitCode: 100, stdout: "", stderr: "" });
    for (const s of ["running", "lost", "missing"]) expect(parseJobState(`${s}\n`, "")).toEqual({ state: s });
    for (const bad of ["exit 256\n", "exit -1\n", "exit 0 and more\n", "banner\nexit 0\n", ""]) expect(() => parseJobState(bad, "")).toThrow(/not 'exit N'/);
  });

  it("a job body records its pid, output and exit status, the status written whole by a rename", async () => {
    // The scripts address JOB_ROOT; run the body's text against a scratch folder instead.
    const dir = await mkdtemp(join(tmpdir(), "steward-job-"));
    try {
      const id = newJobId();
      const body = jobBody(id, "echo out; echo err >&2; exit 3").replaceAll(`/var/lib/steward/jobs/${id}`, dir);
      await writeFile(join(dir, "run.sh"), body);
      await run("/bin/sh", [join(dir, "run.sh")]);
      expect(await readFile(join(dir, "stdout"), "utf8")).toBe("out\n");
      expect(await readFile(join(dir, "stderr"), "utf8")).toBe("err\n");
      expect(await readFile(join(dir, "exit"), "utf8")).toBe("3\n");
      expect(Number(await readFile(join(dir, "pid"), "utf8"))).toBeGreaterThan(1);
      const state = await run("/bin/sh", ["-c", stateScript(id, true).replaceAll(`/var/lib/steward/jobs/${id}`, dir)]);
      expect(parseJobState(state.stdout, state.stderr)).toEqual({ state: "exit", exitCode: 3, stdout: "out\n", stderr: "err\n" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
