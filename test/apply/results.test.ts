import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countOutcomes, exitCodeFor, resultsProblems, runStatus, writeResults, type RunResults } from "../../src/apply/results.ts";
import type { HostOutcome, HostResult } from "../../src/apply/types.ts";

const host = (name: string, outcome: HostOutcome): HostResult => ({
  host: name,
  wave: 0,
  outcome,
  detail: "",
  startedAt: "2026-11-24T02:00:00.000Z",
  finishedAt: "2026-11-24T02:01:00.000Z",
  steps: [
    {
      step: "security updates",
      kind: "packages",
      outcome: "changed",
      startedAt: "2026-11-24T02:00:00.000Z",
      finishedAt: "2026-11-24T02:01:00.000Z",
      durationMs: 60_000,
      detail: "2 packages upgraded",
      exitCode: 0,
      stdoutTail: "Setting up openssl (3.0.15-1~deb12u1) ...",
      packages: [{ name: "openssl", arch: "amd64", from: "3.0.14-1~deb12u2", to: "3.0.15-1~deb12u1" }, { name: "telnet", from: "0.17-44", to: null }],
    },
  ],
});

function results(hosts: HostResult[]): RunResults {
  const status = runStatus(hosts, null);
  return { format: 1, runId: "run-1", plan: { id: "p", digest: "a".repeat(64) }, startedAt: "2026-11-24T02:00:00.000Z", finishedAt: "2026-11-24T02:05:00.000Z", status, exitCode: exitCodeFor(status), halt: null, failureBudget: { failures: 0, haltsAt: 1 }, resumes: 0, counts: countOutcomes(hosts), hosts };
}

describe("results", () => {
  it("maps outcomes and halts to the README's statuses and exit codes", () => {
    expect([runStatus([host("a", "changed"), host("b", "unchanged")], null), exitCodeFor("ok")]).toEqual(["ok", 0]);
    for (const o of ["failed", "unreachable", "cancelled:precheck", "skipped:stale", "not-started:window", "interrupted"] as const) expect(runStatus([host("a", "changed"), host("b", o)], null)).toBe("hosts-failed");
    expect(exitCodeFor("hosts-failed")).toBe(1);
    for (const h of ["budget", "gate", "signal"] as const) {
      expect(runStatus([host("a", "changed")], h)).toBe(`halted:${h}`);
      expect(exitCodeFor(`halted:${h}`)).toBe(4);
    }
  });

  it("writes results.json that the schema accepts, and the schema rejects what is not results", async () => {
    const dir = await mkdtemp(join(tmpdir(), "steward-results-"));
    const value = results([host("a", "changed"), host("b", "failed")]);
    const path = await writeResults(dir, value);
    const written = JSON.parse(await readFile(path, "utf8")) as RunResults;
    expect(resultsProblems(written)).toEqual([]);
    expect(written.counts).toMatchObject({ changed: 1, failed: 1, "not-started:budget": 0 });
    expect(written.status).toBe("hosts-failed");
    expect(resultsProblems({ ...written, status: "fine" })).toEqual(["status: must be equal to one of the allowed values"]);
    expect(resultsProblems({ ...written, hosts: [{ ...written.hosts[0], outcome: "skipped" }] })).toEqual(["hosts/0/outcome: must be equal to one of the allowed values"]);
    await expect(writeResults(dir, { ...value, exitCode: 3 as 1 })).rejects.toThrow(/exitCode: must be equal/);
  });
});
