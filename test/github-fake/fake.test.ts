import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Octokit } from "@octokit/rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GithubFake } from "./server.ts";

let fake: GithubFake;
let octokit: Octokit;
const R = { owner: "acme", repo: "fleet" };
/** Octokit logs each failed request to the console; these tests fail requests on purpose. */
const QUIET = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const statusOf = (p: Promise<unknown>) => p.then(() => 0, (e: { status: number }) => e.status);

beforeEach(async () => {
  fake = await GithubFake.start();
  await fake.createRepo("acme", "fleet", { "README.md": "# fleet\n" });
  fake.addToken("ghs_fakeSelfTestToken000000", { login: "tester" });
  octokit = new Octokit({ baseUrl: fake.url, auth: "ghs_fakeSelfTestToken000000", log: QUIET });
});
afterEach(async () => {
  await fake.stop();
});

describe("the fake holds requests and itself to GitHub's description", () => {
  it("answers a request missing a required field with 422 and records the violation", async () => {
    const status = await statusOf(octokit.request("POST /repos/{owner}/{repo}/pulls", { ...R, head: "x" } as never));
    expect(status).toBe(422);
    expect(fake.violations).toEqual([{ operation: "pulls/create", where: "body", errors: [`/ must have required property 'base' {"missingProperty":"base"}`] }]);
  });

  it("flags a value outside an enum, and an undocumented query parameter", async () => {
    await statusOf(octokit.request("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", { ...R, pull_number: 1, state: "reopened" } as never));
    await statusOf(octokit.request("GET /repos/{owner}/{repo}/pulls", { ...R, state: "all", author: "alice" } as never));
    expect(fake.violations.map((v) => [v.operation, v.where, v.errors[0]])).toEqual([
      ["pulls/update", "body", expect.stringMatching(/^\/state must be equal to one of the allowed values/)],
      ["pulls/list", "query", "undocumented query parameter(s): author"],
    ]);
  });

  it("flags a path no documented operation has", async () => {
    expect(await statusOf(octokit.request("GET /repos/{owner}/{repo}/git/matching-refs/{ref}", { ...R, ref: "heads/x" }))).toBe(404);
    expect(fake.violations).toEqual([{ operation: "GET /repos/acme/fleet/git/matching-refs/heads%2Fx", where: "params", errors: ["no documented operation has this method and path"] }]);
  });

  it("checks its own responses: a status the operation does not document is a violation", async () => {
    fake.inject({ operation: "git/get-ref", status: 418, message: "teapot" });
    expect(await statusOf(octokit.rest.git.getRef({ ...R, ref: "heads/main" }))).toBe(418);
    expect(fake.violations).toEqual([{ operation: "git/get-ref", where: "response 418", errors: ["status 418 is not documented for this operation"] }]);
  });

  it("answers a duplicate pull request, a stale ref update and a missing repository as GitHub does", async () => {
    const main = (await octokit.rest.git.getRef({ ...R, ref: "heads/main" })).data.object.sha;
    const tree = await octokit.rest.git.createTree({ ...R, tree: [{ path: "a.txt", mode: "100644", type: "blob", content: "a\n" }] });
    const orphan = await octokit.rest.git.createCommit({ ...R, message: "orphan", tree: tree.data.sha, parents: [] });
    const child = await octokit.rest.git.createCommit({ ...R, message: "child", tree: tree.data.sha, parents: [main] });
    await octokit.rest.git.createRef({ ...R, ref: "refs/heads/topic", sha: child.data.sha });
    await octokit.rest.pulls.create({ ...R, head: "topic", base: "main", title: "t" });
    const duplicate = await octokit.rest.pulls.create({ ...R, head: "topic", base: "main", title: "t" }).catch((e: { status: number; response: { data: unknown } }) => e);
    expect(duplicate).toMatchObject({ status: 422, response: { data: { message: "Validation Failed", errors: [{ resource: "PullRequest", code: "custom", message: "A pull request already exists for acme:topic." }] } } });
    const stale = await octokit.rest.git.updateRef({ ...R, ref: "heads/topic", sha: orphan.data.sha }).catch((e: { status: number; response: { data: unknown } }) => e);
    expect(stale).toMatchObject({ status: 422, response: { data: { message: "Update is not a fast forward" } } });
    expect(await statusOf(octokit.rest.git.createRef({ ...R, ref: "refs/heads/topic", sha: main }))).toBe(422);
    expect(await statusOf(octokit.rest.repos.get({ owner: "acme", repo: "nope" }))).toBe(404);
    expect(await statusOf(new Octokit({ baseUrl: fake.url, log: QUIET }).rest.repos.get(R))).toBe(401);
    expect(fake.violations).toEqual([]);
  });

  it("backs commits with a real git repository: the merge button makes a merge commit", async () => {
    const main = (await octokit.rest.git.getRef({ ...R, ref: "heads/main" })).data.object.sha;
    const base = await octokit.rest.git.getCommit({ ...R, commit_sha: main });
    const blob = await octokit.rest.git.createBlob({ ...R, content: Buffer.from("\x00binary\n").toString("base64"), encoding: "base64" });
    const tree = await octokit.rest.git.createTree({ ...R, base_tree: base.data.tree.sha, tree: [{ path: "deep/dir/file.bin", mode: "100644", type: "blob", sha: blob.data.sha }] });
    const commit = await octokit.rest.git.createCommit({ ...R, message: "add file\n\nSteward-Run: r1\n", tree: tree.data.sha, parents: [main] });
    await octokit.rest.git.createRef({ ...R, ref: "refs/heads/topic", sha: commit.data.sha });
    const pr = await octokit.rest.pulls.create({ ...R, head: "topic", base: "main", title: "Add file" });
    await octokit.rest.pulls.merge({ ...R, pull_number: pr.data.number });
    const git = fake.repo("acme", "fleet").git;
    expect(await git.git(["log", "--topo-order", "--format=%s|%P", "main"])).toBe(`Merge pull request #1 from acme/topic|${main} ${commit.data.sha}\nadd file|${main}\nInitial commit|\n`);
    expect(await git.git(["log", "-1", "--format=%(trailers:key=Steward-Run,valueonly)", "topic"])).toBe("r1\n\n");
    expect(await git.readBlob(blob.data.sha)).toEqual(Buffer.from("\x00binary\n"));
    expect(fake.violations).toEqual([]);
  });
});

describe("merge methods", () => {
  it("squashes into one commit on the base, and refuses rebase as a repository may", async () => {
    const main = (await octokit.rest.git.getRef({ ...R, ref: "heads/main" })).data.object.sha;
    const tree = await octokit.rest.git.createTree({ ...R, tree: [{ path: "b.txt", mode: "100644", type: "blob", content: "b\n" }] });
    const commit = await octokit.rest.git.createCommit({ ...R, message: "b", tree: tree.data.sha, parents: [main] });
    await octokit.rest.git.createRef({ ...R, ref: "refs/heads/b", sha: commit.data.sha });
    const pr = await octokit.rest.pulls.create({ ...R, head: "b", base: "main", title: "Add b" });
    expect(await statusOf(octokit.rest.pulls.merge({ ...R, pull_number: pr.data.number, merge_method: "rebase" }))).toBe(405);
    const merged = await octokit.rest.pulls.merge({ ...R, pull_number: pr.data.number, merge_method: "squash" });
    expect(await fake.repo("acme", "fleet").git.git(["log", "--format=%s|%P", "main"])).toBe(`Add b (#1)|${main}\nInitial commit|\n`);
    expect((await octokit.rest.pulls.get({ ...R, pull_number: pr.data.number })).data).toMatchObject({ merged: true, merge_commit_sha: merged.data.sha, head: { sha: commit.data.sha } });
    expect(fake.violations).toEqual([]);
  });
});

describe("lists", () => {
  it("paginate as GitHub does, with a Link header Octokit follows", async () => {
    const issue = await octokit.rest.issues.create({ ...R, title: "t" });
    for (let i = 0; i < 5; i++) await octokit.rest.issues.createComment({ ...R, issue_number: issue.data.number, body: `c${i}` });
    const first = await octokit.rest.issues.listComments({ ...R, issue_number: issue.data.number, per_page: 2 });
    expect(first.headers.link).toMatch(/page=2>; rel="next", <.*page=3>; rel="last"/);
    const all = await octokit.paginate(octokit.rest.issues.listComments, { ...R, issue_number: issue.data.number, per_page: 2 });
    expect(all.map((c) => c.body)).toEqual(["c0", "c1", "c2", "c3", "c4"]);
    expect(fake.count("issues/list-comments")).toBe(4);
    expect(fake.violations).toEqual([]);
  });
});

describe("the committed extract", () => {
  it("is exactly what scripts/openapi-extract.ts makes from the installed @octokit/openapi", async () => {
    const dir = await mkdtemp(join(tmpdir(), "openapi-extract-"));
    try {
      await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/openapi-extract.ts", join(dir, "out.json")], { cwd: join(import.meta.dirname, "..", "..") });
      expect(await readFile(join(dir, "out.json"), "utf8")).toBe(await readFile(join(import.meta.dirname, "openapi-extract.json"), "utf8"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
