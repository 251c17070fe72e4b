/**
 * Who steward publishes as: a person's token is named by GET /user; the workflow's
 * GITHUB_TOKEN (an installation token GET /user refuses) is github-actions[bot]; an App
 * is `<slug>[bot]` from GET /app; STEWARD_GITHUB_AUTHOR overrides. With each, steward's
 * own items are found again and another account's are ignored.
 */
import { generateKeyPairSync } from "node:crypto";
import { Octokit } from "@octokit/rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RunSecrets } from "../../../src/core/secrets.ts";
import { PublishError, PublishInputError } from "../../../src/publish/errors.ts";
import { GithubPublisher, githubOptionsFromEnv } from "../../../src/publish/github/index.ts";
import { publisherFor } from "../../../src/publish/select.ts";
import { GithubFake } from "../../github-fake/server.ts";
import { FAST, plan } from "./harness.ts";

const R = { owner: "acme", repo: "fleet" };
const QUIET = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const ALICE = "ghp_aliceReviewerToken0123456789abcdef";
const PLAN_A = "a".repeat(64);
const PLAN_B = "b".repeat(64);

let fake: GithubFake;
beforeEach(async () => {
  fake = await GithubFake.start();
  await fake.createRepo("acme", "fleet", { "README.md": "# fleet\n" });
  fake.addToken(ALICE, { login: "alice", type: "User" });
});
afterEach(async () => {
  try {
    expect(fake.violations).toEqual([]);
  } finally {
    await fake.stop();
  }
});

/** A publisher built from `env` as a command builds it, its warnings collected. */
function fromEnv(env: Record<string, string>): { publisher: GithubPublisher; warnings: string[] } {
  const full = { GITHUB_REPOSITORY: "acme/fleet", GITHUB_API_URL: fake.url, ...env };
  const warnings: string[] = [];
  const publisher = new GithubPublisher({ ...githubOptionsFromEnv(full, new RunSecrets(full))!, tuning: FAST, onWarning: (m) => warnings.push(m) });
  return { publisher, warnings };
}

/** alice opens a pull request carrying a plan marker of runbook web, from her own branch. */
async function forgedPlan(): Promise<number> {
  const alice = new Octokit({ baseUrl: fake.url, auth: ALICE, log: QUIET });
  const main = (await alice.rest.git.getRef({ ...R, ref: "heads/main" })).data.object.sha;
  const base = (await alice.rest.git.getCommit({ ...R, commit_sha: main })).data.tree.sha;
  const tree = await alice.rest.git.createTree({ ...R, base_tree: base, tree: [{ path: "x.md", mode: "100644", type: "blob", content: "x\n" }] });
  const commit = await alice.rest.git.createCommit({ ...R, message: "x", tree: tree.data.sha, parents: [main] });
  await alice.rest.git.createRef({ ...R, ref: "refs/heads/alice/x", sha: commit.data.sha });
  return (await alice.rest.pulls.create({ ...R, head: "alice/x", base: "main", title: "x", body: "<!-- steward:plan plan=old runbook=web -->" })).data.number;
}

/** Publishes plan A then plan B; the forged plan stays open, steward's plan A is superseded. */
async function supersedesOnlyItsOwn(publisher: GithubPublisher, login: string): Promise<void> {
  const forged = await forgedPlan();
  const first = await publisher.publishPlan(plan(PLAN_A));
  const second = await publisher.publishPlan(plan(PLAN_B));
  expect(second.superseded).toEqual([{ ...first.review, state: "closed" }]);
  const reader = new Octokit({ baseUrl: fake.url, auth: ALICE, log: QUIET });
  expect((await reader.rest.pulls.get({ ...R, pull_number: forged })).data.state).toBe("open");
  expect((await reader.rest.pulls.get({ ...R, pull_number: Number(second.review.id.slice(1)) })).data.user!.login).toBe(login);
}

describe("the identity steward publishes as", () => {
  it("a person's token: the login GET /user names", async () => {
    const token = "github_pat_stewardOperator0123456789";
    fake.addToken(token, { login: "operator", type: "User" });
    const { publisher, warnings } = fromEnv({ STEWARD_GITHUB_TOKEN: token });
    await supersedesOnlyItsOwn(publisher, "operator");
    expect(fake.count("users/get-authenticated")).toBe(1);
    expect(warnings).toEqual([expect.stringMatching(/^ignoring pull request #1 by alice: .* steward publishes as operator \(GET \/user\)/)]);
  });

  it("the workflow's GITHUB_TOKEN: GET /user refuses it, and its author is github-actions[bot]", async () => {
    const token = "ghs_workflowToken0123456789abcdef";
    fake.addToken(token, { login: "github-actions[bot]" });
    const { publisher, warnings } = fromEnv({ GITHUB_TOKEN: token });
    await supersedesOnlyItsOwn(publisher, "github-actions[bot]");
    expect(fake.requests.filter((r) => r.operation === "users/get-authenticated").map((r) => r.status)).toEqual([403]);
    expect(warnings).toEqual([expect.stringContaining("steward publishes as github-actions[bot] (the workflow's GITHUB_TOKEN)")]);
  });

  it("STEWARD_GITHUB_TOKEN holding the workflow's token is the workflow's token too", () => {
    const env = { GITHUB_REPOSITORY: "acme/fleet", GITHUB_TOKEN: "ghs_workflowToken0123456789abcdef", STEWARD_GITHUB_TOKEN: "ghs_workflowToken0123456789abcdef" };
    expect(githubOptionsFromEnv(env, new RunSecrets(env))!.auth).toMatchObject({ kind: "token", workflowToken: true });
    const other = { ...env, STEWARD_GITHUB_TOKEN: "ghs_someAppsInstallationToken012345" };
    expect(githubOptionsFromEnv(other, new RunSecrets(other))!.auth).toMatchObject({ kind: "token", workflowToken: false });
  });

  it("another installation token: GitHub cannot name its bot, so publishing stops and asks for STEWARD_GITHUB_AUTHOR", async () => {
    const token = "ghs_someAppsInstallationToken012345";
    fake.addToken(token, { login: "fleet-bot[bot]" });
    const { publisher } = fromEnv({ STEWARD_GITHUB_TOKEN: token });
    const error = (await publisher.publishPlan(plan(PLAN_A)).catch((e: unknown) => e)) as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.message).toBe("cannot tell which account steward publishes as: GitHub answered GET /user with 403 Resource not accessible by integration, as it does for an App installation token, and STEWARD_GITHUB_TOKEN is not the workflow's GITHUB_TOKEN");
    expect(error.hint).toMatch(/^set STEWARD_GITHUB_AUTHOR to the login/);
    expect(fake.count("pulls/create")).toBe(0);
  });

  it("STEWARD_GITHUB_AUTHOR names it, with no lookup", async () => {
    const token = "ghs_someAppsInstallationToken012345";
    fake.addToken(token, { login: "fleet-bot[bot]" });
    const { publisher } = fromEnv({ STEWARD_GITHUB_TOKEN: token, STEWARD_GITHUB_AUTHOR: "fleet-bot[bot]" });
    await supersedesOnlyItsOwn(publisher, "fleet-bot[bot]");
    expect(fake.count("users/get-authenticated")).toBe(0);
  });

  it("a STEWARD_GITHUB_AUTHOR that is not the token's account stops after the first item, naming the right login", async () => {
    const token = "ghs_someAppsInstallationToken012345";
    fake.addToken(token, { login: "fleet-bot[bot]" });
    const { publisher } = fromEnv({ STEWARD_GITHUB_TOKEN: token, STEWARD_GITHUB_AUTHOR: "other-bot[bot]" });
    const error = (await publisher.publishPlan(plan(PLAN_A)).catch((e: unknown) => e)) as PublishError;
    expect(error.message).toBe("GitHub recorded fleet-bot[bot] as the author of pull request #1, not other-bot[bot] (STEWARD_GITHUB_AUTHOR): steward would not recognise it as its own next time and would open another");
    expect(error.hint).toBe("set STEWARD_GITHUB_AUTHOR=fleet-bot[bot] (or unset it if it is set wrongly)");
  });

  it("refuses a STEWARD_GITHUB_AUTHOR that is not a login", () => {
    const env = { GITHUB_REPOSITORY: "acme/fleet", GITHUB_TOKEN: "ghs_workflowToken0123456789abcdef", STEWARD_GITHUB_AUTHOR: "bot\n::set-output" };
    expect(() => githubOptionsFromEnv(env, new RunSecrets(env))).toThrow('STEWARD_GITHUB_AUTHOR is "bot\\n::set-output", not a GitHub login');
    const secrets = new RunSecrets({ STEWARD_GITHUB_TOKEN: "ghs_workflowToken0123456789abcdef" });
    expect(() => new GithubPublisher({ repository: "acme/fleet", auth: { kind: "token", token: "ghs_workflowToken0123456789abcdef" }, author: "a b", secrets })).toThrow(PublishInputError);
  });

  it("a GitHub App: <slug>[bot], from GET /app with the App's JWT", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    fake.apps.addApp({ appId: 4242, slug: "steward-app", publicKeyPem: publicKey, installationId: 77 });
    const { publisher, warnings } = fromEnv({ STEWARD_GITHUB_APP_ID: "4242", STEWARD_GITHUB_APP_PRIVATE_KEY: privateKey, STEWARD_GITHUB_APP_INSTALLATION_ID: "77" });
    await supersedesOnlyItsOwn(publisher, "steward-app[bot]");
    expect(fake.requests.filter((r) => r.operation === "apps/get-authenticated").map((r) => r.status)).toEqual([200]);
    expect(warnings).toEqual([expect.stringContaining("steward publishes as steward-app[bot] (GET /app)")]);
  });

  it("a command's publisher prints an ignored item to stderr, as a warning", async () => {
    const token = "ghs_workflowToken0123456789abcdef";
    fake.addToken(token, { login: "github-actions[bot]" });
    const env = { GITHUB_REPOSITORY: "acme/fleet", GITHUB_API_URL: fake.url, GITHUB_TOKEN: token };
    let stderr = "";
    const publisher = publisherFor(undefined, "/nonexistent", { env, secrets: new RunSecrets(env), stderr: (t) => (stderr += t) });
    const forged = await forgedPlan();
    // GitHub's own pacing applies here (a second between writes): one publish is enough.
    await publisher.publishPlan(plan(PLAN_A));
    expect(stderr).toBe(`warning: ignoring pull request #${forged} by alice: it carries a steward plan marker, but steward publishes as github-actions[bot] (the workflow's GITHUB_TOKEN) and never updates, closes or comments on what it did not write\n`);
  });
});
