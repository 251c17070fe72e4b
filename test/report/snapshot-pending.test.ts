import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SNAPSHOT_HEADER_LINE } from "../../src/facts/snapshot-line.ts";
import { readSnapshotResources } from "../../src/report/history/snapshot-columns.ts";
import { readPendingSnapshotDays, type PendingSnapshot } from "../../src/report/history/snapshot-pending.ts";
import { readSnapshotDays, type SnapshotProblem, type SnapshotRange } from "../../src/report/history/snapshots.ts";
import { PendingTracker, type EndedStreak } from "../../src/report/pending.ts";
import { prng } from "../support/prng.ts";

const BOOT = "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09";
type Update = [string, string, string, string];
const row = (host: string, at: string, upgradable: unknown, extra: { groups?: unknown; reboot?: unknown; disks?: unknown; os?: unknown; memory?: unknown; load?: unknown; uptime?: unknown; bootId?: unknown } = {}): string =>
  JSON.stringify([host, at, extra.groups ?? ["web"], extra.os ?? "debian 12", extra.disks ?? [["/", 1000, 100], ["/var", 5000, 2500]], extra.memory ?? [1000, 400], extra.load ?? [0.5, 0.4, 0.3, 2], extra.uptime ?? 1234.5, extra.bootId ?? BOOT, extra.reboot ?? false, upgradable]);
const record = (host: string, at: string, upgradable: Update[]): string =>
  JSON.stringify({ v: 1, host, takenAt: at, groups: ["db"], os: "debian 12", disks: [{ mount: "/", sizeBytes: 900, usedBytes: 90 }], memory: { totalBytes: 800, availableBytes: 300 }, load: { one: 1, five: 1, fifteen: 1.5, cpus: 4 }, uptimeSeconds: 5, bootId: BOOT, rebootRequired: true, upgradable: upgradable.map(([name, from, to, type]) => ({ name, from, to, type })) });

/** What the status and trends reports take of a snapshot, from either reader. */
const project = (s: PendingSnapshot): unknown => (s.unreachable === true ? { host: s.host, takenAt: s.takenAt, groups: s.groups, unreachable: true } : { host: s.host, takenAt: s.takenAt, groups: s.groups, rebootRequired: s.rebootRequired, upgradable: s.upgradable });

async function both(root: string, range: SnapshotRange = {}): Promise<{ pending: PendingSnapshot[][]; full: PendingSnapshot[][]; pendingProblems: SnapshotProblem[]; fullProblems: SnapshotProblem[] }> {
  const pendingProblems: SnapshotProblem[] = [];
  const fullProblems: SnapshotProblem[] = [];
  const pending: PendingSnapshot[][] = [];
  const full: PendingSnapshot[][] = [];
  for await (const day of readPendingSnapshotDays(root, range, { onProblem: (p) => pendingProblems.push(p) })) pending.push(day);
  for await (const day of readSnapshotDays(root, range, { onProblem: (p) => fullProblems.push(p) })) full.push(day);
  return { pending, full, pendingProblems, fullProblems };
}

describe("snapshots read for their pending updates only (status and trends)", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-snappending-"));
    await mkdir(join(root, "facts/snapshots"), { recursive: true });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const write = (day: string, lines: string[]): Promise<void> => writeFile(join(root, "facts/snapshots", `${day}.jsonl`), `${lines.join("\n")}\n`);

  it("reads what the full reader reads, with the same problems, over a random history with bad lines, escapes and both formats", async () => {
    const rand = prng(11);
    const int = (n: number): number => Math.floor(rand() * n);
    const pool: Update[] = [["curl", "7.88.1-10", "8.1.0-1", "major"], ["libc6", "2.36-9+deb12u4", "2.36-9+deb12u7", "security"], ["openssl", "3.0.11-1", "3.0.13-1", "patch"], ["nginx", "1.22.1-9", "1.22.1-9+deb12u1", "security"], ["zlib1g", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-2", "minor"]];
    const hosts = ["a-1", "b-2", "c-3", "d-4", "e-5", "f-6"];
    const lists = new Map<string, Update[]>(hosts.map((h) => [h, [pool[0]!]]));
    let rows = 0;
    for (let d = 1; d <= 28; d++) {
      const day = `2026-02-${String(d).padStart(2, "0")}`;
      const lines = [SNAPSHOT_HEADER_LINE];
      hosts.forEach((host, i) => {
        const at = `${day}T01:00:0${i}.000Z`;
        // About half the days a host's list changes, as in a real fleet.
        if (rand() < 0.5) lists.set(host, pool.filter(() => rand() < 0.4));
        const list = lists.get(host)!;
        // Each kind of line once in the first days, then at random.
        const pick = rows < 30 ? rows : int(60);
        rows += 1;
        const good = row(host, at, list);
        if (pick === 0) lines.push(JSON.stringify([host, at, ["web"]])); // unreachable
        else if (pick === 1) lines.push(row(host, at, [...list, ["bad name!", "1", "2", "patch"]])); // a bad update: skipped by both
        else if (pick === 2) lines.push(row(host, at, list, { reboot: "yes" })); // a bad reboot flag
        else if (pick === 3) lines.push(row(host, at, list, { groups: ["we b"] })); // a bad group
        else if (pick === 4) lines.push(good.slice(0, -3)); // torn: not JSON
        else if (pick === 5) lines.push(good.replace('"web"', '"\\u0077eb"')); // an escape: the slow path, same record
        else if (pick === 6) lines.push(row(host, `2026-01-01T00:00:00.000Z`, list)); // another day's line
        else if (pick === 7) lines.push(good.replace(/"patch"/g, '"p\\u0061tch"').replace(/"security"/g, '"s\\u0065curity"')); // escaped types, same text
        else if (pick === 8) lines.push(` ${good}`); // leading white space: parsed as before
        else if (pick === 9) lines.push(record(host, at, list)); // format 1 among rows
        else if (pick === 10) lines.push(JSON.stringify([host, at, ["web"], "debian 12"])); // a wrong length
        // The values no pending report uses break their rules, or are good in another form: judged as the full reader judges them.
        else if (pick === 11) lines.push(row(host, at, list, { disks: [["relative", 1, 1]] }));
        else if (pick === 12) lines.push(row(host, at, list, { disks: [["/", 1, 1], ["/", 2, 2]] })); // a mount twice
        else if (pick === 13) lines.push(JSON.stringify([host, at, ["web"], null, null, null, null, null, null, false, list]));
        else if (pick === 14) lines.push(row(host, at, list, { memory: [1000, 1001] })); // available above total
        else if (pick === 15) lines.push(row(host, at, list, { load: [0.5, 0.4, 0.3, 0] })); // no cpu
        else if (pick === 16) lines.push(row(host, at, list, { load: [4194305, 0.4, 0.3, 2] })); // above Linux's most tasks
        else if (pick === 17) lines.push(row(host, at, list, { uptime: 1e12 }));
        else if (pick === 18) lines.push(row(host, at, list, { bootId: "not-a-uuid" }));
        else if (pick === 19) lines.push(row(host, at, list, { os: "<script>" }));
        else if (pick === 20) lines.push(row(host, at, list, { disks: [["/", 2 ** 53, 1]] })); // beyond whole bytes
        else if (pick === 21) lines.push(good.replace("1234.5", "1.2345e3")); // an exponent: good, another form
        else if (pick === 22) lines.push(good.replace('"/var"', '"\\/var"')); // an escaped slash: good, another form
        else if (pick === 23) lines.push(good.replace("[0.5,", "[-0,")); // -0: good for JSON.parse's reading
        else if (pick === 24) lines.push(good.replace("1234.5", "1e400")); // Infinity
        else if (pick === 25) lines.push(row(host, at, list, { load: [4194304, 0.4, 0.3, 2] })); // exactly the most
        else if (pick === 26) lines.push(row(host, at, list, { disks: [] }));
        else if (pick === 27) lines.push(row(host, at, list, { memory: [1000, 1000], load: [0, 0, 0, 65536], uptime: 0 }));
        else if (pick === 28) lines.push(row(host, at, list, { disks: [["/", 1, 1], ["/b", 1, 1], ["/b", 1, 1]] }));
        else if (pick === 29) lines.push(row(host, at, list, { bootId: "0B7C4E2A-9D1F-4C3B-8A6E-5F4D3C2B1A09" }));
        else lines.push(good);
        if (int(30) === 0) lines.push(row(host, at, list)); // a second line for the host
      });
      if (d === 5) lines.unshift(row("z-9", `${day}T00:00:00.000Z`, [])); // a row before the header
      await write(day, lines);
    }
    const { pending, full, pendingProblems, fullProblems } = await both(root);
    expect(pending.map((day) => day.map(project))).toEqual(full.map((day) => day.map(project)));
    expect(pendingProblems).toEqual(fullProblems);
    expect(fullProblems.length).toBeGreaterThan(20);
    // The forecast's reader skips and names the very same lines, and takes the others.
    const forecastProblems: SnapshotProblem[] = [];
    const taken: string[] = [];
    const ignore = (): void => undefined;
    await readSnapshotResources(root, {}, { snapshot: (host, takenAt) => void taken.push(`${host} ${takenAt}`), disk: ignore, memory: ignore, load: ignore }, { onProblem: (p) => forecastProblems.push(p) });
    expect(forecastProblems).toEqual(fullProblems);
    expect(taken).toEqual(full.flat().map((s) => `${s.host} ${s.takenAt}`));
    // Every kind of line above was met.
    const messages = fullProblems.map((p) => p.message).join("\n");
    for (const kind of ["upgradable name", "rebootRequired", "groups", "not JSON", "not on the file's day", "second line", "before the file's header", "has 4 values", "not an absolute path", "twice", "no disks list", "above its totalBytes", "load.cpus", "load above", "uptimeSeconds", "bootId", "os ", "whole number of bytes", "uptimeSeconds Infinity"]) expect(messages).toContain(kind);

    const range = { since: new Date("2026-02-03T01:00:02.000Z"), until: new Date("2026-02-20T01:00:03.000Z") };
    const ranged = await both(root, range);
    expect(ranged.pending.map((day) => day.map(project))).toEqual(ranged.full.map((day) => day.map(project)));
    expect(ranged.pending[0]!.every((s) => s.takenAt >= "2026-02-03T01:00:02.000Z")).toBe(true);

    // The tracker ends the same streaks and leaves the same pending sets from either reader (its internal marks aside).
    const track = (days: PendingSnapshot[][]): { ended: EndedStreak[]; left: unknown } => {
      const ended: EndedStreak[] = [];
      const tracker = new PendingTracker((s) => ended.push(s));
      for (const day of days) for (const s of day) tracker.add(s);
      return { ended, left: [...tracker.hosts].map(([h, st]) => [h, [...st.pending.values()].map((u) => ({ name: u.name, type: u.type, firstSeen: u.firstSeen })), st.exposed, st.latest.takenAt]) };
    };
    const a = track(pending);
    expect(a).toEqual(track(full));
    expect(a.ended.length).toBeGreaterThan(30);
  });

  it("hands on the host's previous list itself while its bytes stay the same, a new one when they change", async () => {
    const list: Update[] = [["curl", "7.88.1-10", "8.1.0-1", "major"]];
    await write("2026-03-01", [SNAPSHOT_HEADER_LINE, row("a-1", "2026-03-01T01:00:00.000Z", list), row("b-2", "2026-03-01T01:00:00.000Z", list)]);
    await write("2026-03-02", [SNAPSHOT_HEADER_LINE, row("a-1", "2026-03-02T01:00:00.000Z", list), JSON.stringify(["b-2", "2026-03-02T01:00:00.000Z", ["web"]])]);
    await write("2026-03-03", [SNAPSHOT_HEADER_LINE, row("a-1", "2026-03-03T01:00:00.000Z", [...list, ["zlib1g", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-2", "minor"]]), row("b-2", "2026-03-03T01:00:00.000Z", list)]);
    const { pending } = await both(root);
    const [d1, d2, d3] = pending as [PendingSnapshot[], PendingSnapshot[], PendingSnapshot[]];
    expect(d2[0]!.upgradable).toBe(d1[0]!.upgradable);
    expect(d3[0]!.upgradable).not.toBe(d1[0]!.upgradable);
    expect(d3[0]!.upgradable).toHaveLength(2);
    // Over a gap (b-2 unreachable on day 2) the list is still the one remembered.
    expect(d3[1]!.upgradable).toBe(d1[1]!.upgradable);
    // Each host has its own: equal bytes on two hosts are two lists.
    expect(d1[1]!.upgradable).not.toBe(d1[0]!.upgradable);
  });

  it("skips a line that is not UTF-8 text, a lone surrogate in a mount, and a header naming a member twice, in every reader alike", async () => {
    const good = row("a-1", "2026-03-01T01:00:00.000Z", [["curl", "7.88.1-10", "8.1.0-1", "major"]]);
    const badBytes = (text: string, from: string, to: Buffer): Buffer => {
      const [head, tail] = text.split(from) as [string, string];
      return Buffer.concat([Buffer.from(head), to, Buffer.from(tail)]);
    };
    const nl = Buffer.from("\n");
    const lines = [
      Buffer.from(SNAPSHOT_HEADER_LINE.replace('{"v":2,', '{"v":1,"v":2,')), // a header with a member twice: named, and no header yet
      nl,
      Buffer.from(SNAPSHOT_HEADER_LINE),
      nl,
      badBytes(good, '"curl"', Buffer.from([0x22, 0x63, 0xff, 0x22])), // invalid UTF-8 in a package name
      nl,
      badBytes(good.replace("a-1", "b-2"), '"/var"', Buffer.from([0x22, 0x2f, 0x64, 0xfe, 0x22])), // and in a mount
      nl,
      Buffer.from(good.replace("a-1", "c-3").replace('"/var"', '"/\\ud800"')), // a lone surrogate
      nl,
      Buffer.from(JSON.stringify({ v: 1, host: "d-4", takenAt: "2026-03-01T01:00:00.000Z", groups: [], unreachable: true }).replace('{"v":1,', '{"v":1,"v":2,')), // read as a header before: named as a member twice
      nl,
      Buffer.from(good.replace("a-1", "e-5")),
      nl,
    ];
    await writeFile(join(root, "facts/snapshots/2026-03-01.jsonl"), Buffer.concat(lines));
    const { pending, full, pendingProblems, fullProblems } = await both(root);
    expect(fullProblems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '1: has the member "v" twice (a reader keeps the last, a reviewer may read the first); skipped',
      "3: is not UTF-8 text; skipped",
      "4: is not UTF-8 text; skipped",
      expect.stringMatching(/^5: has a disk mount "\/\\ud800" that is not an absolute path/),
      '6: has the member "v" twice (a reader keeps the last, a reviewer may read the first); skipped',
    ]);
    expect(pendingProblems).toEqual(fullProblems);
    expect(full.flat().map((s) => s.host)).toEqual(["e-5"]);
    expect(pending.flat().map((s) => s.host)).toEqual(["e-5"]);
    const forecastProblems: SnapshotProblem[] = [];
    const ignore = (): void => undefined;
    await readSnapshotResources(root, {}, { snapshot: ignore, disk: ignore, memory: ignore, load: ignore }, { onProblem: (p) => forecastProblems.push(p) });
    expect(forecastProblems).toEqual(fullProblems);
  });

  it("skips a row whose unused values break their rule, as the full reader does, naming it", async () => {
    await write("2026-03-01", [SNAPSHOT_HEADER_LINE, row("a-1", "2026-03-01T01:00:00.000Z", [], { disks: [["relative", 1, 1]] }), JSON.stringify(["b-2", "2026-03-01T01:00:00.000Z", ["web"], null, null, null, null, null, null, false, []])]);
    const { pending, full, pendingProblems, fullProblems } = await both(root);
    expect(full).toEqual([]);
    expect(pending).toEqual([]);
    expect(fullProblems.map((p) => `${p.line}: ${p.message}`)).toEqual([expect.stringMatching(/^2: .*not an absolute path/), expect.stringMatching(/^3: /)]);
    expect(pendingProblems).toEqual(fullProblems);
  });
});
