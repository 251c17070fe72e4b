import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { writeSnapshots } from "../../src/facts/snapshot.ts";
import { incidentEpisodes } from "../../src/report/history/incidents.ts";

async function steward(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd: process.cwd() });
  return { code, stdout, stderr };
}

describe("steward report: usage, empty history, hostile values", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-report-cli-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("refuses a bad --since, --until, --now or --stale-after with exit 3 naming the flag", async () => {
    for (const [flag, value] of [["--since", "90 days"], ["--since", "0d"], ["--until", "yesterday"], ["--now", "2026-13-01"], ["--stale-after", "1y"], ["--since", "2026-02-30"], ["--until", "2026-04-31"], ["--since", "2026-02-31T00:00:00Z"], ["--until", "2027-02-29"]] as const) {
      const r = await steward(["report", "trends", "--root", root, flag, value]);
      expect(r.code, `${flag} ${value}`).toBe(3);
      expect(r.stderr).toContain(flag);
    }
    const reversed = await steward(["report", "trends", "--root", root, "--since", "2026-05-01", "--until", "2026-04-01"]);
    expect(reversed.code).toBe(3);
    expect(reversed.stderr).toMatch(/--since .* is not before --until/);
    expect((await steward(["report", "weekly", "--root", root])).code).toBe(2);
    expect((await steward(["report", "status", "--root", root, "--format", "pdf"])).code).toBe(2);
  });

  it("dispatches every report: forecast and postmortem with their own flags, html for each", async () => {
    await writeSnapshots(root, [{ v: 1, host: "web-1", takenAt: "2026-02-28T01:00:00.000Z", groups: ["web"], os: "debian 12", disks: [{ mount: "/", sizeBytes: 100, usedBytes: 50 }], memory: { totalBytes: 1, availableBytes: 1 }, load: { one: 0, five: 0, fifteen: 0, cpus: 1 }, uptimeSeconds: 1, bootId: "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09", rebootRequired: false, upgradable: [] }]);
    // The subcommand may follow flags that take values.
    const forecast = await steward(["report", "--root", root, "forecast", "--now", "2026-03-01T00:00:00Z", "--since", "2w", "--format", "json"]);
    expect(forecast.code, forecast.stderr).toBe(0);
    expect(JSON.parse(forecast.stdout)).toMatchObject({ report: "forecast" });
    // One grammar for the range flags: forecast refuses what trends refuses, with exit 3.
    const bad = await steward(["report", "forecast", "--root", root, "--since", "90 days"]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain("--since");
    for (const sub of ["status", "trends", "forecast"]) {
      const html = await steward(["report", sub, "--root", root, "--now", "2026-03-01T00:00:00Z", "--format", "html"]);
      expect(html.code, `${sub}: ${html.stderr}`).toBe(0);
      expect(html.stdout.slice(0, 200).toLowerCase()).toContain("<!doctype html>");
      expect(html.stdout).toContain("Content-Security-Policy");
    }
    const help = await steward(["report", "forecast", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--horizon");
    expect(help.stdout).toMatch(/^usage: steward report forecast/);
    const post = await steward(["report", "postmortem", "--root", root, "nosuch-20260228T020000Z-abcd"]);
    expect(post.code).not.toBe(0);
    expect(post.code).not.toBe(70);
    expect(post.stderr).toContain("nosuch-20260228T020000Z-abcd");
    expect((await steward(["report", "postmortem", "--root", root, "../../etc"])).code).toBe(2);
  });

  it("says when the work tree's history differs from the commit it names", async () => {
    const line = { v: 1 as const, host: "web-1", takenAt: "2026-02-28T01:00:00.000Z", groups: ["web"], os: "debian 12", disks: [], memory: { totalBytes: 1, availableBytes: 1 }, load: { one: 0, five: 0, fifteen: 0, cpus: 1 }, uptimeSeconds: 1, bootId: "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09", rebootRequired: false, upgradable: [] };
    await writeSnapshots(root, [line]);
    const git = (...args: string[]) => execFileSync("git", ["-C", root, "-c", "user.name=t", "-c", "user.email=t@example.org", ...args]);
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-q", "-m", "history");
    const clean = await steward(["report", "status", "--root", root, "--now", "2026-03-01T00:00:00Z"]);
    expect(clean.stdout).toMatch(/file\(s\) read, as committed at `[0-9a-f]{40}`/);
    await writeSnapshots(root, [{ ...line, host: "web-2" }]);
    const dirty = await steward(["report", "status", "--root", root, "--now", "2026-03-01T00:00:00Z"]);
    expect(dirty.stdout).toMatch(/from the work tree, which differs from commit `[0-9a-f]{40}` in 1 file\(s\)/);
    expect(JSON.parse((await steward(["report", "status", "--root", root, "--now", "2026-03-01T00:00:00Z", "--format", "json"])).stdout).source.uncommitted).toBe(1);
  });

  it("an empty history gives a report that says so, in Markdown and JSON", async () => {
    const md = await steward(["report", "status", "--root", root, "--now", "2026-03-01T00:00:00Z"]);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/The history holds no host yet/);
    const tr = await steward(["report", "trends", "--root", root, "--now", "2026-03-01T00:00:00Z"]);
    expect(tr.code).toBe(0);
    expect(tr.stdout).toMatch(/nothing to report/);
    const json = JSON.parse((await steward(["report", "trends", "--root", root, "--now", "2026-03-01T00:00:00Z", "--format", "json"])).stdout);
    expect(json).toMatchObject({ report: "trends", summary: { runs: 0, successRate: null }, source: { since: "2025-12-01T00:00:00.000Z", until: "2026-03-01T00:00:00.000Z", files: 0 } });
  });

  it("escapes what hosts and files provide, and names bad files as problems", async () => {
    await writeSnapshots(root, [{ v: 1, host: "web-1", takenAt: "2026-02-28T01:00:00.000Z", groups: ["web"], os: "debian 12", disks: [], memory: { totalBytes: 1, availableBytes: 1 }, load: { one: 0, five: 0, fifteen: 0, cpus: 1 }, uptimeSeconds: 1, bootId: "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09", rebootRequired: false, upgradable: [{ name: "_evil_pkg_", from: "1", to: "2", type: "security" }] }]);
    // A hand-edited line with a name no package manager accepts is named, not counted (the file
    // written twice: header 1, web-1 2, the same header 3, the edited row 4).
    const day = join(root, "facts/snapshots/2026-02-28.jsonl");
    await writeFile(day, `${await readFile(day, "utf8")}${(await readFile(day, "utf8")).replace('"web-1"', '"web-2"').replace("_evil_pkg_", "evil|pkg")}`);
    await mkdir(join(root, "runs/patching-20260228T020000Z-abcd"), { recursive: true });
    await writeFile(join(root, "runs/patching-20260228T020000Z-abcd/results.json"), "{ not json");
    const r = await steward(["report", "status", "--root", root, "--now", "2026-03-01T00:00:00Z"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\| web-1 \| web \|/);
    expect(r.stdout).toContain("runs/patching-20260228T020000Z-abcd/results.json | (whole file) | is not JSON");
    expect(r.stdout).toContain('facts/snapshots/2026-02-28.jsonl | 4 | has an upgradable name "evil\\|pkg" no package manager accepts');
    expect(r.stdout).not.toMatch(/\| web-2 \|/);
    const json = JSON.parse((await steward(["report", "status", "--root", root, "--now", "2026-03-01T00:00:00Z", "--format", "json"])).stdout);
    expect(json.hosts).toHaveLength(1);
    expect(json.hosts[0].updates[0]).toMatchObject({ name: "_evil_pkg_", type: "security", ageDays: 1 });
  });

  it("--out is written atomically and never through a link", async () => {
    const out = join(root, "report.md");
    expect((await steward(["report", "status", "--root", root, "--out", out])).code).toBe(0);
    expect(await readFile(out, "utf8")).toMatch(/^# Fleet status/);
    await symlink("/tmp/elsewhere-report.md", join(root, "link.md"));
    const r = await steward(["report", "status", "--root", root, "--out", join(root, "link.md")]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/link/);
  });

  it("reads incident episodes from the git publisher's timeline: reopened files hold several", () => {
    const text = "---\nstatus: open\nrunbook: patching\nseverity: SEV2\nlabels: [steward:incident]\n---\n# SEV2: patching failed\n\nx\n\n## Timeline\n\n- 2026-01-01T02:30:00.000Z — failing (run r1)\n- 2026-01-02T02:30:00.000Z — failing (run r2)\n- 2026-01-03T02:30:00.000Z — resolved (run r3): ok\n- 2026-01-05T02:30:00.000Z — failing (run r5)\n";
    expect(incidentEpisodes(text, "incidents/patching-sev2.md")).toEqual([
      { runbook: "patching", severity: "SEV2", file: "incidents/patching-sev2.md", openedAt: "2026-01-01T02:30:00.000Z", openedBy: "r1", failures: 2, closedAt: "2026-01-03T02:30:00.000Z", closedBy: "r3" },
      { runbook: "patching", severity: "SEV2", file: "incidents/patching-sev2.md", openedAt: "2026-01-05T02:30:00.000Z", openedBy: "r5", failures: 1 },
    ]);
  });

  it("names hand-edited timeline lines and misnamed incident files instead of skipping them", async () => {
    const text = "---\nstatus: closed\nrunbook: patching\nseverity: SEV2\nlabels: []\n---\n# x\n\n## Timeline\n\n- 2026-01-01T02:30:00.000Z — failing (run r1)\n- 2026-01-03T02:30:00.000Z — resolved (run r3): ok\n- garbage line — failing\n- 2026-01-04T02:30:00.000Z — exploded (run y)\n";
    const problems: Array<{ line: number; message: string }> = [];
    incidentEpisodes(text, "incidents/patching-sev2.md", (p) => problems.push(p));
    expect(problems.map((p) => p.line)).toEqual([13, 14]);
    expect(problems[0]!.message).toContain("timeline line steward cannot read");
    await mkdir(join(root, "incidents"), { recursive: true });
    await writeFile(join(root, "incidents/noheader.md"), "# notes\n");
    const r = await steward(["report", "status", "--root", root, "--now", "2026-03-01T00:00:00Z"]);
    expect(r.stdout).toContain("incidents/noheader.md | (whole file) | is not named \\<runbook\\>-\\<sev\\>.md");
  });
});

describe("a results.json that contradicts itself is named, not counted", () => {
  const runId = "patching-20260228T020000Z-abcd";
  const host = (name: string, outcome: string) => ({ host: name, wave: 1, outcome, detail: "", startedAt: "2026-02-28T02:00:01.000Z", finishedAt: "2026-02-28T02:01:00.000Z", steps: [] });
  const results = (over: Record<string, unknown> = {}) => ({
    format: 1,
    runId,
    plan: { id: "patching-20260228T0159-0123456789ab", digest: "sha256:x" },
    startedAt: "2026-02-28T02:00:00.000Z",
    finishedAt: "2026-02-28T02:05:00.000Z",
    status: "hosts-failed",
    counts: { changed: 1, failed: 1 },
    hosts: [host("web-1", "changed"), host("web-2", "failed")],
    ...over,
  });

  it("accepts a consistent file and names each contradiction", async () => {
    const { resultsShapeProblem } = await import("../../src/report/history/runs.ts");
    expect(resultsShapeProblem(results(), runId)).toBeNull();
    expect(resultsShapeProblem(results({ counts: { changed: 999, failed: 1 } }), runId)).toBe("counts 999 changed host(s) but lists 1");
    expect(resultsShapeProblem(results({ status: "ok" }), runId)).toBe("has status ok but its hosts' outcomes give hosts-failed");
    expect(resultsShapeProblem(results({ hosts: [host("web-1", "changed"), host("web-1", "changed")], counts: undefined, status: "ok" }), runId)).toBe("lists host web-1 twice");
    expect(resultsShapeProblem(results({ startedAt: "9999-12-31T00:00:00.000Z" }), runId)).toMatch(/more than a day from the start its run id carries/);
    expect(resultsShapeProblem(results({ finishedAt: "2026-02-28T01:00:00.000Z" }), runId)).toBe("has a finishedAt before its startedAt");
  });
});
