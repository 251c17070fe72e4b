/**
 * Commits files to a branch through the Git Data API — blobs, a tree on the parent's
 * tree, a commit, then the ref — rather than the contents API or a git push: commits
 * made this way with a GitHub App token are signed by GitHub and show as Verified,
 * which is what an auditor wants of the trail.
 */
import { PublishError } from "../errors.ts";
import { checkFilePath } from "../markers.ts";
import type { PublishFile } from "../types.ts";
import type { GithubApi } from "./api.ts";

export interface CommitRequest {
  branch: string;
  /** The branch a new branch starts from (the repository's default branch). */
  base: string;
  files: readonly PublishFile[];
  message: string;
  /**
   * `fresh`: the commit's parent is the base's head and the branch is reset to it
   * (a plan: one commit on the base, whatever the branch held). `on-top`: the parent is
   * the branch's head when it exists (results of a resumed run add a commit), and the
   * ref moves only forward.
   */
  mode: "fresh" | "on-top";
}

export interface CommitOutcome {
  sha: string;
  committed: boolean;
}

/** Attempts when the branch moves under us (another writer): each re-reads it. */
const REF_ATTEMPTS = 3;

/**
 * Makes the branch hold `files` in one commit on its parent; no commit when it already
 * does. @throws PublishError when GitHub refuses, or the branch keeps moving.
 */
export async function commitFiles(api: GithubApi, request: CommitRequest): Promise<CommitOutcome> {
  const files = request.files.map((f) => ({ path: checkFilePath(f.path), content: f.content }));
  for (let attempt = 1; attempt <= REF_ATTEMPTS; attempt++) {
    const baseHead = await headOf(api, request.base);
    if (baseHead === undefined) throw new PublishError(`cannot publish to ${api.owner}/${api.repo}: its branch ${request.base} does not exist`, "create the base branch, or set the base branch steward publishes to");
    const branchHead = await headOf(api, request.branch);
    const parent = request.mode === "on-top" && branchHead !== undefined ? branchHead : baseHead;
    const parentCommit = await api.call(`read commit ${parent}`, "contents: read", () => api.octokit.rest.git.getCommit({ ...api.where, commit_sha: parent }));
    const entries: Array<{ path: string; mode: "100644"; type: "blob"; sha: string }> = [];
    // One blob at a time: GitHub asks for content-creating requests in series.
    for (const file of files) {
      const content = typeof file.content === "string" ? Buffer.from(file.content, "utf8") : Buffer.from(file.content);
      const blob = await api.call(`store ${file.path}`, "contents: write", () => api.octokit.rest.git.createBlob({ ...api.where, content: content.toString("base64"), encoding: "base64" }));
      entries.push({ path: file.path, mode: "100644", type: "blob", sha: blob.sha });
    }
    const tree = await api.call(`build the tree for ${request.branch}`, "contents: write", () => api.octokit.rest.git.createTree({ ...api.where, base_tree: parentCommit.tree.sha, tree: entries }));
    if (branchHead !== undefined && (await holdsAlready(api, branchHead, tree.sha, request.mode === "fresh" ? baseHead : undefined))) return { sha: branchHead, committed: false };
    const commit = await api.call(`commit to ${request.branch}`, "contents: write", () => api.octokit.rest.git.createCommit({ ...api.where, message: request.message, tree: tree.sha, parents: [parent] }));
    if (branchHead === undefined) {
      const created = await api.attempt(`create the branch ${request.branch}`, "contents: write", () => api.octokit.rest.git.createRef({ ...api.where, ref: `refs/heads/${request.branch}`, sha: commit.sha }), [422]);
      if (created.ok) return { sha: commit.sha, committed: true };
      if (!/already exists/i.test(created.message)) throw api.refused(`create the branch ${request.branch}`, "contents: write", created);
      continue; // created meanwhile by another writer: read it and try again
    }
    const moved = await api.attempt(`move ${request.branch} to the new commit`, "contents: write", () => api.octokit.rest.git.updateRef({ ...api.where, ref: `heads/${request.branch}`, sha: commit.sha, force: request.mode === "fresh" }), [409, 422]);
    if (moved.ok) return { sha: commit.sha, committed: true };
    if (moved.status === 422 && !/fast forward/i.test(moved.message)) throw api.refused(`move ${request.branch} to the new commit`, "contents: write", moved);
    // Not a fast-forward, or a conflicting update: the branch moved since we read it.
  }
  throw new PublishError(`cannot publish to ${request.branch} in ${api.owner}/${api.repo}: the branch changed under steward ${REF_ATTEMPTS} times in a row`, "another job is writing to the same branch; let it finish (one publish per runbook at a time) and publish again");
}

/** The head commit of a branch, or undefined when it does not exist. */
export async function headOf(api: GithubApi, branch: string): Promise<string | undefined> {
  const ref = await api.attempt(`read the branch ${branch}`, "contents: read", () => api.octokit.rest.git.getRef({ ...api.where, ref: `heads/${branch}` }), [404]);
  return ref.ok ? ref.data.object.sha : undefined;
}

/** True when `head` already has `tree` (and, when given, sits directly on `parent`). */
async function holdsAlready(api: GithubApi, head: string, tree: string, parent: string | undefined): Promise<boolean> {
  const commit = await api.call(`read commit ${head}`, "contents: read", () => api.octokit.rest.git.getCommit({ ...api.where, commit_sha: head }));
  if (commit.tree.sha !== tree) return false;
  return parent === undefined || (commit.parents.length === 1 && commit.parents[0]!.sha === parent);
}
