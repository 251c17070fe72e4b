import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { plan, results, startHarness, stopHarness, type Harness } from "./harness.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await stopHarness(h);
});

const R = { owner: "acme", repo: "fleet" };
const PLAN_A = "a".repeat(64);
const PLAN_B = "b".repeat(64);

describe("plan pull requests", () => {
  it("commits the plan through the Git Data API on steward/plan/<runbook>, readable with git log", async () => {
    const change = await h.publisher.publishPlan(plan(PLAN_A));
    expect(change).toMatchObject({ branch: "steward/plan/web", committed: true, action: "created", review: { id: "#1", state: "open" }, superseded: [] });
    const log = await h.git(["log", "--format=%H%n%an%n%B%x00", "steward/plan/web"]);
    const [head, initial] = log.split("\0\n");
    expect(head).toContain(change.commit);
    expect(head).toContain("plan web: 2 hosts in 1 wave (plan aaaaaaaa)");
    expect(head).toContain(`Steward-Plan: ${PLAN_A}`);
    expect(head).toContain("steward-ci[bot]");
    expect(initial).toContain("Initial commit");
    expect(await h.git(["show", `steward/plan/web:plans/${PLAN_A}.json`])).toBe(`{"id":"${PLAN_A}"}\n`);
    // The base's files are kept: the plan's tree is main's plus the plan.
    expect(await h.git(["ls-tree", "-r", "--name-only", "steward/plan/web"])).toBe(`README.md\nplans/${PLAN_A}.json\nplans/${PLAN_A}.md\nrunbooks/web.yaml\n`);
    const commit = await h.human.rest.git.getCommit({ ...R, commit_sha: change.commit });
    expect(commit.data.verification.verified).toBe(true);
    const pr = await h.human.rest.pulls.get({ ...R, pull_number: 1 });
    expect(pr.data.head.ref).toBe("steward/plan/web");
    expect(pr.data.body).toMatch(/^<!-- steward:plan plan=a{64} runbook=web -->\n## Plan web/);
    expect(pr.data.labels.map((l) => l.name).sort()).toEqual(["steward", "steward-plan"]);
  });

  it("publishing the same plan twice makes no second pull request, commit or label", async () => {
    const first = await h.publisher.publishPlan(plan(PLAN_A));
    const second = await h.publisher.publishPlan(plan(PLAN_A));
    expect(second).toMatchObject({ action: "unchanged", committed: false, commit: first.commit, review: first.review });
    expect(h.fake.count("pulls/create")).toBe(1);
    expect(h.fake.count("git/create-commit")).toBe(1);
    expect(h.fake.count("issues/create-label")).toBe(2);
    expect((await h.human.rest.pulls.list({ ...R, state: "all" })).data).toHaveLength(1);
    expect((await h.git(["rev-list", "--count", "steward/plan/web"])).trim()).toBe("2");
  });

  it("two jobs publishing the same plan at once still make one pull request", async () => {
    const [a, b] = await Promise.all([h.publisher.publishPlan(plan(PLAN_A)), h.publisherWith({}).publishPlan(plan(PLAN_A))]);
    expect(a.review).toEqual(b.review);
    // Usually both reach pulls/create and one is told the pull request already exists
    // (and both ref creations race the same way); either way there is one of each.
    expect([a.action, b.action]).toContain("created");
    for (const change of [a, b]) expect(["created", "updated", "unchanged"]).toContain(change.action);
    expect((await h.human.rest.pulls.list({ ...R, state: "all" })).data).toHaveLength(1);
    expect((await h.git(["rev-list", "--count", "steward/plan/web"])).trim()).toBe("2");
  });

  it("updates the open pull request in place when its body changes, moving the branch onto the new main", async () => {
    await h.publisher.publishPlan(plan(PLAN_A));
    await h.human.rest.repos.get(R);
    const again = await h.publisher.publishPlan(plan(PLAN_A, { title: "Plan web (re-rendered)" }));
    expect(again.action).toBe("updated");
    const pr = await h.human.rest.pulls.get({ ...R, pull_number: 1 });
    expect(pr.data.title).toBe("Plan web (re-rendered)");
    expect(h.fake.count("pulls/create")).toBe(1);
  });

  it("a new plan for the runbook supersedes the open one: closed, with a comment linking the new pull request", async () => {
    await h.publisher.publishPlan(plan(PLAN_A));
    const next = await h.publisher.publishPlan(plan(PLAN_B));
    expect(next).toMatchObject({ action: "created", review: { id: "#2", state: "open" }, superseded: [{ id: "#1", state: "closed" }] });
    const old = await h.human.rest.pulls.get({ ...R, pull_number: 1 });
    expect(old.data).toMatchObject({ state: "closed", merged: false });
    const comments = await h.human.rest.issues.listComments({ ...R, issue_number: 1 });
    expect(comments.data.map((c) => c.body)).toEqual([expect.stringMatching(/^Superseded by #2/)]);
    // The branch now holds plan B on main, not plan A.
    expect(await h.git(["ls-tree", "-r", "--name-only", "steward/plan/web"])).toContain(`plans/${PLAN_B}.json`);
    expect(await h.git(["ls-tree", "-r", "--name-only", "steward/plan/web"])).not.toContain(`plans/${PLAN_A}.json`);
  });

  it("supersedes an open plan of the runbook on another branch too", async () => {
    // An older plan pull request steward left on another branch (say, before the runbook's branch was renamed).
    const main = (await h.git(["rev-parse", "main"])).trim();
    await h.steward.rest.git.createRef({ ...R, ref: "refs/heads/steward/plan/web-old", sha: main });
    const tree = await h.steward.rest.git.createTree({ ...R, base_tree: (await h.git(["rev-parse", "main^{tree}"])).trim(), tree: [{ path: "plans/old.json", mode: "100644", type: "blob", content: "{}\n" }] });
    const commit = await h.steward.rest.git.createCommit({ ...R, message: "old plan", tree: tree.data.sha, parents: [main] });
    await h.steward.rest.git.updateRef({ ...R, ref: "heads/steward/plan/web-old", sha: commit.data.sha });
    await h.steward.rest.pulls.create({ ...R, head: "steward/plan/web-old", base: "main", title: "old", body: "<!-- steward:plan plan=old runbook=web -->\nold" });
    // A plan of another runbook is not this one's to close.
    await h.human.rest.git.createRef({ ...R, ref: "refs/heads/steward/plan/db", sha: commit.data.sha });
    await h.human.rest.pulls.create({ ...R, head: "steward/plan/db", base: "main", title: "db", body: "<!-- steward:plan plan=x runbook=db -->" });
    const change = await h.publisher.publishPlan(plan(PLAN_A));
    expect(change).toMatchObject({ action: "created", review: { id: "#3" }, superseded: [{ id: "#1", state: "closed" }] });
    expect((await h.human.rest.pulls.get({ ...R, pull_number: 1 })).data.state).toBe("closed");
    expect((await h.human.rest.pulls.get({ ...R, pull_number: 2 })).data.state).toBe("open");
    expect((await h.human.rest.issues.listComments({ ...R, issue_number: 1 })).data.map((c) => c.body)).toEqual([expect.stringMatching(/^Superseded by #3/)]);
  });

  it("never reopens a merged pull request: the same plan is settled, a new plan gets a new pull request", async () => {
    await h.publisher.publishPlan(plan(PLAN_A));
    const merged = await h.human.rest.pulls.merge({ ...R, pull_number: 1 });
    expect(await h.git(["log", "-1", "--format=%s", "main"])).toBe("Merge pull request #1 from acme/steward/plan/web\n");
    const again = await h.publisher.publishPlan(plan(PLAN_A));
    expect(again).toMatchObject({ action: "closed-before", committed: false, review: { id: "#1", state: "merged" } });
    expect(h.fake.count("pulls/create")).toBe(1);
    const next = await h.publisher.publishPlan(plan(PLAN_B));
    expect(next).toMatchObject({ action: "created", review: { id: "#2" }, superseded: [] });
    const first = await h.human.rest.pulls.get({ ...R, pull_number: 1 });
    expect(first.data).toMatchObject({ state: "closed", merged: true, merge_commit_sha: merged.data.sha });
    // Plan B starts from the merge, so the merged plan A stays in its history.
    expect(await h.git(["merge-base", "--is-ancestor", merged.data.sha, "steward/plan/web"]).then(() => true)).toBe(true);
  });

  it("never reopens a pull request a reviewer closed: the same plan stays rejected", async () => {
    await h.publisher.publishPlan(plan(PLAN_A));
    await h.human.rest.pulls.update({ ...R, pull_number: 1, state: "closed" });
    const again = await h.publisher.publishPlan(plan(PLAN_A));
    expect(again).toMatchObject({ action: "closed-before", review: { id: "#1", state: "closed" } });
    expect((await h.human.rest.pulls.get({ ...R, pull_number: 1 })).data.state).toBe("closed");
    expect(h.fake.count("pulls/create")).toBe(1);
  });

  it("refuses to take over a branch where someone else's pull request is open", async () => {
    await h.human.rest.git.createRef({ ...R, ref: "refs/heads/steward/plan/web", sha: (await h.git(["rev-parse", "main"])).trim() });
    const tree = await h.human.rest.git.createTree({ ...R, base_tree: (await h.git(["rev-parse", "main^{tree}"])).trim(), tree: [{ path: "x", mode: "100644", type: "blob", content: "x" }] });
    const commit = await h.human.rest.git.createCommit({ ...R, message: "mine", tree: tree.data.sha, parents: [(await h.git(["rev-parse", "main"])).trim()] });
    await h.human.rest.git.updateRef({ ...R, ref: "heads/steward/plan/web", sha: commit.data.sha });
    await h.human.rest.pulls.create({ ...R, head: "steward/plan/web", base: "main", title: "hand-made", body: "no marker" });
    await expect(h.publisher.publishPlan(plan(PLAN_A))).rejects.toThrow(/pull request #1 is open on it and was not opened by steward/);
  });
});

describe("results pull requests", () => {
  it("a resumed run adds a commit on top of the results branch and updates the same pull request", async () => {
    const first = await h.publisher.publishResults(results("run-1", { "runs/run-1/results.json": "{}\n" }));
    expect(first).toMatchObject({ branch: "steward/results/run-1", action: "created", committed: true });
    const resumed = await h.publisher.publishResults(results("run-1", { "runs/run-1/results.json": '{"resumed":true}\n', "runs/run-1/report.md": "# report\n" }, { message: "resume apply web (run run-1)\n\nSteward-Run: run-1\n" }));
    expect(resumed).toMatchObject({ action: "updated", committed: true, review: first.review });
    expect(await h.git(["log", "--format=%s", "main..steward/results/run-1"])).toBe("resume apply web (run run-1)\napply web: 2 changed, 0 failed (run run-1)\n");
    const same = await h.publisher.publishResults(results("run-1", { "runs/run-1/results.json": '{"resumed":true}\n', "runs/run-1/report.md": "# report\n" }, { message: "resume apply web (run run-1)\n\nSteward-Run: run-1\n" }));
    expect(same).toMatchObject({ action: "unchanged", committed: false, commit: resumed.commit });
    expect(h.fake.count("pulls/create")).toBe(1);
  });

  it("after the results pull request is merged, new results open a new one and the old stays merged", async () => {
    await h.publisher.publishResults(results("run-2", { "runs/run-2/results.json": "{}\n" }));
    await h.human.rest.pulls.merge({ ...R, pull_number: 1 });
    const unchanged = await h.publisher.publishResults(results("run-2", { "runs/run-2/results.json": "{}\n" }));
    expect(unchanged).toMatchObject({ action: "closed-before", review: { id: "#1", state: "merged" } });
    const more = await h.publisher.publishResults(results("run-2", { "runs/run-2/results.json": '{"more":1}\n' }));
    expect(more).toMatchObject({ action: "created", review: { id: "#2" } });
    expect((await h.human.rest.pulls.get({ ...R, pull_number: 1 })).data.merged).toBe(true);
  });
});
