import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AUDIT_FORMAT, entryHash, hostsDigest, type AuditBody, type AuditEntry } from "../../src/audit/entry.ts";
import { appendAuditEntry } from "../../src/audit/log.ts";
import { verifyAudit } from "../../src/audit/verify.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

/** Hostile repositories handed to `steward audit verify`: never a hang, a crash or a lie. */
const sh = promisify(execFile);
const RUN = "hc-20261207T000000Z-abcd";

async function verify(root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "" }, cwd: root };
  return { code: await main(["audit", "verify"], io), stdout, stderr };
}

describe("audit verify on hostile repositories", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-audit-hostile-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A run folder with a results.json and an entry recording it, as apply leaves them. */
  async function recordedRun(): Promise<{ results: Record<string, unknown>; entry: AuditEntry }> {
    const results = { format: 1, runId: RUN, plan: { id: "hc-20261207T0000-0123456789ab", digest: "d".repeat(64) }, startedAt: "2026-12-07T00:00:00.000Z", finishedAt: "2026-12-07T00:01:00.000Z", status: "halted:budget", exitCode: 4, counts: { failed: 1 }, hosts: [{ host: "a", outcome: "failed" }] };
    const text = JSON.stringify(results);
    await mkdir(join(root, "runs", RUN), { recursive: true });
    await writeFile(join(root, "runs", RUN, "results.json"), text);
    const body: AuditBody = { format: AUDIT_FORMAT, type: "run", runId: RUN, plan: { ...results.plan, file: "plans/x.json" }, approval: null, actor: "t@m", startedAt: results.startedAt, finishedAt: results.finishedAt, status: "halted:budget", exitCode: 4, outcomes: { failed: 1 }, hostsDigest: hostsDigest(results.hosts), files: { "results.json": { sha256: createHash("sha256").update(text).digest("hex"), bytes: Buffer.byteLength(text) } } };
    return { results, entry: await appendAuditEntry(root, body) };
  }

  it("refuses a log that is a named pipe instead of waiting on it forever", async () => {
    await mkdir(join(root, "runs"));
    await sh("mkfifo", [join(root, "runs", "audit.jsonl")]);
    const r = await verify(root);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("runs/audit.jsonl is not a regular file");
  });

  it("lists at most 200 damaged lines of a log of junk, and counts the rest", async () => {
    await mkdir(join(root, "runs"));
    await writeFile(join(root, "runs", "audit.jsonl"), "{}\n".repeat(50_000));
    const result = await verifyAudit(root);
    expect(result.findings.length).toBeLessThan(210);
    expect(result.findings.map((f) => f.message)).toContain("runs/audit.jsonl: and 49800 more damaged lines");
  });

  it("reports an entry nested thousands deep as damage, not a crash", async () => {
    await recordedRun();
    const path = join(root, "runs", "audit.jsonl");
    const line = (await readFile(path, "utf8")).trim().replace('"exitCode":4', `"exitCode":4,"x":${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    await writeFile(path, `${line}\n`);
    const r = await verify(root);
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/line 1 (is nested too deeply|has members no entry has)/);
  });

  it("names a run folder whose name would forge output lines, escaped, and a linked run folder", async () => {
    await recordedRun();
    await mkdir(join(root, "runs", "evil\nerror: fake finding"));
    const r = await verify(root);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain("\"runs/evil\\nerror: fake finding\" is not a run folder steward writes");
    expect(r.stdout).not.toMatch(/^error: fake finding$/m);
  });

  it("catches the last entry rewritten with a recomputed hash: it no longer agrees with its results", async () => {
    await recordedRun();
    const path = join(root, "runs", "audit.jsonl");
    const entry = JSON.parse((await readFile(path, "utf8")).trim()) as AuditEntry;
    const forged = { ...entry, status: "ok" as const, exitCode: 0, outcomes: { changed: 1 } };
    forged.hash = entryHash(forged);
    const { default: canonicalize } = await import("canonicalize");
    await writeFile(path, `${canonicalize(forged)}\n`);
    const r = await verify(root);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`does not agree with runs/${RUN}/results.json on its status, exit code, outcome counts`);
  });

  it("refuses runs/ that is a file, and a log that is a folder, with exit 5 and no stack", async () => {
    await writeFile(join(root, "runs"), "x");
    let r = await verify(root);
    expect(r.code).toBe(5);
    expect(r.stderr).not.toContain("    at ");
    await rm(join(root, "runs"));
    await mkdir(join(root, "runs", "audit.jsonl"), { recursive: true });
    r = await verify(root);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("not a regular file");
  });

  it("says a shallow clone cannot show when plans were committed, instead of calling it tampering", async () => {
    const origin = join(root, "origin");
    await mkdir(origin);
    const g = (cwd: string, ...a: string[]) => sh("git", ["-C", cwd, ...a], { env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" } });
    await g(origin, "init", "-q", "-b", "main");
    for (const n of [1, 2]) {
      await writeFile(join(origin, `f${n}`), "x");
      await g(origin, "add", ".");
      await g(origin, "commit", "-qm", `c${n}`);
    }
    const clone = join(root, "clone");
    await sh("git", ["clone", "-q", "--depth", "1", `file://${origin}`, clone]);
    const result = await verifyAudit(clone);
    expect(result.findings.map((f) => f.message)).toContain(`${clone} is a shallow clone: when each plan was first committed cannot be told from a cut history`);
    void appendFile;
  });
});
