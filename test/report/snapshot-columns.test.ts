import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SNAPSHOT_HEADER_LINE } from "../../src/facts/snapshot-line.ts";
import { collectSeries, collectSnapshotSeries, type CollectedSeries } from "../../src/report/forecast/collect.ts";
import { readSnapshotResources, type ResourceSink } from "../../src/report/history/snapshot-columns.ts";
import { readSnapshotDays, type SnapshotProblem } from "../../src/report/history/snapshots.ts";

const BOOT = "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09";
const row = (host: string, at: string, used: number, extra: { upgradable?: unknown; disks?: unknown; os?: unknown } = {}): string =>
  JSON.stringify([host, at, ["web"], extra.os ?? "debian 12", extra.disks ?? [["/", 1000, used], ["/var", 5000, 2 * used]], [1000, 400 - used], [0.5, 0.4, 0.3 + used / 1000, 2], 1234, BOOT, false, extra.upgradable ?? [["curl", "7.88.1-10", "8.1.0-1", "major"]]]);

/** Everything a sink receives, in order, as text: what the reader handed over, value by value. */
function recorder(): { sink: ResourceSink; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    sink: {
      snapshot: (host, takenAt, ms, groups, unreachable) => void calls.push(`snapshot ${host} ${takenAt} ${ms} ${groups.join(",")} ${unreachable}`),
      disk: (mount, size, used) => void calls.push(`disk ${mount} ${size} ${used}`),
      memory: (total, available) => void calls.push(`memory ${total} ${available}`),
      load: (one, five, fifteen, cpus) => void calls.push(`load ${one} ${five} ${fifteen} ${cpus}`),
    },
  };
}

/** The collected series as plain data, to compare two ways of collecting. */
function plain(c: CollectedSeries): unknown {
  const series = (s: { kind: string; length: number; t: Float64Array; value: Float64Array; capacityAt(i: number): number; rejections(): unknown; lastCapacity: number }): unknown => ({ kind: s.kind, t: [...s.t.subarray(0, s.length)], value: [...s.value.subarray(0, s.length)], capacity: Array.from({ length: s.length }, (_, i) => s.capacityAt(i)), rejected: s.rejections(), lastCapacity: s.lastCapacity });
  return {
    snapshots: c.snapshots,
    days: c.days,
    hosts: [...c.hosts.values()].map((h) => ({ ...h, disks: [...h.disks].map(([m, s]) => [m, series(s)]), memory: series(h.memory), load: series(h.load) })),
  };
}

describe("snapshots read for their resources only (the forecast's reader)", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-snapcols-"));
    await mkdir(join(root, "facts/snapshots"), { recursive: true });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const write = (day: string, lines: string[]): Promise<void> => writeFile(join(root, "facts/snapshots", `${day}.jsonl`), `${lines.join("\n")}\n`);

  it("hands over every checked value of rows and format-1 lines, in order, and collects the same series as the full reader", async () => {
    await write("2026-03-01", [
      JSON.stringify({ v: 1, host: "a-1", takenAt: "2026-03-01T01:00:00.000Z", groups: ["db"], os: "debian 12", disks: [{ mount: "/", sizeBytes: 900, usedBytes: 90 }], memory: { totalBytes: 800, availableBytes: 300 }, load: { one: 1, five: 1, fifteen: 1.5, cpus: 4 }, uptimeSeconds: 5, bootId: BOOT, rebootRequired: false, upgradable: [] }),
      SNAPSHOT_HEADER_LINE,
      row("b-2", "2026-03-01T01:00:01.000Z", 10),
      JSON.stringify(["c-3", "2026-03-01T01:00:02.000Z", ["web"]]),
    ]);
    for (let d = 2; d <= 9; d++) await write(`2026-03-0${d}`, [SNAPSHOT_HEADER_LINE, row("b-2", `2026-03-0${d}T01:00:00.000Z`, 10 + d * 7), JSON.stringify(["c-3", `2026-03-0${d}T01:00:00.000Z`, ["web"]])]);
    const { sink, calls } = recorder();
    const problems: SnapshotProblem[] = [];
    expect(await readSnapshotResources(root, {}, sink, { onProblem: (p) => problems.push(p) })).toBe(9);
    expect(problems).toEqual([]);
    expect(calls.slice(0, 9)).toEqual([
      `snapshot a-1 2026-03-01T01:00:00.000Z ${Date.parse("2026-03-01T01:00:00.000Z")} db false`,
      "disk / 900 90",
      "memory 800 300",
      "load 1 1 1.5 4",
      `snapshot b-2 2026-03-01T01:00:01.000Z ${Date.parse("2026-03-01T01:00:01.000Z")} web false`,
      "disk / 1000 10",
      "disk /var 5000 20",
      "memory 1000 390",
      "load 0.5 0.4 0.31 2",
    ]);
    expect(calls[9]).toBe(`snapshot c-3 2026-03-01T01:00:02.000Z ${Date.parse("2026-03-01T01:00:02.000Z")} web true`);
    const range = { since: new Date("2026-03-01T01:00:01.000Z"), until: new Date("2026-03-09T00:30:00.000Z") };
    const direct = await collectSnapshotSeries(root, range, 10);
    const full = await collectSeries(readSnapshotDays(root, range), 10);
    expect(plain(direct)).toEqual(plain(full));
    // The range's ends are instants: a-1 (before since) and day 9 (after until) are out.
    expect(direct.hosts.has("a-1")).toBe(false);
    expect(direct.snapshots).toBe(2 + 7 * 2);
    expect(direct.hosts.get("b-2")!.disks.get("/var")!.length).toBe(8);
  });

  it("names a bad value with file:line, as the full reader does, and passes nothing of that line, whether it uses the value or not", async () => {
    await write("2026-03-02", [
      SNAPSHOT_HEADER_LINE,
      row("a-1", "2026-03-02T01:00:00.000Z", 10, { disks: [["/", 1000, 10], ["relative", 5, 1]] }),
      row("b-2", "2026-03-02T01:00:00.000Z", 10, { upgradable: [["bad name!", "1", "2", "major"]], os: "not\tan os" }),
      row("c-3", "2026-03-01T01:00:00.000Z", 10),
      row("b-2", "2026-03-02T02:00:00.000Z", 10),
      JSON.stringify(["d-4", "2026-03-02T01:00:00.000Z", ["web"], "debian 12", [], [1, 2]]),
      "{not json",
      JSON.stringify({ v: 1, host: "e-5", takenAt: "2026-03-02T01:00:00.000Z", groups: [], unreachable: true, os: "debian 12" }),
      row("f-6", "2026-03-02T01:00:00.000Z", 10, { upgradable: [["curl", "7.88.1-10", "8.1.0-1", "urgent"]] }),
    ]);
    const { sink, calls } = recorder();
    const problems: SnapshotProblem[] = [];
    await readSnapshotResources(root, {}, sink, { onProblem: (p) => problems.push(p) });
    const full: SnapshotProblem[] = [];
    for await (const _ of readSnapshotDays(root, {}, { onProblem: (p) => full.push(p) })) void _;
    const at = (line: number): string | undefined => problems.find((p) => p.line === line)?.message;
    expect(at(2)).toBe('has a disk mount "relative" that is not an absolute path without control characters; skipped');
    expect(at(3)).toMatch(/^has an os "not\\tan os"/);
    expect(at(4)).toBe("was taken on 2026-03-01, not on the file's day; skipped");
    expect(at(6)).toBe("has 6 values, not 11 (a reachable host) or 3 (an unreachable one: host, takenAt, groups); skipped");
    expect(at(7)).toBe("is not JSON; skipped");
    expect(at(8)).toBe("is unreachable yet has facts; skipped");
    expect(at(9)).toBe('has an upgradable type "urgent" of "curl" that is not security, patch, minor or major; skipped');
    expect(problems.every((p) => p.file === "facts/snapshots/2026-03-02.jsonl")).toBe(true);
    // The very same problems as the full reader: line 5 is b-2's first good line, so it is read.
    expect(problems).toEqual(full);
    expect(calls.filter((c) => c.startsWith("snapshot")).map((c) => c.split(" ")[1])).toEqual(["b-2"]);
    expect(calls).toContain("disk /var 5000 20");
  });
});
