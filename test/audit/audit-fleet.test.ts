import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { downFleet, upFleet, type FleetState } from "../../src/sandbox/index.ts";

/**
 * The audit trail end to end on two real sandbox hosts in a real git repository: apply
 * records an entry, `steward audit verify` passes, and each kind of tampering an auditor
 * must catch is found with the exact entry, file and commit named.
 */
const SUBNET = 196;
const PROJECT = resolve(import.meta.dirname, "../..");
const sh = promisify(execFile);

const TOUCH = `name: touch
targets: all
steps:
  - kind: command
    name: mark
    command: touch /tmp/audit-mark
`;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

describe("steward audit verify on the sandbox fleet", () => {
  let dir: string;
  let state: FleetState;

  async function steward(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Ran> {
    let stdout = "";
    let stderr = "";
    const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "", ...env }, cwd: state.dir };
    const code = await main(args, io);
    return { code, stdout, stderr };
  }
  const git = async (...args: string[]): Promise<string> => (await sh("git", ["-C", state.dir, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.org", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.org" } })).stdout.trim();
  const commitAll = async (message: string): Promise<string> => {
    await git("add", "inventory", "runbooks", "plans", "runs");
    await git("commit", "-q", "--allow-empty", "-m", message);
    return git("rev-parse", "HEAD");
  };
  async function planned(): Promise<string> {
    const r = await steward({}, "plan", "touch", "--gather");
    expect(r.code, r.stderr).toBe(0);
    return /^wrote (\S+\.json)$/m.exec(r.stdout)![1]!;
  }
  const runIdOf = (stdout: string): string => /^run (\S+):/m.exec(stdout)![1]!;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-audit-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    await mkdir(join(state.dir, "plans"), { recursive: true });
    await mkdir(join(state.dir, "runs"), { recursive: true });
    await writeFile(join(state.dir, "runbooks", "touch.yaml"), TOUCH);
    await writeFile(join(state.dir, ".gitignore"), "runs/locks/\n");
    await git("init", "-q", "-b", "main");
    await commitAll("inventory and runbook");
  });

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("records an approved apply, verifies it, and names each kind of tampering", async () => {
    const plan = await planned();
    const approved = await commitAll("plan touch");
    const applied = await steward({}, "apply", plan);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/recorded in runs\/audit\.jsonl \(entry 1, [0-9a-f]{12}…\)/);
    const runId = runIdOf(applied.stdout);
    await commitAll(`apply touch (${runId})`);
    let v = await steward({}, "audit", "verify");
    expect(v.stdout).toContain("audit verified: 1 entry, 1 run folder(s), commits checked");
    expect(v.code).toBe(0);

    const log = join(state.dir, "runs", "audit.jsonl");
    const entry = JSON.parse((await readFile(log, "utf8")).trim());
    expect(entry).toMatchObject({ seq: 1, prev: "", type: "apply", runId, status: "ok", exitCode: 0, outcomes: { changed: 2 }, approval: null, plan: { file: plan } });
    expect(Object.keys(entry.files).sort()).toEqual(["journal.jsonl", "report.md", "results.json"]);
    void approved;

    // A result file changed after its entry: in the work tree, then committed.
    const results = join(state.dir, "runs", runId, "results.json");
    const original = await readFile(results, "utf8");
    await writeFile(results, original.replace('"status": "ok"', '"status": "ok" '));
    v = await steward({}, "audit", "verify");
    expect(v.code).toBe(5);
    expect(v.stdout).toContain(`runs/${runId}/results.json changed after runs/audit.jsonl line 1 (seq 1) recorded it`);
    const bad = await commitAll("touch up results");
    v = await steward({}, "audit", "verify");
    expect(v.stdout).toContain(`commit ${bad} holds a version of runs/${runId}/results.json that no entry of run ${runId} in runs/audit.jsonl recorded`);
    await writeFile(results, original);
    await git("reset", "-q", "--hard", "HEAD~1");
    expect((await steward({}, "audit", "verify")).code).toBe(0);

    // A second run, then its entry removed; then the first entry edited.
    const second = await steward({}, "apply", await (async () => plan)(), "--now", new Date().toISOString());
    expect(second.code, second.stderr).toBe(0);
    const secondRun = runIdOf(second.stdout);
    const lines = (await readFile(log, "utf8")).trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    await writeFile(log, `${lines[0]}\n`);
    v = await steward({}, "audit", "verify");
    expect(v.code).toBe(5);
    expect(v.stdout).toContain(`runs/${secondRun}/ has no entry in runs/audit.jsonl: the run finished but its entry was removed`);
    await writeFile(log, `${lines[1]}\n`);
    v = await steward({}, "audit", "verify");
    expect(v.stdout).toContain("runs/audit.jsonl line 1 entry seq 2");
    expect(v.stdout).toContain("follows seq 0: 1 entry was removed before it");
    await writeFile(log, `${(lines[0] as string).replace('"actor":"', '"actor":"x')}\n${lines[1]}\n`);
    v = await steward({}, "audit", "verify");
    expect(v.code).toBe(5);
    expect(v.stdout).toContain(`runs/audit.jsonl line 1 entry seq 1 (run ${runId}) does not match its own hash`);
    await writeFile(log, `${lines.join("\n")}\n`);

    // An earlier record of a journal rewritten, though the latest digest is made to match.
    const journal = join(state.dir, "runs", runId, "journal.jsonl");
    const jtext = await readFile(journal, "utf8");
    await writeFile(journal, jtext.replace(/"pid":\d+/, '"pid":1'));
    v = await steward({}, "audit", "verify");
    expect(v.stdout).toContain(`runs/${runId}/journal.jsonl changed after runs/audit.jsonl line 1 (seq 1) recorded it`);
    await writeFile(journal, jtext);
    expect((await steward({}, "audit", "verify")).code).toBe(0);
  }, 180_000);

  it("in Actions, applies the plan the approving merge holds, records the approval, and refuses any other bytes", async () => {
    const plan = await planned();
    const commit = await commitAll("plan touch again");
    const eventPath = join(dirname(dir), "event.json");
    await writeFile(eventPath, JSON.stringify({ head_commit: { message: "Merge pull request #3 from org/steward/plan/touch" } }));
    const ci = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_SHA: commit, GITHUB_EVENT_PATH: eventPath, GITHUB_ACTOR: "release-bot" };
    const applied = await steward(ci, "apply", plan, "--now", new Date().toISOString());
    expect(applied.code, applied.stderr).toBe(0);
    const last = JSON.parse((await readFile(join(state.dir, "runs", "audit.jsonl"), "utf8")).trimEnd().split("\n").at(-1)!);
    expect(last).toMatchObject({ approval: { commit, pullRequest: 3 }, actor: "release-bot" });

    // Same plan content (the digest still holds), other bytes: not what was approved.
    const path = join(state.dir, plan);
    const text = await readFile(path, "utf8");
    await writeFile(path, JSON.stringify(JSON.parse(text)));
    const refused = await steward(ci, "apply", plan, "--now", new Date().toISOString());
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain(`${plan} differs from the one approved at the merge of pull request #3 (${commit})`);
    await writeFile(path, text);
    // A plan the approving commit does not hold was never approved.
    const first = await git("rev-list", "--max-parents=0", "HEAD");
    const never = await steward({ ...ci, GITHUB_SHA: first }, "apply", plan);
    expect(never.code).toBe(5);
    expect(never.stderr).toContain(`is not in the merge of pull request #3 (${first}): this plan was never approved`);
  }, 180_000);
});
