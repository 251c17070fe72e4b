import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rm } from "node:fs/promises";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterEach, describe, expect, it } from "vitest";
import { RunSecrets } from "../../../src/core/secrets.ts";
import type { CommandIO } from "../../../src/cli/io.ts";
import { runForecastReport } from "../../../src/report/forecast/command.ts";
import type { ForecastReport } from "../../../src/report/forecast/report.ts";
import { fleetRepo, git, writeSnapshotDays, type HostModel } from "./fixture.ts";

/** Where the printed reports go in tests that only look at what was published (never /dev/null: --out replaces files). */
const tmp = mkdtempSync(join(tmpdir(), "steward-forecast-out-"));

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
const validate = addFormats(new Ajv2020({ allErrors: true, strict: true })).compile(JSON.parse(readFileSync(new URL("../../../schemas/report-forecast.schema.json", import.meta.url), "utf8")) as object);

/** 2026-12-07 is a Monday: web's window opens Tuesday 2026-12-08 02:00 UTC, then 2026-12-15. */
const NOW = "2026-12-07T12:00:00Z";
const DAYS = 60;

/**
 * The fleet's stated model, per day d = 0…59 (the last reading 2026-12-06 10:00):
 * - web-1 `/` grows 1 GiB/day from 30 of 100 GiB: 89 GiB, 95% in 6 days (12-12), between
 *   the next window and the one after: `next-window`. `/srv` is flat.
 * - web-2 `/` grows 0.1 GiB/day (no recommendation); unreachable days 10–20 (gaps);
 *   available memory falls 0.12 GiB/day from 8.5 of 16 GiB: in use 14.58, 95% in ~5 days: `next-window`.
 * - db-1 (no runbook with a window: the 14-day horizon) `/var/lib/postgresql` grows 3 GiB/day
 *   from 300 of 500, is cleaned up on day 40 (417 → 380), then grows 4 GiB/day: 456, 95% in
 *   4.75 days: `urgent`. `/boot` appears on the last 3 days only: insufficient data.
 */
const models: Record<string, HostModel> = {
  "web-1": (d) => ({ disks: { "/": [30 + d, 100], "/srv": [50, 200] } }),
  "web-2": (d) => (d >= 10 && d <= 20 ? undefined : { disks: { "/": [10 + 0.1 * d, 100] }, availableGiB: 8.5 - 0.12 * d }),
  "db-1": (d) => ({ disks: { "/var/lib/postgresql": [d < 40 ? 300 + 3 * d : 380 + 4 * (d - 40), 500], ...(d >= 57 ? { "/boot": [0.2, 1] } : {}) } }),
};

function io(cwd: string): CommandIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), workflowCommands: (t) => void out.push(t), env: {}, cwd, secrets: new RunSecrets({}) };
}

let root: string | undefined;
afterEach(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  root = undefined;
});

describe("steward report forecast", () => {
  it("forecasts every mount, memory and load, recommends what fills before the window, and its JSON matches the schema", async () => {
    root = await fleetRepo(models, DAYS, new Date(NOW));
    const cli = io(root);
    expect(await runForecastReport(["--format", "json", "--now", NOW], cli)).toBe(0);
    const report = JSON.parse(cli.out.join("")) as ForecastReport;
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.source).toMatchObject({ since: "2026-09-08T12:00:00.000Z", until: "2026-12-07T12:00:00.000Z", files: 60 });
    expect(report.source.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(report.recommendations.map((r) => [r.id, r.urgency])).toEqual([
      ["disk.db-1.fs-var-lib-postgresql", "urgent"],
      ["memory.web-2", "next-window"],
      ["disk.web-1.fs", "next-window"],
    ]);
    const db = report.hosts.find((h) => h.host === "db-1")!;
    const pg = db.disks.find((d) => d.mount === "/var/lib/postgresql")!;
    expect(pg.cleanups).toHaveLength(1);
    expect(pg.fit!.slopePerDay / 1024 ** 3).toBeCloseTo(4, 6);
    expect(pg.full!.days).toBeCloseTo(4.75 - (26 / 24), 3); // 95% of 500 at day 59.75 + …, counted from NOW
    expect(db.disks.find((d) => d.mount === "/boot")!.message).toBe("insufficient data: 3 points, need 5");
    const rec = report.recommendations[0]!;
    expect(rec.deadline.by).toBe("horizon");
    expect(rec.runbook).toBeUndefined();
    const web1 = report.recommendations.find((r) => r.id === "disk.web-1.fs")!;
    expect(web1).toMatchObject({ runbook: "web-maintenance", deadline: { by: "following-window", at: "2026-12-15T02:00:00.000Z" } });
    expect(report.hosts.find((h) => h.host === "web-2")).toMatchObject({ unreachable: 11, snapshots: 60 });
    expect(report.hosts.find((h) => h.host === "web-1")!.disks.find((d) => d.mount === "/srv")!.status).toBe("flat");
  });

  it("writes Markdown with a Mermaid chart per at-risk series and a table of every trend", async () => {
    root = await fleetRepo(models, DAYS, new Date(NOW));
    const cli = io(root);
    expect(await runForecastReport(["--now", NOW, "--out", "forecast.md"], cli)).toBe(0);
    expect(cli.out).toEqual([]);
    expect(cli.err.join("")).toContain("report written to forecast.md\n");
    const md = readFileSync(`${root}/forecast.md`, "utf8");
    expect(md).toMatch(/^# Forecast — 2026-12-07\n\n\*\*3 recommended work items\*\* \(1 urgent\)/);
    expect(md.match(/```mermaid\nxychart-beta\n/g)).toHaveLength(3);
    expect(md).toContain("| db-1 | disk /boot | insufficient-data |");
    expect(md).toMatch(/\| db-1 \| disk /);
    expect(md).toContain("fitted since the cleanup on 2026-11-17");
  });

  it("a disk whose every reading is more used than its size keeps its real size and is named as a data problem, not a capacity of 0", async () => {
    root = await fleetRepo({ ...models, "db-2": (d) => ({ disks: { "/": [10, 100], "/data": [120 + d, 100] } }) }, DAYS, new Date(NOW));
    const cli = io(root);
    expect(await runForecastReport(["--format", "json", "--now", NOW], cli)).toBe(0);
    const report = JSON.parse(cli.out.join("")) as ForecastReport;
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    const data = report.hosts.find((h) => h.host === "db-2")!.disks.find((d) => d.mount === "/data")!;
    expect(data).toMatchObject({ status: "insufficient-data", observed: 0, capacity: 100 * 1024 ** 3, threshold: 95 * 1024 ** 3, rejected: [{ reason: "more used than the capacity", count: DAYS }] });
    expect(data.note).toBe("every reading reports more used than its size: the host's df output is wrong");
    expect(report.problems).toEqual([{ host: "db-2", resource: "disk /data", message: data.note }]);
    expect(report.hosts.find((h) => h.host === "db-2")!.disks.find((d) => d.mount === "/")!.note).toBeUndefined();
    expect(cli.err.join("")).toContain("note: db-2 disk /data: every reading reports more used than its size: the host's df output is wrong");
    const md = io(root);
    expect(await runForecastReport(["--now", NOW], md)).toBe(0);
    expect(md.out.join("")).toContain("## Problems in the data\n\n| Host | Resource | Problem |\n|---|---|---|\n| db-2 | disk /data | every reading reports more used than its size: the host's df output is wrong |");
  });

  it("with the git publisher: one file per recommendation, nothing new the second time, removed when it no longer holds", async () => {
    root = await fleetRepo(models, DAYS, new Date(NOW));
    const first = io(root);
    expect(await runForecastReport(["--now", NOW, "--open-issues", "--publisher", "git", "--out", join(tmp, "forecast.md")], first)).toBe(0);
    expect(first.err.join("")).toMatch(/recommendation disk\.db-1\.fs-var-lib-postgresql: opened/);
    const files = await git(root, "ls-tree", "-r", "--name-only", "steward/recommendations", "--", "recommendations/");
    expect(files.split("\n")).toEqual(["recommendations/disk.db-1.fs-var-lib-postgresql.md", "recommendations/disk.web-1.fs.md", "recommendations/memory.web-2.md"]);
    const text = await git(root, "show", "steward/recommendations:recommendations/disk.db-1.fs-var-lib-postgresql.md");
    expect(text).toMatch(/^# db-1:\/var\/lib\/postgresql may fill by 2026-12-1\d \(before its next maintenance window\)\n\n<!-- steward:recommendation id=disk\.db-1\.fs-var-lib-postgresql -->/);
    expect(text).toContain("**Evidence**");
    const tip = await git(root, "rev-parse", "steward/recommendations");
    expect(await git(root, "status", "--porcelain", "--untracked-files=no")).toBe("");

    const second = io(root);
    await runForecastReport(["--now", NOW, "--open-issues", "--publisher", "git", "--out", join(tmp, "forecast.md")], second);
    expect(second.err.join("")).not.toMatch(/opened|updated|closed/);
    expect(second.err.join("")).toMatch(/nothing to commit on steward\/recommendations/);
    expect(await git(root, "rev-parse", "steward/recommendations")).toBe(tip);

    // db-1's database is moved away: its disk stops growing, so its recommendation no longer holds.
    await writeSnapshotDays(root, { ...models, "db-1": () => ({ disks: { "/var/lib/postgresql": [100, 500] } }) }, DAYS, new Date(NOW));
    await git(root, "commit", "-q", "-am", "db moved");
    const third = io(root);
    await runForecastReport(["--now", NOW, "--open-issues", "--publisher", "git", "--out", join(tmp, "forecast.md")], third);
    expect(third.err.join("")).toMatch(/recommendation disk\.db-1\.fs-var-lib-postgresql: closed/);
    expect((await git(root, "ls-tree", "-r", "--name-only", "steward/recommendations", "--", "recommendations/")).split("\n")).toEqual(["recommendations/disk.web-1.fs.md", "recommendations/memory.web-2.md"]);
    expect(await git(root, "log", "-1", "--format=%B", "steward/recommendations")).toMatch(/Closed disk\.db-1\.fs-var-lib-postgresql: the forecast of 2026-12-07 no longer predicts it/);

    // Merged: HEAD holds them; publishing again proposes nothing.
    await git(root, "merge", "-q", "--no-ff", "-m", "accept recommendations", "steward/recommendations");
    const fourth = io(root);
    await runForecastReport(["--now", NOW, "--open-issues", "--publisher", "git", "--out", join(tmp, "forecast.md")], fourth);
    expect(fourth.err.join("")).toMatch(/nothing to commit/);
    expect(fourth.err.join("")).not.toMatch(/opened|closed/);
  }, 180_000); // four forecasts and git publications: minutes on a loaded 2-core machine

  it("lists the snapshot lines and files it skipped in the report, as status and trends do", async () => {
    root = await fleetRepo(models, DAYS, new Date(NOW));
    const day = "2026-12-01";
    const path = join(root, "facts/snapshots", `${day}.jsonl`);
    const lines = readFileSync(path, "utf8").split("\n");
    // A row whose pending update has an unknown type: not used by the forecast, skipped all the same.
    lines.splice(2, 0, JSON.stringify(["web-9", `${day}T01:00:00.000Z`, ["web"], "debian 12", [["/", 100, 10]], [100, 50], [0.1, 0.1, 0.1, 1], 5, "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09", false, [["curl", "7.88.1-10", "8.1.0-1", "urgent"]]]));
    writeFileSync(path, lines.join("\n"));
    writeFileSync(join(root, "facts/snapshots", "2026-12-1.jsonl"), "");
    const cli = io(root);
    expect(await runForecastReport(["--format", "json", "--now", NOW], cli)).toBe(0);
    const report = JSON.parse(cli.out.join("")) as ForecastReport;
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.skipped).toEqual([
      { file: "facts/snapshots/2026-12-1.jsonl", line: 0, message: expect.stringContaining("is not named <YYYY-MM-DD>.jsonl") },
      { file: `facts/snapshots/${day}.jsonl`, line: 3, message: 'has an upgradable type "urgent" of "curl" that is not security, patch, minor or major; skipped' },
    ]);
    expect(report.skippedLeftOut).toBe(0);
    expect(report.hosts.some((h) => h.host === "web-9")).toBe(false);
    expect(cli.err.join("")).toContain("note: 2 snapshot line(s) or file(s) skipped (listed in the report): facts/snapshots/2026-12-1.jsonl is not named");
    const md = io(root);
    expect(await runForecastReport(["--now", NOW], md)).toBe(0);
    expect(md.out.join("")).toContain(`## Skipped snapshot lines\n\n2 line(s) or file(s) of the snapshots were skipped; nothing of them is in the trends:\n\n| File | Line | Problem |\n|---|---|---|\n| facts/snapshots/2026-12-1.jsonl | (whole file) |`);
  });

  it("an empty history is a report that says so; bad flags name the flag", async () => {
    root = await fleetRepo({}, 0, new Date(NOW));
    const cli = io(root);
    expect(await runForecastReport(["--now", NOW], cli)).toBe(0);
    expect(cli.out.join("")).toMatch(/\*\*No recommended work\*\*: 0 host\(s\), 0 trend\(s\)/);
    await expect(runForecastReport(["--since", "90 days"], io(root))).rejects.toThrow(/--since "90 days" is not a date/);
    await expect(runForecastReport(["--horizon", "0d"], io(root))).rejects.toThrow(/--horizon "0d" is not a number of days/);
    await expect(runForecastReport(["--format", "pdf"], io(root))).rejects.toThrow(/unknown format 'pdf'/);
  });
});
