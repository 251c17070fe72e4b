import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RecommendationItem, RecommendationSet } from "../../../src/publish/types.ts";
import { startHarness, stopHarness, type Harness } from "./harness.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await stopHarness(h);
});

const R = { owner: "acme", repo: "fleet" };
const item = (id: string, summary = `${id} may fill`): RecommendationItem => ({ id, title: `${id} may fill by 2026-12-20`, body: { summary, details: [] }, labels: [] });
const set = (...items: RecommendationItem[]): RecommendationSet => ({ items, resolution: "the forecast of 2026-12-07 no longer predicts it", message: "forecast" });

async function issues(): Promise<Array<{ number: number; state: string; title: string; body: string; labels: string[] }>> {
  const all = (await h.human.rest.issues.listForRepo({ ...R, state: "all", per_page: 100 })).data;
  return all.map((i) => ({ number: i.number, state: i.state, title: i.title, body: i.body ?? "", labels: i.labels.map((l) => (typeof l === "string" ? l : l.name!)) })).sort((a, b) => a.number - b.number);
}

describe("recommendation issues", () => {
  it("opens one issue per recommendation, and publishing again duplicates nothing", async () => {
    const first = await h.publisher.recommendations(set(item("disk.web-1.fs"), item("memory.web-2")));
    expect(first.outcomes.map((o) => [o.id, o.action])).toEqual([["disk.web-1.fs", "opened"], ["memory.web-2", "opened"]]);
    const again = await h.publisher.recommendations(set(item("disk.web-1.fs"), item("memory.web-2")));
    expect(again.outcomes.map((o) => o.action)).toEqual(["unchanged", "unchanged"]);
    const all = await issues();
    expect(all).toHaveLength(2);
    expect(all[0]!.body).toMatch(/^<!-- steward:recommendation id=disk\.web-1\.fs -->\n/);
    expect(all[0]!.labels).toEqual(["steward-recommendation"]);
    expect(h.fake.count("issues/create")).toBe(2);
  });

  it("updates in place, closes with a comment when it no longer holds, reopens the same issue when it returns", async () => {
    await h.publisher.recommendations(set(item("disk.web-1.fs"), item("memory.web-2")));
    const updated = await h.publisher.recommendations(set(item("disk.web-1.fs", "now sooner"), item("memory.web-2")));
    expect(updated.outcomes.map((o) => o.action)).toEqual(["updated", "unchanged"]);
    const resolved = await h.publisher.recommendations(set(item("disk.web-1.fs", "now sooner")));
    expect(resolved.outcomes.map((o) => [o.id, o.action])).toEqual([["disk.web-1.fs", "unchanged"], ["memory.web-2", "closed"]]);
    let all = await issues();
    expect(all.map((i) => i.state)).toEqual(["open", "closed"]);
    expect(all[1]!.body).toMatch(/^<!-- steward:recommendation id=memory\.web-2 state=resolved -->/);
    const comments = (await h.human.rest.issues.listComments({ ...R, issue_number: all[1]!.number })).data.map((c) => c.body);
    expect(comments).toEqual(["<!-- steward:comment key=resolved.0 -->\nNo longer recommended: the forecast of 2026-12-07 no longer predicts it"]);
    // Closing again changes nothing.
    expect((await h.publisher.recommendations(set(item("disk.web-1.fs", "now sooner")))).outcomes.map((o) => o.action)).toEqual(["unchanged"]);
    const back = await h.publisher.recommendations(set(item("disk.web-1.fs", "now sooner"), item("memory.web-2")));
    expect(back.outcomes.map((o) => o.action)).toEqual(["unchanged", "reopened"]);
    all = await issues();
    expect(all).toHaveLength(2);
    expect(all.map((i) => i.state)).toEqual(["open", "open"]);
    expect(all[1]!.body).toMatch(/^<!-- steward:recommendation id=memory\.web-2 -->/);
    // A second cycle gets its own comments.
    await h.publisher.recommendations(set(item("disk.web-1.fs", "now sooner")));
    const keys = (await h.human.rest.issues.listComments({ ...R, issue_number: all[1]!.number })).data.map((c) => /key=([^ ]+)/.exec(c.body ?? "")?.[1]);
    expect(keys).toEqual(["resolved.0", "reopened.1", "resolved.1"]);
    expect(h.fake.count("issues/create")).toBe(2);
  });

  it("leaves an issue a person closed closed, and opens no second one", async () => {
    await h.publisher.recommendations(set(item("disk.db-1.fs-var")));
    const [issue] = await issues();
    await h.human.rest.issues.update({ ...R, issue_number: issue!.number, state: "closed", state_reason: "not_planned" });
    const after = await h.publisher.recommendations(set(item("disk.db-1.fs-var")));
    expect(after.outcomes.map((o) => o.action)).toEqual(["dismissed"]);
    expect((await issues()).map((i) => i.state)).toEqual(["closed"]);
  });

  it("an answer lost after GitHub opened the issue does not open a second", async () => {
    h.fake.inject({ operation: "issues/create", status: 502, afterWork: true });
    const out = await h.publisher.recommendations(set(item("load.web-1")));
    expect(out.outcomes.map((o) => o.action)).toEqual(["opened"]);
    expect(await issues()).toHaveLength(1);
  });

  it("ignores issues without its marker, and incidents", async () => {
    await h.human.rest.issues.create({ ...R, title: "disk.web-1.fs is full", body: "someone wrote this", labels: ["steward-recommendation"] });
    const out = await h.publisher.recommendations(set(item("disk.web-1.fs")));
    expect(out.outcomes.map((o) => o.action)).toEqual(["opened"]);
    expect((await issues()).filter((i) => i.state === "open")).toHaveLength(2);
  });
});
