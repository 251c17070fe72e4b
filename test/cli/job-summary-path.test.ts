/**
 * The GitHub Actions job summary file ($GITHUB_STEP_SUMMARY) is checked as an --out path
 * is (src/cli/out-path.ts): a name holding a control or format character, or one inside
 * steward's record (runs/audit.jsonl…), is refused before anything is written or
 * published, and a summary file that cannot be appended to is named; all exit 6
 * (environment: the runner's setting, not the command line), never a crash (70).
 */
import { execFile } from "node:child_process";
import { cp, link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { appendJobSummary } from "../../src/report/summary.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";

const sh = promisify(execFile);
const repoRoot = new URL("../../", import.meta.url).pathname;

async function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

let dir: string;
let repo: string;
const AUDIT = "{\"seq\":1}\n";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "steward-job-summary-"));
  repo = join(dir, "repo");
  await cp(join(repoRoot, "test/fixtures/base"), repo, { recursive: true });
  await mkdir(join(repo, "runs"), { recursive: true });
  await writeFile(join(repo, "runs/audit.jsonl"), AUDIT);
  await writeFile(join(dir, "status.md"), "# Fleet status\n\n12 hosts.\n");
  const git = (...args: string[]) => sh("git", ["-C", repo, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.org", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.org" } });
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-qm", "base");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const branches = async (): Promise<string> => (await sh("git", ["-C", repo, "branch", "--list", "steward/*"])).stdout;

describe("GITHUB_STEP_SUMMARY", () => {
  it("validate refuses a summary path holding a control character, naming it escaped, and writes nothing", async () => {
    const bad = join(dir, "sum\nmary.md");
    const r = await run(["validate", "--root", repo, "--format", "github"], dir, { GITHUB_STEP_SUMMARY: bad });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`GITHUB_STEP_SUMMARY ${JSON.stringify(bad)} holds a control or format character`);
    expect(r.stderr).not.toContain("sum\nmary");
    expect(await readdir(dir)).not.toContain("sum\nmary.md");
  });

  it("refuses a format character (right-to-left override) the same way", async () => {
    const r = await run(["validate", "--root", repo, "--format", "github"], dir, { GITHUB_STEP_SUMMARY: join(dir, "summary\u202e.md") });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("holds a control or format character");
  });

  it("validate refuses a summary path inside steward's record and leaves the audit log as it was", async () => {
    const r = await run(["validate", "--root", repo, "--format", "github"], dir, { GITHUB_STEP_SUMMARY: join(repo, "runs/../runs/audit.jsonl") });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toContain("GITHUB_STEP_SUMMARY");
    expect(r.stderr).toContain("runs/audit.jsonl holds the audit log");
    expect(await readFile(join(repo, "runs/audit.jsonl"), "utf8")).toBe(AUDIT);
  });

  it("names a summary file that cannot be appended to (its folder does not exist): exit 6, not an internal error", async () => {
    const missing = join(dir, "no-such-folder", "summary.md");
    const r = await run(["validate", "--root", repo, "--format", "github"], dir, { GITHUB_STEP_SUMMARY: missing });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toContain(`GITHUB_STEP_SUMMARY ${missing}: cannot append the job summary (ENOENT: no such file or directory`);
    expect(r.stderr).not.toContain("ENOENT: ENOENT");
  });

  it("refuses a hard link (a record file under another name): exit 6, the audit log untouched, for validate and publish report", async () => {
    const linked = join(dir, "linked.md");
    await link(join(repo, "runs/audit.jsonl"), linked);
    try {
      const v = await run(["validate", "--root", repo, "--format", "github"], dir, { GITHUB_STEP_SUMMARY: linked });
      expect(v.code, v.stderr).toBe(6);
      expect(v.stderr).toContain("is a file with 2 names (hard links)");
      const p = await run(["publish", "report", "status.md", "--root", repo, "--publisher", "git", "--week", "2026-W50", "--job-summary"], dir, { GITHUB_STEP_SUMMARY: linked });
      expect(p.code, p.stderr).toBe(6);
      expect(await branches()).toBe("");
      expect(await readFile(join(repo, "runs/audit.jsonl"), "utf8")).toBe(AUDIT);
      // The check on the opened file, when the name was swapped for a link after the early check.
      await expect(appendJobSummary(linked, "# forged\n")).rejects.toThrow("nothing was appended");
      expect(await readFile(join(repo, "runs/audit.jsonl"), "utf8")).toBe(AUDIT);
    } finally {
      await rm(linked, { force: true });
    }
  });

  it("still writes a good summary path", async () => {
    const good = join(dir, "summary.md");
    const r = await run(["validate", "--root", repo, "--format", "github"], dir, { GITHUB_STEP_SUMMARY: good });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(good, "utf8")).toContain("steward validate");
  });

  it("publish report --job-summary refuses a bad summary path before anything is published", async () => {
    for (const bad of [join(dir, "a\rb.md"), join(repo, "runs/audit.jsonl")]) {
      const r = await run(["publish", "report", "status.md", "--root", repo, "--publisher", "git", "--week", "2026-W50", "--job-summary"], dir, { GITHUB_STEP_SUMMARY: bad });
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toContain("GITHUB_STEP_SUMMARY");
      expect(await branches()).toBe("");
    }
    expect(await readFile(join(repo, "runs/audit.jsonl"), "utf8")).toBe(AUDIT);
    await expect(stat(join(dir, "a\rb.md"))).rejects.toThrow(/ENOENT/);
  });
});
