/**
 * Plans and results as pull requests, one per marker key, never duplicated:
 * the pull request is found by its branch and its hidden marker and updated in place;
 * a merged or closed one is never reopened; older plans of the same runbook are
 * closed with a comment linking the new one (Renovate's "superseded"). Only pull
 * requests steward opened count (identity.ts): one someone else opened is never
 * updated, closed or read as settled, whatever marker its body carries.
 */
import { renderBody } from "../body.ts";
import { PublishError } from "../errors.ts";
import { hasMarker, type Marker } from "../markers.ts";
import type { BodyParts, PublishedChange, PublishFile, ReviewRef } from "../types.ts";
import type { GithubApi } from "./api.ts";
import { commitFiles } from "./commit.ts";
import { authorOf, type Authorship } from "./identity.ts";
import type { LabelMaker } from "./labels.ts";

export interface BranchPublication {
  branch: string;
  base: string;
  /** The exact key: the pull request with this marker is the one to update. */
  marker: Marker;
  /**
   * Marker fields shared by older versions that this one supersedes (a plan's
   * `{ runbook }`); absent for results, which supersede nothing.
   */
  family?: Record<string, string>;
  /**
   * True when a closed or merged pull request with the same key settles it (a plan:
   * the same id is the same content, already decided); false when new content on the
   * branch deserves a new pull request (results of a resumed run).
   */
  settledByClosed: boolean;
  mode: "fresh" | "on-top";
  title: string;
  message: string;
  files: readonly PublishFile[];
  body: BodyParts;
  labels: readonly string[];
  bodyLimit: number;
}

interface Pull {
  number: number;
  state: string;
  merged_at: string | null;
  html_url: string;
  title: string;
  body: string | null;
  labels: ReadonlyArray<{ name?: string }>;
  head: { ref: string };
  user?: { login?: string; type?: string } | null;
}

const named = (p: Pull): string => `pull request #${p.number}`;

/**
 * Publishes one branch and its pull request (see the module comment).
 * @throws PublishError when GitHub refuses, or a pull request steward did not open is open on the branch.
 */
export async function publishBranch(api: GithubApi, labels: LabelMaker, authors: Authorship, pub: BranchPublication): Promise<PublishedChange> {
  const body = renderBody(pub.marker, pub.body, pub.bodyLimit);
  let committedEarlier = false;
  for (let attempt = 1; ; attempt++) {
    const onBranch = await listPulls(api, { head: `${api.owner}:${pub.branch}`, state: "all" });
    // Only steward's own pull requests are matched by marker; the others are foreign whatever their body says.
    const ours = await authors.mine(onBranch, named);
    const mine = ours.filter((p) => hasMarker(p.body, pub.marker.kind, pub.marker.fields));
    const open = mine.find((p) => p.state === "open");
    const previous = mine.sort((a, b) => b.number - a.number)[0];
    if (open !== undefined) {
      const commit = await commitFiles(api, { branch: pub.branch, base: pub.base, files: pub.files, message: pub.message, mode: pub.mode });
      const changed = open.title !== pub.title || open.body !== body;
      if (changed) await api.call(`update pull request #${open.number}`, "pull-requests: write", () => api.octokit.rest.pulls.update({ ...api.where, pull_number: open.number, title: pub.title, body }));
      await labels.apply(open.number, open.labels, pub.labels);
      // On a second pass, our create was answered "already exists": it was made during this publish.
      const action = attempt > 1 ? "created" : changed || commit.committed ? "updated" : "unchanged";
      return { branch: pub.branch, commit: commit.sha, committed: commit.committed || committedEarlier, action, review: ref(open), superseded: [] };
    }
    if (previous !== undefined && pub.settledByClosed) return closedBefore(api, pub.branch, previous);

    const family = pub.family;
    const elsewhere = family === undefined ? [] : await authors.mine((await listPulls(api, { state: "open" })).filter((p) => p.head.ref !== pub.branch), named);
    const older = [...ours.filter((p) => p.state === "open"), ...elsewhere].filter((p) => family !== undefined && hasMarker(p.body, pub.marker.kind, family));
    const foreign = onBranch.filter((p) => p.state === "open" && !older.includes(p));
    if (foreign.length > 0) {
      const other = foreign[0]!;
      throw new PublishError(`cannot publish to ${pub.branch}: pull request #${other.number} is open on it and was not opened by steward for this (it was opened by ${authorOf(other)})`, `close #${other.number} or move its work to another branch; ${pub.branch} belongs to steward`);
    }
    // A branch has one open pull request per base: close the older plan on it first.
    for (const old of older.filter((p) => p.head.ref === pub.branch)) await close(api, old);
    const commit = await commitFiles(api, { branch: pub.branch, base: pub.base, files: pub.files, message: pub.message, mode: pub.mode });
    if (!commit.committed && previous !== undefined) return closedBefore(api, pub.branch, previous, commit.sha);
    committedEarlier ||= commit.committed;
    const created = await api.attempt(`open a pull request from ${pub.branch}`, "pull-requests: write", () => api.octokit.rest.pulls.create({ ...api.where, head: pub.branch, base: pub.base, title: pub.title, body }), [422]);
    if (!created.ok) {
      // Another job opened one meanwhile: look again and update it (once).
      if (attempt < 2 && created.details.some((d) => /already exists/i.test(d))) continue;
      throw api.refused(`open a pull request from ${pub.branch}`, "pull-requests: write", created);
    }
    const pull = created.data as Pull;
    await authors.confirm(pull, `pull request #${pull.number}`);
    await labels.apply(pull.number, pull.labels, pub.labels);
    const superseded: ReviewRef[] = [];
    for (const old of older) {
      const text = `Superseded by #${pull.number}: a newer ${pub.marker.kind} replaces this one, so it was closed without merging.`;
      await api.call(`comment on #${old.number}`, "pull-requests: write", () => api.octokit.rest.issues.createComment({ ...api.where, issue_number: old.number, body: text }));
      if (old.state === "open" && old.head.ref !== pub.branch) await close(api, old);
      superseded.push({ ...ref(old), state: "closed" });
    }
    return { branch: pub.branch, commit: commit.sha, committed: commit.committed, action: "created", review: ref(pull), superseded };
  }
}

async function listPulls(api: GithubApi, filter: { head?: string; state: "open" | "all" }): Promise<Pull[]> {
  return api.call(`list pull requests${filter.head ? ` from ${filter.head}` : ""}`, "pull-requests: read", async () => ({
    data: (await api.octokit.paginate(api.octokit.rest.pulls.list, { ...api.where, ...filter, per_page: 100 })) as Pull[],
  }));
}

async function close(api: GithubApi, pull: Pull): Promise<void> {
  await api.call(`close pull request #${pull.number}`, "pull-requests: write", () => api.octokit.rest.pulls.update({ ...api.where, pull_number: pull.number, state: "closed" }));
  pull.state = "closed";
}

async function closedBefore(api: GithubApi, branch: string, pull: Pull, commit?: string): Promise<PublishedChange> {
  const head = commit ?? (await api.call(`read pull request #${pull.number}`, "pull-requests: read", () => api.octokit.rest.pulls.get({ ...api.where, pull_number: pull.number }))).head.sha;
  return { branch, commit: head, committed: false, action: "closed-before", review: ref(pull), superseded: [] };
}

function ref(pull: Pull): ReviewRef {
  return { id: `#${pull.number}`, url: pull.html_url, state: pull.merged_at !== null ? "merged" : pull.state === "open" ? "open" : "closed" };
}
