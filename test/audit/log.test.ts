import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { actorOf, approvalFromActions } from "../../src/audit/approval.ts";
import { AUDIT_FORMAT, entryHash, type AuditBody } from "../../src/audit/entry.ts";
import { appendAuditEntry, readAuditLog } from "../../src/audit/log.ts";

const body = (runId: string, status: AuditBody["status"] = "ok"): AuditBody => ({
  format: AUDIT_FORMAT,
  type: "apply",
  runId,
  plan: { id: "p-20261201T0000-0123456789ab", digest: "a".repeat(64), file: "plans/p.json" },
  approval: null,
  actor: "tester@machine",
  startedAt: "2026-12-01T00:00:00.000Z",
  finishedAt: "2026-12-01T00:01:00.000Z",
  status,
  exitCode: status === "ok" ? 0 : 1,
  outcomes: { changed: 2 },
  hostsDigest: "b".repeat(64),
  files: { "journal.jsonl": { sha256: "c".repeat(64), bytes: 10 } },
});

describe("runs/audit.jsonl", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-audit-log-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("chains each entry to the one before by the hash of its canonical JSON, and reads back clean", async () => {
    const first = await appendAuditEntry(root, body("run-a"));
    const second = await appendAuditEntry(root, body("run-b"));
    expect(first.seq).toBe(1);
    expect(first.prev).toBe("");
    expect(second.seq).toBe(2);
    expect(second.prev).toBe(first.hash);
    expect(entryHash(second)).toBe(second.hash);
    const read = await readAuditLog(root);
    expect(read.problems).toEqual([]);
    expect(read.entries.map((e) => [e.line, e.entry.runId])).toEqual([[1, "run-a"], [2, "run-b"]]);
    // Canonical JSON: keys sorted, no spaces, so the line is exactly reproducible.
    const text = await readFile(join(root, "runs/audit.jsonl"), "utf8");
    expect(text.split("\n")[0]).toMatch(/^\{"actor":"tester@machine","approval":null,/);
  });

  it("names the line of an edited, a removed and a reordered entry, once each", async () => {
    for (const id of ["run-a", "run-b", "run-c", "run-d"]) await appendAuditEntry(root, body(id));
    const path = join(root, "runs/audit.jsonl");
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    // Edit entry 2's status without fixing its hash.
    const edited = lines.slice();
    edited[1] = (edited[1] as string).replace('"status":"ok"', '"status":"hosts-failed"');
    await writeFile(path, `${edited.join("\n")}\n`);
    let read = await readAuditLog(root);
    expect(read.problems).toEqual([{ line: 2, message: expect.stringContaining("entry seq 2 (run run-b) does not match its own hash") }]);
    // Remove entry 2.
    await writeFile(path, `${[lines[0], lines[2], lines[3]].join("\n")}\n`);
    read = await readAuditLog(root);
    expect(read.problems.map((p) => p.line)).toEqual([2, 2]);
    expect(read.problems[0]?.message).toContain("entry seq 3 (run run-c) follows seq 1: 1 entry was removed before it");
    expect(read.problems[1]?.message).toContain("does not chain to the entry before it");
    // Swap entries 3 and 4.
    await writeFile(path, `${[lines[0], lines[1], lines[3], lines[2]].join("\n")}\n`);
    read = await readAuditLog(root);
    expect(read.problems.map((p) => p.line)).toEqual([3, 3, 4, 4]);
  });

  it("refuses an entry rewritten by hand with a recomputed hash but not in canonical form", async () => {
    await appendAuditEntry(root, body("run-a"));
    const path = join(root, "runs/audit.jsonl");
    const entry = JSON.parse((await readFile(path, "utf8")).trim());
    await writeFile(path, `${JSON.stringify(entry, null, 1).replace(/\n/g, "")}\n`);
    const read = await readAuditLog(root);
    expect(read.problems[0]?.message).toContain("not in canonical form");
  });

  it("cuts a torn final line at the next append and records how many bytes it dropped", async () => {
    await appendAuditEntry(root, body("run-a"));
    await appendFile(join(root, "runs/audit.jsonl"), '{"format":1,"seq":2,"pr');
    expect((await readAuditLog(root)).tornBytes).toBe(23);
    const next = await appendAuditEntry(root, body("run-b"));
    expect(next.tornBytes).toBe(23);
    expect(next.seq).toBe(2);
    const read = await readAuditLog(root);
    expect(read.problems).toEqual([]);
    expect(read.tornBytes).toBe(0);
  });

  it("will not chain after a damaged last entry, nor write through a planted link", async () => {
    await appendAuditEntry(root, body("run-a"));
    const path = join(root, "runs/audit.jsonl");
    await appendFile(path, "not json\n");
    await expect(appendAuditEntry(root, body("run-b"))).rejects.toThrow(/line 2 is not JSON.*run run-b is not recorded/);
    await rm(path);
    await writeFile(join(root, "elsewhere"), "");
    await symlink(join(root, "elsewhere"), path);
    await expect(appendAuditEntry(root, body("run-c"))).rejects.toThrow(/symbolic link/);
    expect(await readFile(join(root, "elsewhere"), "utf8")).toBe("");
  });

  it("serialises concurrent appends: no seq twice, no broken link", async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => appendAuditEntry(root, body(`run-${i}`))));
    const read = await readAuditLog(root);
    expect(read.problems).toEqual([]);
    expect(read.entries.map((e) => e.entry.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe("approval from the GitHub Actions event", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "steward-approval-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const sha = "0123456789abcdef0123456789abcdef01234567";
  const event = async (payload: unknown): Promise<string> => {
    const path = join(dir, "event.json");
    await writeFile(path, JSON.stringify(payload));
    return path;
  };

  it("is nothing outside Actions", async () => {
    expect(await approvalFromActions({ GITHUB_SHA: sha, GITHUB_EVENT_NAME: "push" })).toBeNull();
  });

  it("is the merge commit, pull request and merger of a merged pull_request event", async () => {
    const path = await event({ pull_request: { merged: true, number: 12, merge_commit_sha: sha, merged_by: { login: "alice" } } });
    expect(await approvalFromActions({ GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: path })).toEqual({ commit: sha, pullRequest: 12, mergedBy: "alice" });
  });

  it("is nothing for a pull request closed without merging", async () => {
    const path = await event({ pull_request: { merged: false, number: 12, merge_commit_sha: sha } });
    expect(await approvalFromActions({ GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: path })).toBeNull();
  });

  it("is GITHUB_SHA for a push, with the pull request the merge message names", async () => {
    const path = await event({ head_commit: { message: "Merge pull request #7 from org/steward/plan/security-patches\n\nplan" } });
    expect(await approvalFromActions({ GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_SHA: sha, GITHUB_EVENT_PATH: path })).toEqual({ commit: sha, pullRequest: 7 });
  });

  it("drops hostile values instead of trusting them", async () => {
    const path = await event({ pull_request: { merged: true, number: -1, merge_commit_sha: sha, merged_by: { login: "x\u001b[31m; rm -rf /" } } });
    expect(await approvalFromActions({ GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: path })).toEqual({ commit: sha });
    const bad = await event({ pull_request: { merged: true, merge_commit_sha: "--upload-pack=evil" } });
    expect(await approvalFromActions({ GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: bad })).toBeNull();
    await writeFile(join(dir, "broken.json"), "{");
    await expect(approvalFromActions({ GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_SHA: sha, GITHUB_EVENT_PATH: join(dir, "broken.json") })).rejects.toThrow(/cannot read the GitHub Actions event/);
  });

  it("names the actor: GITHUB_ACTOR in Actions, else user@machine", () => {
    expect(actorOf({ GITHUB_ACTIONS: "true", GITHUB_ACTOR: "dependabot[bot]" })).toBe("dependabot[bot]");
    expect(actorOf({ GITHUB_ACTIONS: "true", GITHUB_ACTOR: "evil\nname" })).toMatch(/@/);
  });
});
