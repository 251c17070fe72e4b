import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { readSnapshots, snapshotProblem, type FactSnapshot } from "../../src/report/history/snapshots.ts";
import { downFleet, injectFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";

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
    const lines = (await readFile(file, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as FactSnapshot);
    expect(lines.map((l) => l.host)).toEqual(state.hosts.map((h) => h.name).sort());
    for (const l of lines) {
      expect(snapshotProblem(l)).toBeNull();
      expect(l).toMatchObject({ v: 1, os: "debian 12", rebootRequired: false, groups: expect.arrayContaining(["sandbox"]) });
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
  });
});
