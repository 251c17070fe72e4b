import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitPublisher } from "../../src/publish/git/index.ts";
import type { IncidentReport, PlanPublication } from "../../src/publish/types.ts";

const sh = promisify(execFile);

describe("the git publisher, in a real repository", () => {
  let root: string;
  const git = async (...args: string[]): Promise<string> => (await sh("git", ["-C", root, ...args])).stdout.trim();
  const plan = (id: string, content = `{"id":"${id}"}\n`): PlanPublication => ({
    runbook: "patches",
    planId: id,
    title: `plan patches ${id}`,
    message: `plan patches: 2 hosts\n\nSteward-Plan: ${id}\n`,
    files: [{ path: `plans/${id}.json`, content }],
    body: { summary: `plan ${id}`, details: [{ title: "detail", body: "rows" }] },
    labels: [],
  });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-gitpub-"));
    await git("init", "-q", "-b", "main");
    await git("config", "user.email", "eng@example.org");
    await git("config", "user.name", "Eng");
    await writeFile(join(root, "README"), "fleet\n");
    await git("add", "README");
    await git("commit", "-q", "-m", "start");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("keeps a recommendation's host-provided title text in its Markdown heading: no HTML, link or mention", async () => {
    const pub = new GitPublisher({ root });
    const title = "m-04:/<img src=x onerror=alert(2)> [l](javascript:alert(3)) @admin #12 may fill by 2026-03-01";
    await pub.recommendations({ items: [{ id: "disk.m-04.fs-x", title, body: { summary: "rising", details: [] }, labels: [] }], resolution: "no longer predicted", message: "recommendations: 1\n" });
    const file = await git("show", "steward/recommendations:recommendations/disk.m-04.fs-x.md");
    const heading = file.split("\n")[0]!;
    expect(heading).toMatch(/^# m-04:\//);
    // Escaped (a backslash before each), and references broken by a word joiner.
    expect(heading).not.toMatch(/(?<!\\)<img|(?<!\\)\]\(javascript|@admin|#12/);
    expect(heading).toContain("\\<img");
  });

  it("commits a plan to steward/plan/<runbook> without touching the work tree, once", async () => {
    const pub = new GitPublisher({ root });
    const first = await pub.publishPlan(plan("p1"));
    expect(first).toMatchObject({ branch: "steward/plan/patches", committed: true, action: "created", superseded: [] });
    expect(await git("log", "-1", "--format=%s%n%(trailers:key=Steward-Plan,valueonly)", "steward/plan/patches")).toBe("plan patches: 2 hosts\np1");
    expect(await git("show", "steward/plan/patches:plans/p1.json")).toBe('{"id":"p1"}');
    expect(await git("status", "--porcelain", "--untracked-files=no")).toBe("");
    expect(await git("rev-parse", "HEAD")).toBe(await git("rev-parse", "main"));
    const again = await pub.publishPlan(plan("p1"));
    expect(again).toMatchObject({ committed: false, action: "unchanged", commit: first.commit });
    expect(await git("rev-list", "--count", "steward/plan/patches")).toBe("2");
    expect(await readFile(join(root, first.review.url), "utf8")).toMatch(/^<!-- steward:plan plan=p1 runbook=patches -->/);
  });

  it("supersedes an unmerged older plan, and does not re-propose a merged one", async () => {
    const pub = new GitPublisher({ root });
    await pub.publishPlan(plan("p1"));
    const second = await pub.publishPlan(plan("p2"));
    expect(second.action).toBe("updated");
    expect(second.superseded).toHaveLength(1);
    expect(await git("ls-tree", "-r", "--name-only", "steward/plan/patches")).toBe("README\nplans/p2.json");
    await git("merge", "-q", "--no-ff", "-m", "approve p2", "steward/plan/patches");
    const after = await pub.publishPlan(plan("p2"));
    expect(after).toMatchObject({ action: "closed-before", committed: false, review: { state: "merged" } });
  });

  it("adds a resumed run's results on top of its unmerged branch", async () => {
    const pub = new GitPublisher({ root });
    const r = (n: string) => ({ runId: "run-1", title: "apply", message: `apply patches: ${n}\n\nSteward-Run: run-1\n`, files: [{ path: "runs/run-1/results.json", content: n }], body: { summary: n, details: [] }, labels: [] });
    const first = await pub.publishResults(r("1 changed"));
    const second = await pub.publishResults(r("2 changed"));
    expect(second.committed).toBe(true);
    expect(await git("rev-parse", `${second.commit}^`)).toBe(first.commit);
    expect((await pub.publishResults(r("2 changed"))).action).toBe("unchanged");
    // Merged: publishing the same results again changes nothing and does not fail.
    await git("merge", "-q", "--no-ff", "-m", "record run-1", "steward/results/run-1");
    const after = await pub.publishResults(r("2 changed"));
    expect(after).toMatchObject({ committed: false, action: "closed-before" });
    expect(await git("rev-parse", "steward/results/run-1")).toBe(second.commit);
  });

  it("builds only on a branch tip it left: a commit someone added is never carried into the review", async () => {
    const pub = new GitPublisher({ root });
    const r = (n: string) => ({ runId: "run-1", title: "apply", message: `apply patches: ${n}\n\nSteward-Run: run-1\n`, files: [{ path: "runs/run-1/results.json", content: n }], body: { summary: n, details: [] }, labels: [] });
    const first = await pub.publishResults(r("1 changed"));
    await pub.publishPlan(plan("p1"));
    // Someone commits on top of both branches (a hand edit of the inventory, say).
    for (const branch of ["steward/results/run-1", "steward/plan/patches"]) {
      await git("checkout", "-q", branch);
      await writeFile(join(root, "inventory.yaml"), "hosts: [evil]\n");
      await git("add", "inventory.yaml");
      await git("commit", "-q", "-m", "not steward's");
      await git("checkout", "-q", "main");
    }
    const foreign = await git("rev-parse", "steward/results/run-1");
    await expect(pub.publishResults(r("2 changed"))).rejects.toThrow(`steward/results/run-1 is at ${foreign.slice(0, 12)}, a commit steward did not publish there (it left ${first.commit.slice(0, 12)}): someone committed to the branch or made it elsewhere, and steward does not build on what it did not write`);
    await expect(pub.publishPlan(plan("p1"))).rejects.toThrow(/^steward\/plan\/patches is at [0-9a-f]{12}, a commit steward did not publish there/);
    expect(await git("rev-parse", "steward/results/run-1")).toBe(foreign);
    // A new plan starts again from HEAD: nothing of the foreign commit is in it.
    const next = await pub.publishPlan(plan("p2"));
    expect(await git("ls-tree", "-r", "--name-only", next.commit)).toBe("README\nplans/p2.json");
    // Deleting the branch, as the error says, lets the results be published again from HEAD.
    await git("branch", "-D", "steward/results/run-1");
    const again = await pub.publishResults(r("2 changed"));
    expect(await git("ls-tree", "-r", "--name-only", again.commit)).toBe("README\nruns/run-1/results.json");
    // A branch steward never published (made elsewhere, no record) is not built on either.
    await git("branch", "steward/report/2026-W50", foreign);
    await expect(pub.publishReport({ week: "2026-W50", title: "w", message: "report\n", files: [{ path: "reports/2026-W50.md", content: "# r\n" }], body: { summary: "r", details: [] }, labels: [] })).rejects.toThrow(/^steward\/report\/2026-W50 is at [0-9a-f]{12}, a commit steward did not publish there: /);
  });

  it("refuses paths outside the repository and branch names git would misread", async () => {
    const pub = new GitPublisher({ root });
    await expect(pub.publishPlan({ ...plan("p1"), files: [{ path: "../escape", content: "x" }] })).rejects.toThrow(/cannot publish the file/);
    await expect(pub.publishPlan({ ...plan("p1"), files: [{ path: ".git/hooks/post-commit", content: "x" }] })).rejects.toThrow(/cannot publish the file/);
    await expect(pub.publishPlan({ ...plan("p1"), runbook: "-x" })).rejects.toThrow(/cannot name a git branch/);
  });

  it("keeps one incident file per runbook and severity: opened, updated, closed, reopened", async () => {
    let clock = Date.parse("2026-12-01T00:00:00Z");
    const pub = new GitPublisher({ root, now: () => new Date((clock += 60_000)) });
    const report = (status: IncidentReport["status"], runId: string): IncidentReport => ({ runbook: "patches", severity: "SEV2", status, runId, title: "SEV2: patches failed", body: { summary: `failing in ${runId}`, details: [] }, comment: `run ${runId}`, labels: ["steward:incident"], assignees: [] });
    expect((await pub.incident(report("failing", "r1"))).action).toBe("opened");
    expect((await pub.incident(report("failing", "r2"))).action).toBe("updated");
    const closed = await pub.incident(report("resolved", "r3"));
    expect(closed).toMatchObject({ action: "closed", review: { url: "incidents/patches-sev2.md", state: "closed" } });
    expect((await pub.incident(report("resolved", "r4"))).action).toBe("none");
    const text = await readFile(join(root, "incidents/patches-sev2.md"), "utf8");
    expect(text).toContain("status: closed");
    expect(text).toContain("failing in r2");
    expect(text.match(/^- 2026-12-01T00:0\d:00\.000Z — (failing|resolved) \(run r\d\)/gm)).toHaveLength(3);
    expect((await pub.incident(report("failing", "r5"))).action).toBe("opened");
  });
});

describe("steward publish plan, given what is not a plan of the repository", () => {
  it("refuses a plan outside the repository, a link and a pipe, before reading them", async () => {
    const { main } = await import("../../src/cli/main.ts");
    const root = await mkdtemp(join(tmpdir(), "steward-pubcli-"));
    try {
      await sh("git", ["-C", root, "init", "-q", "-b", "main"]);
      const { symlink } = await import("node:fs/promises");
      await symlink("/etc/passwd", join(root, "link.json"));
      await sh("mkfifo", [join(root, "fifo.json")]);
      const run = async (target: string): Promise<{ code: number; err: string }> => {
        let err = "";
        const code = await main(["publish", "plan", target, "--publisher", "git"], { stdout: () => undefined, stderr: (t) => void (err += t), env: { PATH: process.env["PATH"] ?? "" }, cwd: root });
        return { code, err };
      };
      for (const [target, says] of [["/etc/passwd", "is outside the repository"], ["link.json", "is a symbolic link"], ["fifo.json", "is not a regular file"]] as const) {
        const r = await run(target);
        expect(r.code, r.err).toBe(2);
        expect(r.err).toContain(says);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
