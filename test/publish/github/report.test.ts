import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reportPublication } from "../../../src/publish/report.ts";
import { startHarness, stopHarness, type Harness } from "./harness.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await stopHarness(h);
});

const R = { owner: "acme", repo: "fleet" };
const STATUS = (hosts: number) => `# Fleet status\n\n**${hosts} hosts**: 2 with pending security updates.\n\n## Pending updates\n\n| host | security |\n|---|--:|\n| web-1 | 2 |\n`;
const weekly = (week: string, hosts = 12) =>
  reportPublication(week, [
    { kind: "md", source: "status.md", text: STATUS(hosts) },
    { kind: "json", source: "status.json", value: { report: "status", generatedAt: "2026-12-10T06:00:00.000Z", source: { since: "2026-09-10", until: "2026-12-10", files: 9 }, hosts } },
  ]);

describe("the weekly report pull request", () => {
  it("is one commit through the Git Data API and one pull request per week, however often it is published", async () => {
    const first = await h.publisher.publishReport(weekly("2026-W50"));
    expect(first).toMatchObject({ branch: "steward/report/2026-W50", committed: true, action: "created", review: { id: "#1", state: "open" } });
    const again = await h.publisher.publishReport(weekly("2026-W50"));
    expect(again).toMatchObject({ action: "unchanged", committed: false, commit: first.commit, review: first.review });
    expect(h.fake.count("pulls/create")).toBe(1);
    expect(h.fake.count("git/create-commit")).toBe(1);
    expect(await h.git(["ls-tree", "-r", "--name-only", "steward/report/2026-W50"])).toBe("README.md\nreports/2026-W50.json\nreports/2026-W50.md\nrunbooks/web.yaml\n");
    expect(await h.git(["log", "-1", "--format=%s%n%(trailers:key=Steward-Report,valueonly)", "steward/report/2026-W50"])).toBe("report 2026-W50: status\n2026-W50\n\n");
    const pr = await h.human.rest.pulls.get({ ...R, pull_number: 1 });
    expect(pr.data.title).toBe("Weekly report 2026-W50");
    expect(pr.data.body).toMatch(/^<!-- steward:report week=2026-W50 -->\n\*\*Weekly report 2026-W50\*\*: Fleet status\./);
    expect(pr.data.labels.map((l) => l.name).sort()).toEqual(["steward", "steward-report"]);
  });

  it("new figures in the same week update the open pull request in place: one commit on main, no second pull request", async () => {
    await h.publisher.publishReport(weekly("2026-W50"));
    const updated = await h.publisher.publishReport(weekly("2026-W50", 13));
    expect(updated).toMatchObject({ action: "updated", committed: true, review: { id: "#1" } });
    expect(h.fake.count("pulls/create")).toBe(1);
    expect(await h.git(["show", "steward/report/2026-W50:reports/2026-W50.md"])).toContain("**13 hosts**");
    // Reset onto main, like a plan: the branch is always one commit on the base.
    expect((await h.git(["rev-list", "--count", "main..steward/report/2026-W50"])).trim()).toBe("1");
    expect((await h.human.rest.pulls.get({ ...R, pull_number: 1 })).data.body).toContain("**13 hosts**");
  });

  it("a merged week is settled: publishing it again opens nothing; the next week gets its own pull request", async () => {
    await h.publisher.publishReport(weekly("2026-W50"));
    await h.human.rest.pulls.merge({ ...R, pull_number: 1 });
    const settled = await h.publisher.publishReport(weekly("2026-W50", 14));
    expect(settled).toMatchObject({ action: "closed-before", committed: false, review: { id: "#1", state: "merged" } });
    expect(h.fake.count("pulls/create")).toBe(1);
    const next = await h.publisher.publishReport(weekly("2026-W51"));
    expect(next).toMatchObject({ action: "created", review: { id: "#2" } });
    expect((await h.human.rest.pulls.list({ ...R, state: "all" })).data).toHaveLength(2);
    // The merged week's report is kept in the next one's tree.
    expect(await h.git(["ls-tree", "-r", "--name-only", "steward/report/2026-W51", "reports"])).toBe("reports/2026-W50.json\nreports/2026-W50.md\nreports/2026-W51.json\nreports/2026-W51.md\n");
  });

  it("two jobs publishing the same week at once still make one pull request", async () => {
    const [a, b] = await Promise.all([h.publisher.publishReport(weekly("2026-W50")), h.publisherWith({}).publishReport(weekly("2026-W50"))]);
    expect(a.review).toEqual(b.review);
    expect((await h.human.rest.pulls.list({ ...R, state: "all" })).data).toHaveLength(1);
  });
});
