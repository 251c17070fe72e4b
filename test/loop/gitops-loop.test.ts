import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { GithubFake } from "../github-fake/server.ts";

/**
 * The whole GitOps loop against the GitHub fake and two real sandbox hosts:
 * validate → plan → publish → merge (the approval) → apply in "Actions" → publish
 * results → merge → audit verify, twice: the first run fails a host and opens an
 * incident, the next clean run closes it. Asserts the real git history the fake keeps.
 */
const SUBNET = 197;
const PROJECT = resolve(import.meta.dirname, "../..");
const TOKEN = "ghs_loopPublisherToken0123456789abcd";
const HUMAN = "ghp_loopReviewerToken0123456789abcdef";
const sh = promisify(execFile);

const RUNBOOK = `name: touch
targets: all
rollout:
  failure_budget: 5
steps:
  - kind: command
    name: mark
    command: test ! -e /tmp/fail-me && touch /tmp/loop-mark
`;

describe("the GitOps loop end to end", () => {
  let dir: string;
  let state: FleetState;
  let fake: GithubFake;
  let bare: string;
  let human: Octokit;
  const R = { owner: "acme", repo: "fleet" };

  const git = async (cwd: string, ...args: string[]): Promise<string> => (await sh("git", ["-C", cwd, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: "Eng", GIT_AUTHOR_EMAIL: "eng@example.org", GIT_COMMITTER_NAME: "Eng", GIT_COMMITTER_EMAIL: "eng@example.org" } })).stdout.trim();
  async function steward(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "", GITHUB_REPOSITORY: "acme/fleet", GITHUB_API_URL: fake.url, STEWARD_GITHUB_TOKEN: TOKEN, STEWARD_GITHUB_AUTHOR: "steward-ci[bot]", ...env }, cwd: state.dir };
    const code = await main(args, io);
    return { code, stdout, stderr };
  }
  /** Pulls main from the fake into the work tree, as a CI checkout of the merge would. */
  async function pull(): Promise<string> {
    await git(state.dir, "fetch", "-q", bare, "main");
    await git(state.dir, "reset", "-q", "--hard", "FETCH_HEAD");
    return git(state.dir, "rev-parse", "HEAD");
  }

  /** One pass of the loop; returns the run id, the apply's exit code and the merge commit. */
  async function loop(now: string): Promise<{ runId: string; code: number; merge: string; plan: string }> {
    expect((await steward({}, "validate")).code).toBe(0);
    const planned = await steward({}, "plan", "touch", "--gather", "--now", now);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = /^wrote (\S+\.json)$/m.exec(planned.stdout)![1]!;
    const published = await steward({}, "publish", "plan", plan);
    expect(published.code, published.stderr).toBe(0);
    const pr = Number(/review: \S*\/pull\/(\d+)/.exec(published.stdout)?.[1] ?? /#(\d+)/.exec(published.stdout)![1]);
    await human.rest.pulls.merge({ ...R, pull_number: pr });
    // The CI checkout of the merge: the plan comes from main now, not from the work tree.
    await rm(join(state.dir, plan));
    await rm(join(state.dir, plan.replace(/\.json$/, ".md")));
    const merge = await pull();
    const event = join(dirname(dir), "event.json");
    await writeFile(event, JSON.stringify({ head_commit: { message: `Merge pull request #${pr} from acme/steward/plan/touch` } }));
    const applied = await steward({ GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_SHA: merge, GITHUB_EVENT_PATH: event, GITHUB_ACTOR: "alice" }, "apply", plan, "--now", now);
    expect([0, 1], applied.stderr).toContain(applied.code);
    const runId = /^run (\S+):/m.exec(applied.stdout)![1]!;
    return { runId, code: applied.code, merge, plan };
  }

  async function publishAndMergeResults(runId: string): Promise<string> {
    const out = await steward({}, "publish", "results", runId);
    expect(out.code, out.stderr).toBe(0);
    const again = await steward({}, "publish", "results", runId);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout, again.stdout).toContain(`results ${runId}: unchanged`);
    const pulls = await human.rest.pulls.list({ ...R, state: "open", head: `acme:steward/results/${runId}` });
    expect(pulls.data).toHaveLength(1);
    await human.rest.pulls.merge({ ...R, pull_number: pulls.data[0]!.number });
    await rm(join(state.dir, "runs", runId), { recursive: true });
    await rm(join(state.dir, "runs", "audit.jsonl"));
    await pull();
    return out.stdout;
  }

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-loop-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    await writeFile(join(state.dir, "runbooks", "touch.yaml"), RUNBOOK);
    const files: Record<string, string> = { "runbooks/touch.yaml": RUNBOOK, "known_hosts": await readFile(join(state.dir, "known_hosts"), "utf8"), ".gitignore": "runs/locks/\n" };
    for (const name of await readdir(join(state.dir, "inventory"))) files[`inventory/${name}`] = await readFile(join(state.dir, "inventory", name), "utf8");
    await writeFile(join(state.dir, ".gitignore"), files[".gitignore"]!);
    fake = await GithubFake.start();
    const repo = await fake.createRepo("acme", "fleet", files);
    bare = repo.git.dir;
    fake.addToken(TOKEN, { login: "steward-ci[bot]" });
    fake.addToken(HUMAN, { login: "alice", type: "User" });
    human = new Octokit({ baseUrl: fake.url, auth: HUMAN, log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
    await git(state.dir, "init", "-q", "-b", "main");
    await pull();
  });

  afterAll(async () => {
    await fake?.stop();
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("a failed run opens an incident, the next clean run closes it, and the history verifies", async () => {
    await execInHost(state, "sandbox-02", ["touch", "/tmp/fail-me"]);
    const first = await loop("2026-12-07T12:00:00Z");
    expect(first.code).toBe(1);
    const published = await publishAndMergeResults(first.runId);
    expect(published).toMatch(/incident touch SEV\d: opened/);
    let issues = (await human.rest.issues.listForRepo({ ...R, state: "all", labels: "steward:incident" })).data.filter((i) => !i.pull_request);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.state).toBe("open");

    await execInHost(state, "sandbox-02", ["rm", "/tmp/fail-me"]);
    const second = await loop("2026-12-07T13:00:00Z");
    expect(second.code).toBe(0);
    const closed = await publishAndMergeResults(second.runId);
    expect(closed).toMatch(/incident touch SEV\d: closed/);
    issues = (await human.rest.issues.listForRepo({ ...R, state: "all", labels: "steward:incident" })).data.filter((i) => !i.pull_request);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.state).toBe("closed");
    expect(fake.violations).toEqual([]);

    // git log alone tells the story: which plan ran, under whose approval, with what result.
    const log = await git(bare, "log", "main", "--format=%s%n%(trailers:key=Steward-Run,key=Steward-Plan,key=Steward-Outcome,key=Steward-Approved-By)%x00");
    expect(log).toContain(`apply touch: 1 changed, 1 failed (plan `);
    expect(log).toContain(`Steward-Run: ${first.runId}`);
    expect(log).toContain(`Steward-Outcome: hosts-failed (exit 1)`);
    expect(log).toContain(`Steward-Approved-By: pull request #1 merged as ${first.merge}`);
    expect(log).toContain(`Steward-Outcome: ok (exit 0)`);
    const entries = (await readFile(join(state.dir, "runs", "audit.jsonl"), "utf8")).trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(entries.map((e) => [e.seq, e.runId, e.approval?.commit, e.actor])).toEqual([
      [1, first.runId, first.merge, "alice"],
      [2, second.runId, second.merge, "alice"],
    ]);
    const verified = await steward({}, "audit", "verify");
    expect(verified.stdout).toContain("audit verified: 2 entries, 2 run folder(s), commits checked");
    expect(verified.code).toBe(0);

    // A result file changed after the fact is named with its entry.
    const results = join(state.dir, "runs", first.runId, "results.json");
    await writeFile(results, (await readFile(results, "utf8")).replace('"hosts-failed"', '"ok"'));
    const tampered = await steward({}, "audit", "verify");
    expect(tampered.code).toBe(5);
    expect(tampered.stdout).toContain(`runs/${first.runId}/results.json changed after runs/audit.jsonl line 1 (seq 1) recorded it`);
  }, 300_000);
});
