/**
 * A marker is text anyone can paste: an issue, pull request or comment carrying a valid
 * steward marker but written by another account is ignored on every publish path —
 * never updated, closed, reopened or commented on, never read as settled — and steward
 * says so once per run, naming the item and its author. Steward's own items (written
 * with its token) are still found.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reportPublication } from "../../../src/publish/report.ts";
import type { IncidentReport, RecommendationItem, RecommendationSet } from "../../../src/publish/types.ts";
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

/** alice's branch `name` with one commit of her own on main. */
async function aliceBranch(name: string): Promise<void> {
  const main = (await h.git(["rev-parse", "main"])).trim();
  const tree = await h.human.rest.git.createTree({ ...R, base_tree: (await h.git(["rev-parse", "main^{tree}"])).trim(), tree: [{ path: `notes/${name.replace(/\//g, "-")}.md`, mode: "100644", type: "blob", content: "mine\n" }] });
  const commit = await h.human.rest.git.createCommit({ ...R, message: "alice's change", tree: tree.data.sha, parents: [main] });
  await h.human.rest.git.createRef({ ...R, ref: `refs/heads/${name}`, sha: commit.data.sha });
}

/** A pull request alice opens from her branch `head` with `body`. */
async function alicePull(head: string, body: string, title = "alice's pull request"): Promise<number> {
  await aliceBranch(head);
  return (await h.human.rest.pulls.create({ ...R, head, base: "main", title, body })).data.number;
}

const pull = async (number: number) => (await h.human.rest.pulls.get({ ...R, pull_number: number })).data;
const comments = async (number: number) => (await h.human.rest.issues.listComments({ ...R, issue_number: number })).data;
const issue = async (number: number) => (await h.human.rest.issues.get({ ...R, issue_number: number })).data;

describe("plan pull requests", () => {
  it("a forged open plan of the runbook on another branch is neither superseded, closed nor commented on; steward's own older plan is", async () => {
    const forged = await alicePull("alice/plan", "<!-- steward:plan plan=old runbook=web -->\nplease close me", "alice: not a plan");
    const own = await h.publisher.publishPlan(plan(PLAN_A));
    const next = await h.publisher.publishPlan(plan(PLAN_B));
    expect(next).toMatchObject({ action: "created", superseded: [{ id: own.review.id, state: "closed" }] });
    expect((await pull(forged)).state).toBe("open");
    expect(await comments(forged)).toEqual([]);
    expect((await pull(Number(own.review.id.slice(1)))).state).toBe("closed");
    // Named once for the run, though both publishes listed it.
    expect(h.warnings).toEqual([`ignoring pull request #${forged} by alice: it carries a steward plan marker, but steward publishes as steward-ci[bot] (STEWARD_GITHUB_AUTHOR) and never updates, closes or comments on what it did not write`]);
  });

  it("a forged closed pull request with the plan's exact marker does not settle the plan: steward opens its own", async () => {
    const forged = await alicePull("steward/plan/web", `<!-- steward:plan plan=${PLAN_A} runbook=web -->\nrejected`);
    await h.human.rest.pulls.update({ ...R, pull_number: forged, state: "closed" });
    const change = await h.publisher.publishPlan(plan(PLAN_A));
    expect(change).toMatchObject({ action: "created", committed: true, review: { id: `#${forged + 1}`, state: "open" } });
    expect((await pull(forged + 1)).user!.login).toBe("steward-ci[bot]");
    expect((await pull(forged)).state).toBe("closed");
    expect(h.warnings).toEqual([expect.stringMatching(new RegExp(`^ignoring pull request #${forged} by alice: it carries a steward plan marker`))]);
  });

  it("a forged open pull request with the plan's exact marker on steward's branch is not updated: publishing stops and names its author", async () => {
    const forged = await alicePull("steward/plan/web", `<!-- steward:plan plan=${PLAN_A} runbook=web -->\nmine`, "alice's title");
    const writes = h.fake.count("pulls/update") + h.fake.count("git/create-commit");
    await expect(h.publisher.publishPlan(plan(PLAN_A))).rejects.toThrow(`cannot publish to steward/plan/web: pull request #${forged} is open on it and was not opened by steward for this (it was opened by alice)`);
    expect(await pull(forged)).toMatchObject({ state: "open", title: "alice's title", body: `<!-- steward:plan plan=${PLAN_A} runbook=web -->\nmine` });
    expect(h.fake.count("pulls/update") + h.fake.count("git/create-commit")).toBe(writes);
    expect(h.warnings).toHaveLength(1);
  });
});

describe("results and report pull requests", () => {
  it("a forged results pull request on the results branch is not updated: publishing stops", async () => {
    const forged = await alicePull("steward/results/run-1", "<!-- steward:results run=run-1 -->\nresults");
    await expect(h.publisher.publishResults(results("run-1", { "runs/run-1/results.json": "{}\n" }))).rejects.toThrow(/pull request #1 is open on it and was not opened by steward for this \(it was opened by alice\)/);
    expect((await pull(forged)).body).toBe("<!-- steward:results run=run-1 -->\nresults");
    expect(h.fake.count("pulls/update")).toBe(0);
  });

  it("a forged merged results pull request is not steward's: new results open steward's own", async () => {
    const forged = await alicePull("steward/results/run-2", "<!-- steward:results run=run-2 -->\n");
    await h.human.rest.pulls.merge({ ...R, pull_number: forged });
    const change = await h.publisher.publishResults(results("run-2", { "runs/run-2/results.json": "{}\n" }));
    expect(change).toMatchObject({ action: "created", review: { id: `#${forged + 1}` } });
  });

  it("a forged closed report pull request does not settle the week", async () => {
    const week = reportPublication("2026-W50", [{ kind: "md", source: "status.md", text: "# Fleet status\n\n12 hosts.\n" }]);
    const forged = await alicePull("steward/report/2026-W50", "<!-- steward:report week=2026-W50 -->\n");
    await h.human.rest.pulls.update({ ...R, pull_number: forged, state: "closed" });
    const change = await h.publisher.publishReport(week);
    expect(change).toMatchObject({ action: "created", review: { id: `#${forged + 1}`, state: "open" } });
    expect(h.warnings).toEqual([expect.stringMatching(/^ignoring pull request #1 by alice: it carries a steward report marker/)]);
  });
});

const failing = (runId: string): IncidentReport => ({
  runbook: "web", severity: "SEV2", status: "failing", runId, title: "SEV2: web failed", body: { summary: `run ${runId} failed`, details: [] },
  comment: `Run ${runId} failed.`, labels: ["steward:incident", "severity:sev2"], assignees: [],
});
const resolved = (runId: string): IncidentReport => ({ ...failing(runId), status: "resolved", body: { summary: `Resolved by ${runId}`, details: [] }, comment: `Resolved by ${runId}.` });

describe("incidents and sticky comments", () => {
  it("a forged incident issue is neither updated, commented on nor closed; steward opens and closes its own", async () => {
    const forged = (await h.human.rest.issues.create({ ...R, title: "SEV2: web failed", body: "<!-- steward:incident runbook=web severity=SEV2 -->\nforged", labels: ["steward-incident"] })).data.number;
    const opened = await h.publisher.incident(failing("run-1"));
    expect(opened).toMatchObject({ action: "opened", review: { id: `#${forged + 1}` } });
    const closed = await h.publisher.incident(resolved("run-2"));
    expect(closed).toMatchObject({ action: "closed", review: { id: `#${forged + 1}` } });
    expect(await issue(forged)).toMatchObject({ state: "open", body: "<!-- steward:incident runbook=web severity=SEV2 -->\nforged" });
    expect(await comments(forged)).toEqual([]);
    expect((await comments(forged + 1)).map((c) => c.body)).toEqual(["<!-- steward:comment key=run.run-1 -->\nRun run-1 failed.", "<!-- steward:comment key=run.run-2 -->\nResolved by run-2."]);
    expect(h.warnings).toEqual([expect.stringMatching(new RegExp(`^ignoring issue #${forged} by alice: it carries a steward incident marker`))]);
  });

  it("a forged run comment on steward's incident does not stand in for steward's own", async () => {
    const opened = await h.publisher.incident({ ...failing("run-1"), comment: undefined });
    const number = Number(opened.review!.id.slice(1));
    await h.human.rest.issues.createComment({ ...R, issue_number: number, body: "<!-- steward:comment key=run.run-3 -->\nalready said" });
    await h.publisher.incident(failing("run-3"));
    const bodies = (await comments(number)).map((c) => [c.user!.login, c.body]);
    expect(bodies).toEqual([["alice", "<!-- steward:comment key=run.run-3 -->\nalready said"], ["steward-ci[bot]", "<!-- steward:comment key=run.run-3 -->\nRun run-3 failed."]]);
    expect(h.warnings).toEqual([expect.stringMatching(new RegExp(`^ignoring comment \\d+ on #${number} by alice: it carries a steward comment marker`))]);
  });

  it("a forged sticky comment is not edited: steward writes its own beside it", async () => {
    const number = await alicePull("alice/canary", "canary first");
    const forged = (await h.human.rest.issues.createComment({ ...R, issue_number: number, body: "<!-- steward:comment key=plan-preview -->\nlooks fine" })).data.id;
    const outcome = await h.publisher.stickyComment({ pullRequest: number, key: "plan-preview", body: { summary: "Plan preview: 2 hosts", details: [] } });
    expect(outcome.action).toBe("created");
    const all = await comments(number);
    expect(all.map((c) => [c.id === forged, c.user!.login, c.body])).toEqual([
      [true, "alice", "<!-- steward:comment key=plan-preview -->\nlooks fine"],
      [false, "steward-ci[bot]", "<!-- steward:comment key=plan-preview -->\nPlan preview: 2 hosts\n"],
    ]);
    expect(h.fake.count("issues/update-comment")).toBe(0);
  });
});

const item = (id: string): RecommendationItem => ({ id, title: `${id} may fill`, body: { summary: `${id} may fill`, details: [] }, labels: [] });
const set = (...items: RecommendationItem[]): RecommendationSet => ({ items, resolution: "no longer predicted", message: "forecast" });

describe("recommendation issues (--open-issues)", () => {
  it("forged recommendation issues are never closed, reopened or read: steward opens its own", async () => {
    const create = async (body: string) => (await h.human.rest.issues.create({ ...R, title: "forged", body, labels: ["steward-recommendation"] })).data.number;
    const stale = await create("<!-- steward:recommendation id=disk.gone -->\nclose me");
    const resolvedOne = await create("<!-- steward:recommendation id=disk.web-1 state=resolved -->\nreopen me");
    await h.human.rest.issues.update({ ...R, issue_number: resolvedOne, state: "closed" });
    const outcome = await h.publisher.recommendations(set(item("disk.web-1")));
    expect(outcome.outcomes.map((o) => [o.id, o.action, o.review.id])).toEqual([["disk.web-1", "opened", "#3"]]);
    expect(await issue(stale)).toMatchObject({ state: "open", body: "<!-- steward:recommendation id=disk.gone -->\nclose me" });
    expect(await issue(resolvedOne)).toMatchObject({ state: "closed" });
    expect([...(await comments(stale)), ...(await comments(resolvedOne))]).toEqual([]);
    // GitHub lists the newest first.
    expect(h.warnings.map((w) => w.split(":")[0])).toEqual([`ignoring issue #${resolvedOne} by alice`, `ignoring issue #${stale} by alice`]);
    expect(h.warnings[0]).toContain("it carries a steward recommendation marker, but steward publishes as steward-ci[bot]");
    // Steward's own issue is still found, updated and closed when it no longer holds.
    const closed = await h.publisher.recommendations(set());
    expect(closed.outcomes.map((o) => [o.id, o.action, o.review.id])).toEqual([["disk.web-1", "closed", "#3"]]);
    expect(h.warnings).toHaveLength(2);
  });
});
