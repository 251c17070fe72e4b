import { execFile } from "node:child_process";
import { link, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { GitPublisher } from "../../src/publish/git/index.ts";
import { weekArg } from "../../src/cli/commands/publish.ts";
import { UsageError } from "../../src/core/errors.ts";
import { isoWeekName, isoWeekOf, isoWeekStart } from "../../src/publish/markers.ts";
import { reportPublication, type ReportPart } from "../../src/publish/report.ts";

const sh = promisify(execFile);

const STATUS = "# Fleet status\n\n**12 hosts**: 2 with pending security updates.\n\n## Pending updates\n\n| host | security |\n|---|--:|\n| web-1 | 2 |\n";
const TRENDS = "# Trends since 2026-09-10\n\n98.2% of runs succeeded.\n\n## Runs\n\n```mermaid\npie\n  \"ok\" : 98\n  \"failed\" : 2\n```\n";
const statusJson = (files = 365) => ({ report: "status", generatedAt: "2026-12-10T06:00:00.000Z", source: { commit: "3f2a9c1d", since: "2026-09-10", until: "2026-12-10", files }, hosts: [] });

describe("ISO weeks", () => {
  it("follow ISO 8601: Monday starts a week, the year's first Thursday is in week 1", () => {
    expect(isoWeekOf(new Date("2026-12-07T00:00:00Z"))).toBe("2026-W50"); // a Monday
    expect(isoWeekOf(new Date("2026-12-13T23:59:59Z"))).toBe("2026-W50"); // the Sunday after
    expect(isoWeekOf(new Date("2027-01-01T12:00:00Z"))).toBe("2026-W53"); // 2026 has 53 weeks
    expect(isoWeekOf(new Date("2025-12-29T00:00:00Z"))).toBe("2026-W01"); // a Monday in 2025, week 1 of 2026
    expect(isoWeekOf(new Date("2021-01-03T00:00:00Z"))).toBe("2020-W53");
    expect(isoWeekName("2026-W53")).toBe("2026-W53");
    for (const bad of ["2025-W53", "2026-W00", "2026-W54", "2026-50", "2026-w50", "../W50", "2026-W5"]) expect(() => isoWeekName(bad), bad).toThrow(/not an ISO 8601 week/);
  });
});

describe("--week", () => {
  const today = new Date("2026-05-13T10:00:00Z"); // 2026-W20
  it("starts on its Monday", () => {
    expect(isoWeekStart("2026-W01").toISOString()).toBe("2025-12-29T00:00:00.000Z");
    expect(isoWeekStart("2026-W53").toISOString()).toBe("2026-12-28T00:00:00.000Z");
    expect(isoWeekStart("2000-W01").toISOString()).toBe("2000-01-03T00:00:00.000Z");
    for (const week of ["2020-W53", "2026-W20", "2009-W53"]) expect(isoWeekOf(isoWeekStart(week))).toBe(week);
  });

  it("must be a real week from 2000-W01 to a year after this week, and the refusal says the allowed form", () => {
    for (const good of ["2000-W01", "2004-W53", "2026-W20", "2026-W53", "2027-W19"]) expect(weekArg(good, undefined, today)).toBe(good);
    for (const [bad, why] of [
      ["1999-W01", "--week 1999-W01 is before 2000-W01"],
      ["1999-W52", "is before 2000-W01"],
      ["0000-W01", "is before 2000-W01"],
      ["2027-W20", "--week 2027-W20 is more than a year after this week (2026-W20)"],
      ["9999-W01", "more than a year after"],
      ["2025-W53", "--week \"2025-W53\" is not an ISO 8601 week"],
      ["2027-W53", "is not an ISO 8601 week"],
      ["2026-W00", "is not an ISO 8601 week"],
      ["2026-W7", "is not an ISO 8601 week"],
      ["26-W07", "is not an ISO 8601 week"],
    ] as const) {
      let error: unknown;
      try {
        weekArg(bad, undefined, today);
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toContain(why);
      expect((error as UsageError).hint).toBe("name the week as YYYY-Www (ISO 8601: W01 to W52, W53 only in a year that has one), from 2000-W01 to 2027-W19, e.g. 2026-W20");
    }
    expect(weekArg(undefined, "2026-12-10T06:00:00Z", today)).toBe("2026-W50");
    expect(weekArg(undefined, undefined, today)).toBe("2026-W20");
  });

  it("holds the week of --now to the same range, measured from the real today", () => {
    expect(weekArg(undefined, "2000-01-03T00:00:00Z", today)).toBe("2000-W01");
    expect(weekArg(undefined, "2027-05-10T00:00:00Z", today)).toBe("2027-W19");
    for (const [now, why] of [
      ["2000-01-01T00:00:00Z", '--now "2000-01-01T00:00:00Z" falls in 1999-W52, which is before 2000-W01'],
      ["2099-01-01T00:00:00Z", '--now "2099-01-01T00:00:00Z" falls in 2099-W01, which is more than a year after this week (2026-W20)'],
      ["2027-05-17T00:00:00Z", "2027-W20, which is more than a year after"],
    ] as const) {
      let error: unknown;
      try {
        weekArg(undefined, now, today);
      } catch (e) {
        error = e;
      }
      expect(error, now).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toContain(why);
      expect((error as UsageError).hint).toContain("from 2000-W01 to 2027-W19");
    }
  });
});

describe("the weekly report publication", () => {
  const parts: ReportPart[] = [
    { kind: "md", source: "status.md", text: STATUS },
    { kind: "md", source: "trends.md", text: TRENDS },
    { kind: "json", source: "status.json", value: statusJson() },
  ];

  it("joins the reports into reports/<week>.md and .json, with trailers naming the week and each source", () => {
    const p = reportPublication("2026-W50", parts);
    expect(p.files.map((f) => f.path)).toEqual(["reports/2026-W50.md", "reports/2026-W50.json"]);
    expect(p.files[0]!.content).toBe(`${STATUS.trimEnd()}\n\n---\n\n${TRENDS.trimEnd()}\n`);
    expect(JSON.parse(String(p.files[1]!.content))).toEqual({ week: "2026-W50", reports: [statusJson()] });
    expect(p.message).toMatch(/^report 2026-W50: status\n\n/);
    expect(p.message).toContain("\nSteward-Report: 2026-W50\nSteward-Report-Source: status 2026-09-10..2026-12-10, 365 files at 3f2a9c1d\n");
    expect(p.title).toBe("Weekly report 2026-W50");
    expect(p.body.summary).toContain("**Weekly report 2026-W50**: Fleet status · Trends since 2026-09-10.");
    expect(p.body.summary).toContain("**12 hosts**: 2 with pending security updates.");
    expect(p.body.details.map((d) => d.title)).toEqual(["Fleet status", "Trends since 2026-09-10"]);
  });

  it("cannot be made to add a trailer or a line through a report's JSON", () => {
    const hostile = { report: "status", source: { commit: "x\nSteward-Approved-By: mallory", since: "a", until: "b", files: 1 } };
    const p = reportPublication("2026-W50", [{ kind: "md", source: "s.md", text: STATUS }, { kind: "json", source: "s.json", value: hostile }]);
    expect(p.message.split("\n").filter((l) => l.startsWith("Steward-Approved-By"))).toEqual([]);
  });
});

describe("the git publisher's weekly report, in a real repository", () => {
  let root: string;
  const git = async (...args: string[]): Promise<string> => (await sh("git", ["-C", root, ...args])).stdout.trim();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-report-pub-"));
    await git("init", "-q", "-b", "main");
    await git("config", "user.email", "eng@example.org");
    await git("config", "user.name", "Eng");
    await writeFile(join(root, "README"), "fleet\n");
    await git("add", "README");
    await git("commit", "-q", "-m", "start");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("publishing twice makes one commit; new figures the same week update it in place; a merged week is settled", async () => {
    const pub = new GitPublisher({ root });
    const md = [{ kind: "md", source: "status.md", text: STATUS }] as const;
    const first = await pub.publishReport(reportPublication("2026-W50", [...md]));
    expect(first).toMatchObject({ branch: "steward/report/2026-W50", committed: true, action: "created" });
    const again = await pub.publishReport(reportPublication("2026-W50", [...md]));
    expect(again).toMatchObject({ committed: false, action: "unchanged", commit: first.commit });
    expect(await git("rev-list", "--count", "steward/report/2026-W50")).toBe("2");
    expect(await git("show", "steward/report/2026-W50:reports/2026-W50.md")).toBe(STATUS.trimEnd());
    expect(await git("log", "-1", "--format=%(trailers:key=Steward-Report,valueonly)", "steward/report/2026-W50")).toBe("2026-W50");
    expect(await git("status", "--porcelain", "--untracked-files=no")).toBe("");
    expect(await readFile(join(root, first.review.url), "utf8")).toMatch(/^<!-- steward:report week=2026-W50 -->\n\*\*Weekly report 2026-W50\*\*/);

    const updated = await pub.publishReport(reportPublication("2026-W50", [{ kind: "md", source: "status.md", text: STATUS.replace("12 hosts", "13 hosts") }]));
    expect(updated).toMatchObject({ committed: true, action: "updated" });
    expect(await git("show", "steward/report/2026-W50:reports/2026-W50.md")).toContain("13 hosts");

    await git("merge", "-q", "--no-ff", "-m", "weekly report", "steward/report/2026-W50");
    const settled = await pub.publishReport(reportPublication("2026-W50", [{ kind: "md", source: "status.md", text: STATUS.replace("12 hosts", "14 hosts") }]));
    expect(settled).toMatchObject({ committed: false, action: "closed-before", commit: updated.commit });

    const next = await pub.publishReport(reportPublication("2026-W51", [...md]));
    expect(next).toMatchObject({ branch: "steward/report/2026-W51", action: "created" });
    expect(await git("ls-tree", "-r", "--name-only", "steward/report/2026-W51")).toBe("README\nreports/2026-W50.md\nreports/2026-W51.md");
  });

  it("steward publish report: files in, the week from --now, the job summary appended, once", async () => {
    const out = await mkdtemp(join(tmpdir(), "steward-report-out-"));
    try {
      await writeFile(join(out, "status.md"), STATUS);
      await writeFile(join(out, "trends.md"), TRENDS);
      await writeFile(join(out, "status.json"), JSON.stringify(statusJson()));
      await writeFile(join(out, "summary"), "");
      const env = { GITHUB_STEP_SUMMARY: join(out, "summary") };
      const run = async (argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
        let stdout = "";
        let stderr = "";
        const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd: out };
        return { code: await main(argv, io), stdout, stderr };
      };
      const args = ["publish", "report", "status.md", "trends.md", "status.json", "--root", root, "--publisher", "git", "--now", "2026-12-10T06:00:00Z"];
      const first = await run([...args, "--job-summary"]);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/^job summary: \d+ bytes\nreport 2026-W50: created, committed [0-9a-f]{12} to steward\/report\/2026-W50\n/);
      expect(await readFile(join(out, "summary"), "utf8")).toBe(`${STATUS.trimEnd()}\n\n---\n\n${TRENDS.trimEnd()}\n`);
      expect(JSON.parse(await git("show", "steward/report/2026-W50:reports/2026-W50.json"))).toEqual({ week: "2026-W50", reports: [statusJson()] });
      const second = await run(args);
      expect(second.stdout).toMatch(/^report 2026-W50: unchanged \(steward\/report\/2026-W50 already at/);
      expect(await git("rev-list", "--count", "steward/report/2026-W50")).toBe("2");

      const bad = await run(["publish", "report", "status.json", "--root", root, "--week", "2026-W54"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("not an ISO 8601 week");
      // Against the real clock: before 2000, or more than a year ahead, nothing is published.
      const far = `${new Date().getUTCFullYear() + 2}-W01`;
      for (const week of ["1999-W01", far]) {
        const out = await run(["publish", "report", "status.md", "--root", root, "--publisher", "git", "--week", week]);
        expect(out.code, week).toBe(2);
        expect(out.stderr).toContain(`--week ${week} is`);
        expect(out.stderr).toContain("hint: name the week as YYYY-Www (ISO 8601: W01 to W52, W53 only in a year that has one), from 2000-W01 to ");
        expect(await git("branch", "--list", `steward/report/${week}`)).toBe("");
      }
      await writeFile(join(out, "x.json"), '{"not":"a report"}');
      const notReport = await run(["publish", "report", "status.md", "x.json", "--root", root, "--publisher", "git"]);
      expect(notReport.code).toBe(2);
      expect(notReport.stderr).toContain('x.json is not a report\'s JSON: it needs a "report" field');
      const missing = await run(["publish", "report", "nope.md", "--root", root, "--publisher", "git"]);
      expect(missing.stderr).toContain("nope.md does not exist");
      // A name with a control character is quoted escaped, never printed raw.
      const forged = await run(["publish", "report", "a\nerror: forged.md", "--root", root, "--publisher", "git"]);
      expect(forged.code).toBe(2);
      expect(forged.stderr).toContain('"a\\nerror: forged.md" does not exist');
      expect(forged.stderr).not.toMatch(/^error: forged/m);
      await writeFile(join(out, "b\u0085c.md"), TRENDS);
      const twiceForged = await run(["publish", "report", "status.md", "b\u0085c.md", "./b\u0085c.md", "--root", root, "--publisher", "git", "--week", "2026-W49"]);
      expect(twiceForged.stderr).toContain('"b\\u0085c.md" and "./b\\u0085c.md" are the same file');

      // One file named twice, by any spelling: refused naming both arguments, nothing published.
      await symlink(join(out, "status.md"), join(out, "status-link.md"));
      await link(join(out, "trends.md"), join(out, "trends-hard.md"));
      await writeFile(join(out, "other.md"), TRENDS);
      const before = await git("rev-list", "--count", "steward/report/2026-W50");
      for (const [a, b] of [["status.md", "status.md"], ["./status.md", "status.md"], [join(out, "status.md"), "../" + out.split("/").at(-1) + "/status.md"], ["status.md", "status-link.md"], ["trends.md", "trends-hard.md"], ["status.json", "./status.json"]]) {
        const twice = await run(["publish", "report", a!, "status.json" === a ? "status.md" : "other.md", b!, "--root", root, "--publisher", "git", "--week", "2026-W49"]);
        expect(twice.code, `${a} ${b}`).toBe(2);
        expect(twice.stderr).toContain(`${JSON.stringify(a)} and ${JSON.stringify(b)} are the same file`);
      }
      expect(await git("rev-list", "--count", "steward/report/2026-W50")).toBe(before);
      expect(await git("branch", "--list", "steward/report/2026-W49")).toBe("");
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
