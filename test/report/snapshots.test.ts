import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { daysToPrune, isoWeek, snapshotOf, writeSnapshots } from "../../src/facts/snapshot.ts";
import { SNAPSHOT_HEADER, SNAPSHOT_HEADER_LINE, snapshotRow } from "../../src/facts/snapshot-line.ts";
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
    bootId: "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09",
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
    // Format 2: the header naming the columns, then one row per host by name; an unreachable host's row has host, takenAt and groups only.
    const [header, ...rows] = text.trim().split("\n").map((l) => JSON.parse(l) as unknown);
    expect(header).toEqual(SNAPSHOT_HEADER);
    expect(rows[0]).toEqual(["a-1", "2026-03-02T10:00:00.000Z", ["db"]]);
    expect(rows[1]).toEqual(["web-2", "2026-03-02T10:00:00.000Z", ["prod", "web"], "debian 12", [["/", 100, 10]], [1000, 400], [0.5, 0.4, 0.3, 2], 1234, "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09", true, [["bash", "5.2.15-2", "5.2.15-2+b1", "patch"], ["curl", "7.88.1-10", "8.1.0-1", "major"], ["openssl", "3.0.11-1", "3.0.13-1", "security"]]]);
    const { lines, problems } = await collect(root);
    expect(problems).toEqual([]);
    expect(lines.map((l) => l.host)).toEqual(["a-1", "web-2"]);
    expect(lines[0]).toEqual({ v: 1, host: "a-1", takenAt: "2026-03-02T10:00:00.000Z", groups: ["db"], unreachable: true });
    expect(lines[1]).toMatchObject({ groups: ["prod", "web"], os: "debian 12", rebootRequired: true, disks: [{ mount: "/", sizeBytes: 100, usedBytes: 10 }], memory: { totalBytes: 1000, availableBytes: 400 }, load: { one: 0.5, five: 0.4, fifteen: 0.3, cpus: 2 }, uptimeSeconds: 1234 });
    expect(lines[1]!.upgradable).toEqual([
      { name: "bash", from: "5.2.15-2", to: "5.2.15-2+b1", type: "patch" },
      { name: "curl", from: "7.88.1-10", to: "8.1.0-1", type: "major" },
      { name: "openssl", from: "3.0.11-1", to: "3.0.13-1", type: "security" },
    ]);
  });

  it("reads committed format-1 lines (one object per host), alone or mixed with format-2 rows, and rewrites them as format 2", async () => {
    const v1 = [snapshotOf(ok("a", "2026-03-02T01:00:00.000Z", 10), ["web"]), snapshotOf({ host: "b", ok: false, gatheredAt: "2026-03-02T01:00:00.000Z", error: { kind: "unreachable", message: "x" } }, [])];
    const path = join(root, "facts/snapshots/2026-03-02.jsonl");
    await writeSnapshots(root, [snapshotOf(ok("z", "2026-03-02T01:00:00.000Z"), [])]);
    await writeFile(join(root, "facts/snapshots/2026-03-01.jsonl"), v1.map((s) => `${JSON.stringify({ ...s, takenAt: s.takenAt.replace("03-02", "03-01") })}\n`).join(""));
    await writeFile(path, `${await readFile(path, "utf8")}${v1.map((s) => `${JSON.stringify(s)}\n`).join("")}`);
    const { lines, problems } = await collect(root);
    expect(problems).toEqual([]);
    expect(lines.map((l) => `${l.takenAt.slice(0, 10)} ${l.host}`)).toEqual(["2026-03-01 a", "2026-03-01 b", "2026-03-02 z", "2026-03-02 a", "2026-03-02 b"]);
    expect(lines[3]).toEqual(v1[0]);
    expect(lines[4]).toEqual(v1[1]);
    // A new snapshot of that day merges the old lines and writes the file in format 2, by host.
    await writeSnapshots(root, [snapshotOf(ok("a", "2026-03-02T05:00:00.000Z", 30), ["web"])]);
    const text = await readFile(path, "utf8");
    expect(text.split("\n")[0]).toBe(SNAPSHOT_HEADER_LINE);
    expect(text.split("\n").slice(1, -1).map((l) => (JSON.parse(l) as unknown[])[0])).toEqual(["a", "b", "z"]);
    const after = await collect(root, { since: new Date("2026-03-02T00:00:00Z") });
    expect(after.lines.map((l) => [l.host, l.disks?.[0]?.usedBytes])).toEqual([["a", 30], ["b", undefined], ["z", 10]]);
  });

  it("names a row before the header, a row of the wrong length and a header that is not format 2's, and reads the rest", async () => {
    await writeSnapshots(root, [snapshotOf(ok("a", "2026-03-02T01:00:00.000Z"), [])]);
    const path = join(root, "facts/snapshots/2026-03-02.jsonl");
    const [header, row] = (await readFile(path, "utf8")).trim().split("\n") as [string, string];
    const other = row.replace('"a"', '"b"');
    const renamed = header.replace('"sizeBytes"', '"size"');
    await writeFile(path, `${other}\n${header}\n${row}\n["c","2026-03-02T01:00:00.000Z",[],"debian 12"]\n${renamed}\n${row.replace('"a"', '"d"')}\n`);
    const { lines, problems } = await collect(root);
    expect(lines.map((l) => l.host)).toEqual(["a"]);
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      expect.stringMatching(/^1: is a format-2 row before the file's header line/),
      expect.stringMatching(/^4: has 4 values, not 11 \(a reachable host\) or 3/),
      expect.stringMatching(/^5: is not the format-2 header line/),
      expect.stringMatching(/^6: is a format-2 row under the bad header of line 5; skipped/),
    ]);
  });

  it("skips a format-1 line that names a member twice, which JSON.parse would read as its last", async () => {
    await writeSnapshots(root, [snapshotOf(ok("a", "2026-03-02T01:00:00.000Z"), [])]);
    const path = join(root, "facts/snapshots/2026-03-02.jsonl");
    const good = JSON.stringify({ v: 1, host: "b", takenAt: "2026-03-02T01:00:00.000Z", groups: [], unreachable: true });
    await writeFile(path, `${good}\n${good.replace('"host":"b"', '"host":"c","host":"d"')}\n`);
    const { lines, problems } = await collect(root);
    expect(lines.map((l) => l.host)).toEqual(["b"]);
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual(['2: has the member "host" twice (a reader keeps the last, a reviewer may read the first); skipped']);
  });

  it("ignores a byte-order mark before the header: the day is read whole", async () => {
    await writeSnapshots(root, [snapshotOf(ok("a", "2026-03-02T01:00:00.000Z"), []), snapshotOf(ok("b", "2026-03-02T01:00:00.000Z"), [])]);
    const path = join(root, "facts/snapshots/2026-03-02.jsonl");
    await writeFile(path, `\ufeff${await readFile(path, "utf8")}`);
    const { lines, problems } = await collect(root);
    expect(problems).toEqual([]);
    expect(lines.map((l) => l.host)).toEqual(["a", "b"]);
  });

  it("names a .jsonl file whose name is not a calendar date and skips it; other files are not snapshots", async () => {
    await writeSnapshots(root, [snapshotOf(ok("a", "2026-03-02T01:00:00.000Z"), [])]);
    const text = await readFile(join(root, "facts/snapshots/2026-03-02.jsonl"), "utf8");
    for (const name of ["2026-03-1.jsonl", "2026-13-45.jsonl", "2026-02-30.jsonl", "notes.JSONL"]) await writeFile(join(root, "facts/snapshots", name), text.replace('"a"', '"z"'));
    await writeFile(join(root, "facts/snapshots/.gitkeep"), "");
    const { lines, problems } = await collect(root);
    expect(lines.map((l) => l.host)).toEqual(["a"]);
    expect(problems.map((p) => `${p.file}:${p.line}: ${p.message}`).sort()).toEqual([
      "facts/snapshots/2026-02-30.jsonl:0: is named for 2026-02-30, which is not a calendar date; skipped (rename it to the UTC date it holds, <YYYY-MM-DD>.jsonl)",
      "facts/snapshots/2026-03-1.jsonl:0: is not named <YYYY-MM-DD>.jsonl (the UTC date it holds); skipped (rename it)",
      "facts/snapshots/2026-13-45.jsonl:0: is named for 2026-13-45, which is not a calendar date; skipped (rename it to the UTC date it holds, <YYYY-MM-DD>.jsonl)",
      "facts/snapshots/notes.JSONL:0: is not named <YYYY-MM-DD>.jsonl (the UTC date it holds); skipped (rename it)",
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
    // Lines 3 and 4 are the good file's header and row.
    expect(problems.map((p) => `${p.file}:${p.line}`)).toEqual(["facts/snapshots/2026-03-03.jsonl:1", "facts/snapshots/2026-03-03.jsonl:2", "facts/snapshots/2026-03-03.jsonl:5", "facts/snapshots/2026-03-04.jsonl:0"]);
    expect(problems[1]!.message).toMatch(/os/);
    expect(problems[2]!.message).toMatch(/is not the format-2 header line/);
    expect(problems[3]!.message).toMatch(/symbolic link/);
  });

  it("names a second line for the same host as file:line and keeps the first", async () => {
    await writeSnapshots(root, [snapshotOf(ok("a", "2026-03-02T01:00:00Z", 10), []), snapshotOf(ok("b", "2026-03-02T01:00:00Z", 20), [])]);
    const path = join(root, "facts/snapshots/2026-03-02.jsonl");
    const later = JSON.stringify(snapshotOf(ok("a", "2026-03-02T05:00:00Z", 90), []));
    await writeFile(path, `${await readFile(path, "utf8")}${later}\n`);
    const { lines, problems } = await collect(root);
    expect(lines.map((l) => [l.host, l.disks?.[0]?.usedBytes])).toEqual([["a", 10], ["b", 20]]);
    // Line 1 is the header; the appended line (format 1) is line 4.
    expect(problems.map((p) => `${p.file}:${p.line}`)).toEqual(["facts/snapshots/2026-03-02.jsonl:4"]);
    expect(problems[0]!.message).toMatch(/second line for host "a" \(first on line 2\)/);
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

describe("the snapshot grammar: every host-read value, on write and on read", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-snap-grammar-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const good = (): FactSnapshot => snapshotOf(ok("web-1", "2026-03-02T10:00:00.000Z"), ["web"]);
  // Each a value a hostile host (or a hand edit) could put there, and what the refusal names.
  const hostile: Array<[string, (s: FactSnapshot) => unknown, RegExp]> = [
    ["a bootId that is any string", (s) => ({ ...s, bootId: "b0" }), /bootId "b0" that is not a UUID \(Linux's \/proc\/sys\/kernel\/random\/boot_id/],
    ["an upper-case or braced bootId", (s) => ({ ...s, bootId: "{0B7C4E2A-9D1F-4C3B-8A6E-5F4D3C2B1A09}" }), /bootId .* not a UUID/],
    ["an escape sequence in the bootId", (s) => ({ ...s, bootId: "\u001b]0;x\u0007" }), /bootId "\\u001b\]0;x\\u0007" that is not a UUID/],
    ["an empty bootId", (s) => ({ ...s, bootId: "" }), /bootId "" that is not a UUID/],
    ["a fractional size", (s) => ({ ...s, disks: [{ mount: "/", sizeBytes: 100.5, usedBytes: 1 }] }), /size of disk "\/" that is not a whole number of bytes/],
    ["a negative size", (s) => ({ ...s, disks: [{ mount: "/", sizeBytes: 100, usedBytes: -1 }] }), /size of disk "\/" that is not a whole number of bytes/],
    ["a size past 2^53", (s) => ({ ...s, memory: { totalBytes: 2 ** 60, availableBytes: 1 } }), /memory that is not .* whole bytes/],
    ["a relative mount", (s) => ({ ...s, disks: [{ mount: "var", sizeBytes: 1, usedBytes: 1 }] }), /disk mount "var" that is not an absolute path/],
    ["a control character in a mount", (s) => ({ ...s, disks: [{ mount: "/x\n::error::y", sizeBytes: 1, usedBytes: 1 }] }), /disk mount "\/x\\n::error::y" that is not an absolute path without control characters/],
    ["a bidi override in a mount", (s) => ({ ...s, disks: [{ mount: "/data\u202e", sizeBytes: 1, usedBytes: 1 }] }), /disk mount .* not an absolute path/],
    ["a mount twice", (s) => ({ ...s, disks: [{ mount: "/", sizeBytes: 1, usedBytes: 1 }, { mount: "/", sizeBytes: 2, usedBytes: 1 }] }), /lists the disk mount "\/" twice/],
    ["no CPU", (s) => ({ ...s, load: { ...s.load, cpus: 0 } }), /load.cpus 0 that is not a whole number from 1 to 65536/],
    ["a negative load", (s) => ({ ...s, load: { ...s.load, one: -1 } }), /load that is not/],
    ["a load no Linux can have", (s) => ({ ...s, load: { ...s.load, fifteen: 1e308 } }), /load above 4194304 \(Linux's most tasks, PID_MAX_LIMIT\)/],
    ["more memory available than there is", (s) => ({ ...s, memory: { totalBytes: 1000, availableBytes: 1001 } }), /availableBytes 1001 above its totalBytes 1000/],
    ["a reboot flag as a string", (s) => ({ ...s, rebootRequired: "false" }), /rebootRequired "false" that is not true or false/],
    ["an uptime of centuries", (s) => ({ ...s, uptimeSeconds: 1e12 }), /uptimeSeconds 1000000000000 that is not a number of seconds/],
    ["an os with markup", (s) => ({ ...s, os: "debian <b>12</b>" }), /os "debian <b>12<\/b>" that is not "<ID> <VERSION_ID>"/],
    ["a package name with a pipe", (s) => ({ ...s, upgradable: [{ name: "evil|pkg", from: "1", to: "2", type: "security" }] }), /upgradable name "evil\|pkg" no package manager accepts/],
    ["a version with a space", (s) => ({ ...s, upgradable: [{ name: "curl", from: "1 2", to: "2", type: "patch" }] }), /upgradable from version "1 2" of "curl" no package manager accepts/],
  ];

  it("accepts what steward facts reads from a real host", async () => {
    const written = await writeSnapshots(root, [good()]);
    expect(written.refused).toEqual([]);
    expect((await collect(root)).problems).toEqual([]);
  });

  it.each(hostile)("refuses %s when writing, naming the host, and keeps the other hosts", async (_what, edit, message) => {
    const bad = edit({ ...good(), host: "evil-1" }) as FactSnapshot;
    const written = await writeSnapshots(root, [good(), bad]);
    expect(written.refused).toHaveLength(1);
    expect(written.refused[0]!.host).toBe("evil-1");
    expect(written.refused[0]!.message).toMatch(message);
    const { lines, problems } = await collect(root);
    expect(lines.map((l) => l.host)).toEqual(["web-1"]);
    expect(problems).toEqual([]);
  });

  it.each(hostile)("names %s in a committed file as file:line when reading, and reads the good lines", async (_what, edit, message) => {
    await writeSnapshots(root, [good()]);
    const path = join(root, "facts/snapshots/2026-03-02.jsonl");
    await writeFile(path, `${await readFile(path, "utf8")}${JSON.stringify(edit({ ...good(), host: "web-2" }))}\n`);
    const { lines, problems } = await collect(root);
    expect(lines.map((l) => l.host)).toEqual(["web-1"]);
    expect(problems).toHaveLength(1);
    // Line 1 is the header, 2 web-1's row, 3 the appended line.
    expect(`${problems[0]!.file}:${problems[0]!.line}`).toBe("facts/snapshots/2026-03-02.jsonl:3");
    expect(problems[0]!.message).toMatch(message);
  });

  it.each(hostile)("names %s in a committed format-2 row as file:line when reading, and reads the good lines", async (_what, edit, message) => {
    await writeSnapshots(root, [good()]);
    const path = join(root, "facts/snapshots/2026-03-02.jsonl");
    await writeFile(path, `${await readFile(path, "utf8")}${JSON.stringify(snapshotRow(edit({ ...good(), host: "web-2" }) as FactSnapshot))}\n`);
    const { lines, problems } = await collect(root);
    expect(lines.map((l) => l.host)).toEqual(["web-1"]);
    expect(problems.map((p) => `${p.file}:${p.line}`)).toEqual(["facts/snapshots/2026-03-02.jsonl:3"]);
    expect(problems[0]!.message).toMatch(message);
  });
});
