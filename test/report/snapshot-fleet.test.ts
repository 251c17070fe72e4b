import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { readSnapshots, snapshotProblem, type FactSnapshot } from "../../src/report/history/snapshots.ts";
import { downFleet, healFault, injectFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 140;
const PROJECT = resolve(import.meta.dirname, "../..");

async function steward(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: process.env, cwd: process.cwd() });
  return { code, stdout, stderr };
}

describe("steward facts --snapshot on real hosts", () => {
  let dir: string;
  let state: FleetState;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-snapshot-")), "fleet");
    state = await upFleet({ dir, count: 3, subnet: SUBNET, hide: [PROJECT] });
  });

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("records every host of the day, an unreachable one as a gap, and a second snapshot replaces the first", async () => {
    const first = await steward(["facts", "--root", state.dir, "--snapshot"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/snapshot: 3 host\(s\) in facts\/snapshots\/\d{4}-\d\d-\d\d\.jsonl/);
    const day = /facts\/snapshots\/(\d{4}-\d\d-\d\d)\.jsonl/.exec(first.stdout)![1]!;
    const file = join(state.dir, "facts/snapshots", `${day}.jsonl`);
    // Line format 2: the header naming the columns, then one row per host.
    const raw = (await readFile(file, "utf8")).trim().split("\n");
    expect(JSON.parse(raw[0]!)).toMatchObject({ v: 2 });
    expect(raw.slice(1).map((l) => (JSON.parse(l) as unknown[])[0])).toEqual(state.hosts.map((h) => h.name).sort());
    const lines: FactSnapshot[] = [];
    for await (const s of readSnapshots(state.dir, {}, { onProblem: (p) => expect.fail(`${p.file}:${p.line} ${p.message}`) })) lines.push(s);
    expect(lines.map((l) => l.host)).toEqual(state.hosts.map((h) => h.name).sort());
    for (const l of lines) {
      expect(snapshotProblem(l)).toBeNull();
      expect(l).toMatchObject({ os: "debian 12", rebootRequired: false, groups: expect.arrayContaining(["sandbox"]) });
      expect(l.disks!.find((d) => d.mount === "/")!.sizeBytes).toBe(128 * 1024 * 1024);
      expect(l.memory!.totalBytes).toBeGreaterThan(l.memory!.availableBytes);
      // Pending updates (if the host's package lists offer any) are typed.
      expect(l.upgradable!.every((u) => ["patch", "minor", "major", "security"].includes(u.type))).toBe(true);
    }

    const down = state.hosts[1]!.name;
    await injectFault(state, down, "unreachable");
    const second = await steward(["facts", "--root", state.dir, "--snapshot"]);
    expect(second.code).toBe(1);
    const read: FactSnapshot[] = [];
    for await (const s of readSnapshots(state.dir, {}, { onProblem: (p) => expect.fail(`${p.file}:${p.line} ${p.message}`) })) read.push(s);
    expect(read.map((s) => s.host)).toEqual(state.hosts.map((h) => h.name).sort());
    const gap = read.find((s) => s.host === down)!;
    expect(gap.unreachable).toBe(true);
    expect(gap.disks).toBeUndefined();
    expect(read.filter((s) => s.unreachable !== true).every((s) => s.takenAt > lines[0]!.takenAt)).toBe(true);
    await healFault(state, down);
  });

  it("a line of today's file it cannot carry over is named, not kept, and the command exits 1", async () => {
    const first = await steward(["facts", "--root", state.dir, "--snapshot"]);
    // Every host answers: the exit code is the dropped line's alone.
    expect(first.code, first.stderr).toBe(0);
    const day = /facts\/snapshots\/(\d{4}-\d\d-\d\d)\.jsonl/.exec(first.stdout)![1]!;
    const file = join(state.dir, "facts/snapshots", `${day}.jsonl`);
    await appendFile(file, "{ torn line\n");
    const again = await steward(["facts", "--root", state.dir, "--snapshot"]);
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toContain(`facts/snapshots/${day}.jsonl:`);
    expect(again.stderr).toContain("(not kept)");
    expect(again.stdout).toContain("1 unreadable line(s) of the day's file not kept");
    expect(await readFile(file, "utf8")).not.toContain("torn line");
  });
});
