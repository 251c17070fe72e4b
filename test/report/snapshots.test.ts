import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { daysToPrune, isoWeek, snapshotOf, writeSnapshots } from "../../src/facts/snapshot.ts";
import type { FactsResult } from "../../src/facts/types.ts";
import { readSnapshots, type FactSnapshot, type SnapshotProblem } from "../../src/report/history/snapshots.ts";

const ok = (host: string, gatheredAt: string, used = 10): FactsResult => ({
  host,
  ok: true,
  gatheredAt,
  facts: {
    os: { id: "debian", versionId: "12", prettyName: "Debian 12" },
    kernel: { release: "6.1.0", installed: [] },
    packageManager: "apt",
    installed: [],
    upgradable: [
      { name: "openssl", arch: "amd64", from: "3.0.11-1", to: "3.0.13-1", source: "bookworm-security", security: true },
      { name: "openssl", arch: "i386", from: "3.0.11-1", to: "3.0.13-1", source: "bookworm-security", security: true },
      { name: "curl", from: "7.88.1-10", to: "8.1.0-1", security: false },
      { name: "bash", from: "5.2.15-2", to: "5.2.15-2+b1", security: false },
    ],
    reboot: { required: true, reasons: ["/var/run/reboot-required"] },
    disks: [{ mount: "/", filesystem: "ext4", sizeBytes: 100, usedBytes: used, usedPercent: used }],
    memory: { totalBytes: 1000, availableBytes: 400 },
    load: { one: 0.5, five: 0.4, fifteen: 0.3, cpus: 2 },
    uptimeSeconds: 1234,
    bootId: "b0",
    services: {},
  },
});

const collect = async (root: string, range = {}): Promise<{ lines: FactSnapshot[]; problems: SnapshotProblem[] }> => {
  const problems: SnapshotProblem[] = [];
  const lines: FactSnapshot[] = [];
  for await (const s of readSnapshots(root, range, { onProblem: (p) => problems.push(p) })) lines.push(s);
  return { lines, problems };
};

describe("facts snapshots", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-snap-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("writes one compact line per host, by name, typed updates, unreachable hosts as gaps", async () => {
    const failed: FactsResult = { host: "a-1", ok: false, gatheredAt: "2026-03-02T10:00:00.000Z", error: { kind: "unreachable", message: "no route" } };
    await writeSnapshots(root, [snapshotOf(ok("web-2", "2026-03-02T10:00:00.000Z"), ["web", "prod"]), snapshotOf(failed, ["db"])]);
    const text = await readFile(join(root, "facts/snapshots/2026-03-02.jsonl"), "utf8");
    const lines = text.trim().split("\n").map((l) => JSON.parse(l) as FactSnapshot);
    expect(lines.map((l) => l.host)).toEqual(["a-1", "web-2"]);
    expect(lines[0]).toEqual({ v: 1, host: "a-1", takenAt: "2026-03-02T10:00:00.000Z", groups: ["db"], unreachable: true });
    expect(lines[1]).toMatchObject({ groups: ["prod", "web"], os: "debian 12", rebootRequired: true, disks: [{ mount: "/", sizeBytes: 100, usedBytes: 10 }] });
    expect(lines[1]!.upgradable).toEqual([
      { name: "bash", from: "5.2.15-2", to: "5.2.15-2+b1", type: "patch" },
      { name: "curl", from: "7.88.1-10", to: "8.1.0-1", type: "major" },
      { name: "openssl", from: "3.0.11-1", to: "3.0.13-1", type: "security" },
    ]);
  });

  it("a second snapshot the same day replaces that host's line and keeps the others", async () => {
    await writeSnapshots(root, [snapshotOf(ok("a", "2026-03-02T01:00:00Z", 10), []), snapshotOf(ok("b", "2026-03-02T01:00:00Z", 10), [])]);
    await writeSnapshots(root, [snapshotOf(ok("a", "2026-03-02T18:00:00Z", 30), [])]);
    const { lines, problems } = await collect(root);
    expect(problems).toEqual([]);
    expect(lines.map((l) => [l.host, l.disks?.[0]?.usedBytes])).toEqual([["a", 30], ["b", 10]]);
    expect((await readdir(join(root, "facts/snapshots"))).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("reads in date order within the range, and reports bad lines as file:line without stopping", async () => {
    await writeSnapshots(root, [snapshotOf(ok("a", "2026-03-01T00:00:00Z"), []), snapshotOf(ok("a", "2026-03-03T00:00:00Z"), []), snapshotOf(ok("a", "2026-03-05T00:00:00Z"), [])]);
    const path = join(root, "facts/snapshots/2026-03-03.jsonl");
    const good = await readFile(path, "utf8");
    await writeFile(path, `not json\n{"v":1,"host":"b","takenAt":"2026-03-03T00:00:00Z","groups":[],"os":"x\\u001b[31m"}\n${good}{"v":2}\n`);
    await writeFile(join(root, "facts/snapshots/notes.txt"), "ignored");
    await symlink("/etc/passwd", join(root, "facts/snapshots/2026-03-04.jsonl"));
    const { lines, problems } = await collect(root, { since: new Date("2026-03-02T00:00:00Z") });
    expect(lines.map((l) => l.takenAt.slice(0, 10))).toEqual(["2026-03-03", "2026-03-05"]);
    expect(problems.map((p) => `${p.file}:${p.line}`)).toEqual(["facts/snapshots/2026-03-03.jsonl:1", "facts/snapshots/2026-03-03.jsonl:2", "facts/snapshots/2026-03-03.jsonl:4", "facts/snapshots/2026-03-04.jsonl:0"]);
    expect(problems[1]!.message).toMatch(/os/);
    expect(problems[3]!.message).toMatch(/symbolic link/);
  });

  it("keeps every day for 400 days, then the last day of each ISO week", async () => {
    expect(isoWeek("2026-01-01")).toBe("2026-W01");
    expect(isoWeek("2027-01-01")).toBe("2026-W53");
    expect(isoWeek("2024-12-30")).toBe("2025-W01");
    const days: string[] = [];
    for (let t = Date.parse("2025-01-01T00:00:00Z"); t <= Date.parse("2026-03-01T00:00:00Z"); t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
    const pruned = daysToPrune(days, "2026-03-01");
    const kept = days.filter((d) => !pruned.includes(d));
    // 400 days back from 2026-03-01 inclusive starts on 2025-01-26; older days keep their week's Sunday only.
    expect(kept.filter((d) => d >= "2025-01-26").length).toBe(400);
    expect(kept.filter((d) => d < "2025-01-26")).toEqual(["2025-01-05", "2025-01-12", "2025-01-19", "2025-01-25"]);
    await writeSnapshots(root, [snapshotOf(ok("a", "2024-01-01T00:00:00Z"), []), snapshotOf(ok("a", "2024-01-02T00:00:00Z"), []), snapshotOf(ok("a", "2026-03-01T00:00:00Z"), [])]);
    expect((await readdir(join(root, "facts/snapshots"))).sort()).toEqual(["2024-01-02.jsonl", "2026-03-01.jsonl"]);
  });
});
