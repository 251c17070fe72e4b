import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { readSnapshots, snapshotProblem, type FactSnapshot } from "../../src/report/history/snapshots.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 236;
const PROJECT = resolve(import.meta.dirname, "../..");

/** What a hostile host writes into the text steward prints: escapes, a title, a CR heading, bidi, a mention. */
const OS_RELEASE = 'ID="debian\x1b[2J\x1b]0;pwned\x07\u202Eevil @org/team"\nVERSION_ID="12\x1b[31m\x9b1m"\nPRETTY_NAME="x"\n';
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

describe("steward facts against a hostile host", () => {
  let dir: string;
  let state: FleetState;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-hostile-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [PROJECT] });
    const write = await execInHost(state, "sandbox-01", ["sh", "-c", `rm -f /etc/os-release && printf '%s' "$1" > /etc/os-release`, "sh", OS_RELEASE]);
    expect(write.code).toBe(0);
  });

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("prints one plain line per host, whatever the host's text holds", async () => {
    let stdout = "";
    let stderr = "";
    await main(["facts", "--root", state.dir], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: process.env, cwd: process.cwd() });
    expect(stderr).not.toMatch(CONTROL);
    expect(stdout).not.toMatch(CONTROL);
    const lines = stdout.trimEnd().split("\n");
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(["HOST", "sandbox-01", "sandbox-02"]);
    // The hostile host's row carries its text, made plain, or the reason it was refused.
    expect(lines[1]).toMatch(/^sandbox-01\s+(debianevil @org\/team 12\s|error: )/);
    expect(lines[2]).toMatch(/^sandbox-02\s+debian 12\s/);
  });

  it("--snapshot records the other host and never writes the hostile host's text into the history", async () => {
    let stdout = "";
    let stderr = "";
    const code = await main(["facts", "--root", state.dir, "--snapshot"], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: process.env, cwd: process.cwd() });
    expect(code).toBe(1);
    expect(stderr).not.toMatch(CONTROL);
    const day = /facts\/snapshots\/(\d{4}-\d\d-\d\d)\.jsonl/.exec(stdout)![1]!;
    const text = await readFile(join(state.dir, "facts/snapshots", `${day}.jsonl`), "utf8");
    // Read as reports read them (line format 2: a header, then one row per host); any line the grammar refuses fails the test.
    const lines: FactSnapshot[] = [];
    for await (const s of readSnapshots(state.dir, {}, { onProblem: (p) => expect.fail(`${p.file}:${p.line} ${p.message}`) })) lines.push(s);
    expect(lines.find((l) => l.host === "sandbox-02")).toMatchObject({ os: "debian 12" });
    expect(text).not.toContain("evil");
    // Its facts were refused as they were read (a gap line), or its line broke the snapshot grammar (named, not written).
    const hostile = lines.find((l) => l.host === "sandbox-01");
    if (hostile === undefined) expect(stderr).toContain('host sandbox-01: its snapshot line has an os "debian\\u001b[2J');
    else expect(hostile.unreachable).toBe(true);
    for (const l of lines) expect(snapshotProblem(l)).toBeNull();
  });
});
