import { afterEach, describe, expect, it } from "vitest";
import { RunSecrets } from "../../../src/core/secrets.ts";
import { PublishError } from "../../../src/publish/errors.ts";
import { FAST, plan, results, startHarness, stopHarness, TOKEN, type Harness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await stopHarness(h);
  h = undefined;
});

const PLAN = "c".repeat(64);

describe("rate limits and server errors", () => {
  it("waits out a 403 secondary rate limit for its Retry-After, then succeeds", async () => {
    h = await startHarness();
    // Retry-After is honoured at its real unit here: one second.
    h.fake.inject({ operation: "pulls/create", status: 403, retryAfter: 1 });
    const notices: string[] = [];
    const started = Date.now();
    const change = await h.publisherWith({ tuning: { ...FAST, retryAfterUnitMs: 1000 }, onNotice: (m) => notices.push(m) }).publishPlan(plan(PLAN));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(change.action).toBe("created");
    expect(h.fake.requests.filter((r) => r.operation === "pulls/create").map((r) => r.status)).toEqual([403, 201]);
    expect(notices).toEqual([expect.stringMatching(/secondary rate limit on POST \/repos\/\{owner\}\/\{repo\}\/pulls: retrying after 1 s \(retry 1 of 2\)/)]);
  });

  it("waits out a 429 and succeeds", async () => {
    h = await startHarness();
    h.fake.inject({ operation: "git/create-blob", status: 429, retryAfter: 2 });
    const started = Date.now();
    await h.publisher.publishPlan(plan(PLAN));
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * FAST.retryAfterUnitMs);
    expect(h.fake.requests.filter((r) => r.operation === "git/create-blob").map((r) => r.status)).toEqual([429, 201, 201]);
  });

  it("waits for a primary rate limit to reset (x-ratelimit-reset), then succeeds", async () => {
    h = await startHarness();
    h.fake.inject({ operation: "git/get-ref", status: 403, primaryResetIn: 1 });
    const notices: string[] = [];
    await h.publisherWith({ onNotice: (m) => notices.push(m) }).publishPlan(plan(PLAN));
    expect(h.fake.requests.filter((r) => r.operation === "git/get-ref").map((r) => r.status).slice(0, 2)).toEqual([403, 200]);
    expect(notices).toEqual([expect.stringMatching(/^GitHub rate limit on GET .*: retrying after [12] s \(retry 1 of 2\)$/)]);
  });

  it("retries a 500 and succeeds", async () => {
    h = await startHarness();
    h.fake.inject({ operation: "git/create-commit", status: 500, times: 2 });
    const change = await h.publisher.publishPlan(plan(PLAN));
    expect(change.committed).toBe(true);
    expect(h.fake.requests.filter((r) => r.operation === "git/create-commit").map((r) => r.status)).toEqual([500, 500, 201]);
    expect((await h.git(["rev-list", "--count", "steward/plan/web"])).trim()).toBe("2");
  });

  it("gives up after the bounded number of retries with an error naming what failed", async () => {
    h = await startHarness();
    h.fake.inject({ operation: "pulls/create", status: 502, times: 1 + FAST.serverErrorRetries });
    const error = await h.publisher.publishPlan(plan(PLAN)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).message).toBe("cannot open a pull request from steward/plan/web: GitHub answered 502 Server Error after 2 retries");
    expect((error as PublishError).hint).toMatch(/publishing again is safe/);
    expect(h.fake.count("pulls/create")).toBe(1 + FAST.serverErrorRetries);
    // Publishing again once GitHub is back finishes the job without duplicating anything.
    h.fake.requests.length = 0;
    const change = await h.publisher.publishPlan(plan(PLAN));
    expect(change).toMatchObject({ action: "created", committed: false, review: { id: "#1" } });
  });

  it("a pull request GitHub opened before its answer was lost (502) is found, not opened twice", async () => {
    h = await startHarness();
    h.fake.inject({ operation: "pulls/create", status: 502, afterWork: true });
    const change = await h.publisher.publishPlan(plan(PLAN));
    expect(change).toMatchObject({ action: "created", committed: true, review: { id: "#1", state: "open" } });
    expect(h.fake.requests.filter((r) => r.operation === "pulls/create").map((r) => r.status)).toEqual([502, 422]);
    expect((await h.human.rest.pulls.list({ owner: "acme", repo: "fleet", state: "all" })).data).toHaveLength(1);
  });

  it("gives up on a rate limit that does not lift", async () => {
    h = await startHarness();
    h.fake.inject({ operation: "issues/create-label", status: 403, times: 1 + FAST.rateLimitRetries });
    await expect(h.publisher.publishPlan(plan(PLAN))).rejects.toThrow(/^cannot create the label steward: GitHub kept rate-limiting after 2 retries: 403 You have exceeded a secondary rate limit/);
    expect(h.fake.count("issues/create-label")).toBe(3);
  });

  it("survives a branch that moved under it (422 not a fast forward) by reading it again", async () => {
    h = await startHarness();
    await h.publisher.publishResults(results("run-9", { "runs/run-9/a.json": "1\n" }));
    h.fake.inject({ operation: "git/update-ref", status: 422, message: "Update is not a fast forward" });
    const change = await h.publisher.publishResults(results("run-9", { "runs/run-9/a.json": "2\n" }));
    expect(change).toMatchObject({ action: "updated", committed: true });
    expect(h.fake.requests.filter((r) => r.operation === "git/update-ref").map((r) => r.status)).toEqual([422, 200]);
    expect(await h.git(["show", "steward/results/run-9:runs/run-9/a.json"])).toBe("2\n");
  });

  it("names the branch when it keeps changing (409 each time)", async () => {
    h = await startHarness();
    await h.publisher.publishResults(results("run-8", { "runs/run-8/a.json": "1\n" }));
    h.fake.inject({ operation: "git/update-ref", status: 409, times: 3 });
    await expect(h.publisher.publishResults(results("run-8", { "runs/run-8/a.json": "2\n" }))).rejects.toThrow("cannot publish to steward/results/run-8 in acme/fleet: the branch changed under steward 3 times in a row");
  });
});

describe("pacing", () => {
  it("sends content-creating requests one at a time, spaced apart", async () => {
    h = await startHarness();
    await h.publisherWith({ tuning: { ...FAST, writeSpacingMs: 150 } }).publishPlan(plan(PLAN));
    const writes = h.fake.requests.filter((r) => r.method !== "GET");
    expect(writes.map((r) => r.operation)).toEqual(["git/create-blob", "git/create-blob", "git/create-tree", "git/create-commit", "git/create-ref", "pulls/create", "issues/create-label", "issues/create-label", "issues/add-labels"]);
    // One at a time: each arrives after the previous one was answered.
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.at, writes[i]!.operation).toBeGreaterThanOrEqual(writes[i - 1]!.done);
    // Spaced: the client starts them 150 ms apart; arrival times jitter with the loopback trip.
    expect(writes.at(-1)!.at - writes[0]!.at).toBeGreaterThanOrEqual((writes.length - 1) * 150 - 50);
  });
});

describe("stopping", () => {
  it("does nothing once asked to stop", async () => {
    h = await startHarness();
    const controller = new AbortController();
    controller.abort();
    await expect(h.publisherWith({ signal: controller.signal }).publishPlan(plan(PLAN))).rejects.toThrow("publishing stopped before it could read acme/fleet");
    expect(h.fake.requests).toEqual([]);
  });

  it("stops after a pause, and publishing again completes the work", async () => {
    h = await startHarness();
    const controller = new AbortController();
    h.fake.inject({ operation: "pulls/create", status: 403, retryAfter: 1 });
    // Asked to stop while waiting out the rate limit.
    const stopping = h.publisherWith({ signal: controller.signal, onNotice: () => controller.abort() });
    await expect(stopping.publishPlan(plan(PLAN))).rejects.toThrow("publishing stopped before it could open a pull request from steward/plan/web");
    expect(h.fake.requests.filter((r) => r.operation === "pulls/create").map((r) => r.status)).toEqual([403]);
    const change = await h.publisher.publishPlan(plan(PLAN));
    expect(change).toMatchObject({ action: "created", committed: false, review: { id: "#1" } });
  });
});

describe("permissions and credentials", () => {
  it("names the permission to grant when the token may not open pull requests, without the token", async () => {
    h = await startHarness({ contents: "write", issues: "write" });
    const error = (await h.publisher.publishPlan(plan(PLAN)).catch((e: unknown) => e)) as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.message).toBe("cannot list pull requests from acme:steward/plan/web: the credentials lack the permission `pull-requests: read` on acme/fleet: 403 Resource not accessible by integration");
    expect(error.hint).toContain("grant `pull-requests: read`");
    expect(`${error.message}${error.hint}${error.stack}`).not.toContain(TOKEN);
  });

  it("names contents: write when the token may only read the repository", async () => {
    h = await startHarness({ contents: "read", pull_requests: "write", issues: "write" });
    await expect(h.publisher.publishPlan(plan(PLAN))).rejects.toThrow(/^cannot store plans\/c{64}\.json: the credentials lack the permission `contents: write`/);
  });

  it("names issues: write for incidents", async () => {
    h = await startHarness({ contents: "write", pull_requests: "write", issues: "read" });
    const report = { runbook: "web", severity: "SEV2" as const, status: "failing" as const, runId: "r1", title: "web failed", body: { summary: "failed", details: [] }, comment: "failed again", labels: [], assignees: [] };
    await expect(h.publisher.incident(report)).rejects.toThrow(/`issues: write`/);
  });

  it("refuses a credential the run's secrets do not know, since it could not be redacted", async () => {
    h = await startHarness();
    expect(() => h!.publisherWith({ auth: { kind: "token", token: "ghs_unregisteredToken0123456789" } })).toThrow(/not registered with the run's secrets/);
  });

  it("reports bad credentials without echoing them", async () => {
    h = await startHarness();
    const wrong = "ghs_wrongTokenWrongTokenWrongToken00";
    const publisher = h.publisherWith({ auth: { kind: "token", token: wrong }, secrets: new RunSecrets({ GITHUB_TOKEN: wrong }) });
    const error = (await publisher.publishPlan(plan(PLAN)).catch((e: unknown) => e)) as PublishError;
    expect(error.message).toMatch(/^cannot read acme\/fleet: GitHub refused the credentials: 401 Requires authentication/);
    expect(JSON.stringify({ m: error.message, h: error.hint })).not.toContain(wrong);
  });
});
