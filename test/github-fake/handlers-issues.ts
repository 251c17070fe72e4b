/** Pull requests, issues, comments and labels. A pull request is an issue with pull fields. */
import { notFound, page, validationFailed, type Handler, type HandlerContext, type Reply } from "./reply.ts";
import { comment, issue, label, pullRequest, pullRequestSimple, repoApi } from "./shapes.ts";
import type { IssueRecord } from "./state.ts";

function findIssue(ctx: HandlerContext, key: "issue_number" | "pull_number"): IssueRecord | undefined {
  const found = ctx.repo.issues.get(Number(ctx.params[key]));
  if (found === undefined) return undefined;
  return key === "pull_number" && found.pull === undefined ? undefined : found;
}

async function pullBody(ctx: HandlerContext, record: IssueRecord, simple = false): Promise<Record<string, unknown>> {
  const pull = record.pull!;
  // A merged pull request keeps showing the head it merged, even if the branch moved on.
  const head = (pull.merged ? pull.mergedHead : await ctx.git.resolveRef(`refs/heads/${pull.head}`)) ?? "0".repeat(40);
  const base = (await ctx.git.resolveRef(`refs/heads/${pull.base}`)) ?? "0".repeat(40);
  const full = pullRequest(ctx.urls, ctx.repo, record, { head, base });
  return simple ? pullRequestSimple(full) : full;
}

function sorted(ctx: HandlerContext, items: IssueRecord[]): IssueRecord[] {
  const key = ctx.query.get("sort") === "updated" ? (i: IssueRecord) => i.updatedAt + String(i.number).padStart(9, "0") : (i: IssueRecord) => String(i.number).padStart(9, "0");
  const direction = ctx.query.get("direction") ?? "desc";
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : 1) * (direction === "asc" ? 1 : -1));
}

function byState(ctx: HandlerContext, record: IssueRecord): boolean {
  const state = ctx.query.get("state") ?? "open";
  return state === "all" || record.state === state;
}

/** Adds labels to an issue; like GitHub, a name that does not exist yet is created. */
function attachLabels(ctx: HandlerContext, record: IssueRecord, names: readonly string[]): void {
  for (const name of names) {
    const key = name.toLowerCase();
    if (!ctx.repo.labels.has(key)) ctx.repo.labels.set(key, { id: ctx.ids.take(), name, color: "ededed", description: null });
    const canonical = ctx.repo.labels.get(key)!.name;
    if (!record.labels.some((l) => l.toLowerCase() === key)) record.labels.push(canonical);
  }
}

function newIssue(ctx: HandlerContext, title: string, body: string | null): IssueRecord {
  const number = ctx.repo.issues.size + 1;
  const now = ctx.now();
  return { number, id: ctx.ids.take(), title, body, state: "open", stateReason: null, labels: [], assignees: [], user: ctx.actor, createdAt: now, updatedAt: now, closedAt: null };
}

function setState(ctx: HandlerContext, record: IssueRecord, state: "open" | "closed", reason?: string): void {
  if (state === record.state) return;
  record.state = state;
  record.closedAt = state === "closed" ? ctx.now() : null;
  record.stateReason = state === "closed" ? ((reason as IssueRecord["stateReason"]) ?? "completed") : "reopened";
}

/** GitHub refuses a body or comment of 65,536 characters or more. */
function tooLong(resource: "PullRequest" | "Issue" | "IssueComment", text: unknown): Reply | undefined {
  if (typeof text !== "string" || [...text].length < 65_536) return undefined;
  return validationFailed([{ resource, code: "custom", field: "body", message: "body is too long (maximum is 65536 characters)" }]);
}

const issueHandlersUnchecked: Record<string, Handler> = {
  "pulls/list": async (ctx) => {
    const head = ctx.query.get("head");
    const base = ctx.query.get("base");
    const matches = [...ctx.repo.issues.values()].filter((i) => i.pull && byState(ctx, i) && (head === null || `${ctx.repo.owner.login}:${i.pull.head}` === head) && (base === null || i.pull.base === base));
    const bodies = await Promise.all(sorted(ctx, matches).map((i) => pullBody(ctx, i, true)));
    return page(ctx, `/repos/${ctx.repo.owner.login}/${ctx.repo.name}/pulls`, bodies);
  },

  "pulls/get": async (ctx) => {
    const record = findIssue(ctx, "pull_number");
    return record === undefined ? notFound() : { status: 200, body: await pullBody(ctx, record) };
  },

  "pulls/create": async (ctx) => {
    const owner = ctx.repo.owner.login;
    const head = String(ctx.body["head"]).replace(new RegExp(`^${owner}:`), "");
    const base = String(ctx.body["base"]);
    const headSha = await ctx.git.resolveRef(`refs/heads/${head}`);
    const baseSha = await ctx.git.resolveRef(`refs/heads/${base}`);
    if (headSha === undefined) return validationFailed([{ resource: "PullRequest", field: "head", code: "invalid" }]);
    if (baseSha === undefined) return validationFailed([{ resource: "PullRequest", field: "base", code: "invalid" }]);
    const open = [...ctx.repo.issues.values()].find((i) => i.pull && i.state === "open" && i.pull.head === head && i.pull.base === base);
    if (open) return validationFailed([{ resource: "PullRequest", code: "custom", message: `A pull request already exists for ${owner}:${head}.` }]);
    if (await ctx.git.isAncestor(headSha, baseSha)) return validationFailed([{ resource: "PullRequest", code: "custom", message: `No commits between ${base} and ${head}` }]);
    if (typeof ctx.body["title"] !== "string" || ctx.body["title"] === "") return validationFailed([{ resource: "PullRequest", field: "title", code: "missing_field" }]);
    const record = newIssue(ctx, ctx.body["title"], ctx.body["body"] ?? null);
    record.pull = { head, base, merged: false, mergedAt: null, mergeCommitSha: null, mergedHead: null, mergedBy: null, draft: ctx.body["draft"] === true };
    ctx.repo.issues.set(record.number, record);
    return { status: 201, body: await pullBody(ctx, record), headers: { location: `${repoApi(ctx.urls, ctx.repo)}/pulls/${record.number}` } };
  },

  "pulls/update": async (ctx) => {
    const record = findIssue(ctx, "pull_number");
    if (record === undefined) return notFound();
    if (ctx.body["state"] === "open" && record.pull!.merged) return validationFailed([{ resource: "PullRequest", code: "custom", field: "state", message: "state cannot be changed. The pull request cannot be reopened because it has been merged." }]);
    if (ctx.body["state"] === "open" && record.state === "closed") {
      const other = [...ctx.repo.issues.values()].find((i) => i !== record && i.pull && i.state === "open" && i.pull.head === record.pull!.head && i.pull.base === record.pull!.base);
      if (other) return validationFailed([{ resource: "PullRequest", code: "custom", message: `A pull request already exists for ${ctx.repo.owner.login}:${record.pull!.head}.` }]);
    }
    if (typeof ctx.body["title"] === "string") record.title = ctx.body["title"];
    if (typeof ctx.body["body"] === "string") record.body = ctx.body["body"];
    if (typeof ctx.body["base"] === "string") record.pull!.base = ctx.body["base"];
    if (ctx.body["state"] === "open" || ctx.body["state"] === "closed") setState(ctx, record, ctx.body["state"]);
    record.updatedAt = ctx.now();
    return { status: 200, body: await pullBody(ctx, record) };
  },

  "pulls/merge": async (ctx) => {
    const record = findIssue(ctx, "pull_number");
    if (record === undefined) return notFound();
    const pull = record.pull!;
    if (record.state !== "open") return { status: 405, body: { message: "Pull Request is not mergeable", documentation_url: ctx.urls.html } };
    const headSha = (await ctx.git.resolveRef(`refs/heads/${pull.head}`))!;
    const baseSha = (await ctx.git.resolveRef(`refs/heads/${pull.base}`))!;
    if (ctx.body["sha"] !== undefined && ctx.body["sha"] !== headSha) return { status: 409, body: { message: "Head branch was modified. Review and try the merge again.", documentation_url: ctx.urls.html } };
    const tree = await ctx.git.mergeTree(baseSha, headSha);
    if (tree === undefined) return { status: 405, body: { message: "Pull Request is not mergeable", documentation_url: ctx.urls.html } };
    const now = ctx.now();
    const person = { name: ctx.actor.login, email: `${ctx.actor.id}+${ctx.actor.login}@users.noreply.github.fake`, date: now };
    // A merge commit (two parents) or a squash (one); the fake's repositories, like many, do not allow rebase merges.
    const method = ctx.body["merge_method"] ?? "merge";
    if (method === "rebase") return { status: 405, body: { message: "Rebase merges are not allowed on this repository.", documentation_url: ctx.urls.html } };
    const squash = method === "squash";
    const title = ctx.body["commit_title"] ?? (squash ? `${record.title} (#${record.number})` : `Merge pull request #${record.number} from ${ctx.repo.owner.login}/${pull.head}`);
    const message = `${title}\n\n${ctx.body["commit_message"] ?? (squash ? "" : record.title)}\n`;
    const sha = await ctx.git.writeCommit({ message, tree, parents: squash ? [baseSha] : [baseSha, headSha], author: person, committer: person });
    ctx.repo.apiCommits.add(sha);
    await ctx.git.setRef(`refs/heads/${pull.base}`, sha, baseSha);
    Object.assign(pull, { merged: true, mergedAt: now, mergeCommitSha: sha, mergedHead: headSha, mergedBy: ctx.actor });
    setState(ctx, record, "closed");
    record.updatedAt = now;
    return { status: 200, body: { sha, merged: true, message: "Pull Request successfully merged" } };
  },

  "issues/list-for-repo": async (ctx) => {
    const labels = (ctx.query.get("labels") ?? "").split(",").map((l) => l.trim().toLowerCase()).filter(Boolean);
    const creator = ctx.query.get("creator");
    const matches = [...ctx.repo.issues.values()].filter((i) => byState(ctx, i) && labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)) && (creator === null || i.user.login === creator));
    return page(ctx, `/repos/${ctx.repo.owner.login}/${ctx.repo.name}/issues`, sorted(ctx, matches).map((i) => issue(ctx.urls, ctx.repo, i)));
  },

  "issues/get": async (ctx) => {
    const record = findIssue(ctx, "issue_number");
    return record === undefined ? notFound() : { status: 200, body: issue(ctx.urls, ctx.repo, record) };
  },

  "issues/create": async (ctx) => {
    if (typeof ctx.body["title"] !== "string" || ctx.body["title"] === "") return validationFailed([{ resource: "Issue", field: "title", code: "missing_field" }]);
    const record = newIssue(ctx, ctx.body["title"], ctx.body["body"] ?? null);
    attachLabels(ctx, record, labelNames(ctx.body["labels"]));
    record.assignees = [...((ctx.body["assignees"] as string[] | undefined) ?? [])];
    ctx.repo.issues.set(record.number, record);
    return { status: 201, body: issue(ctx.urls, ctx.repo, record), headers: { location: `${repoApi(ctx.urls, ctx.repo)}/issues/${record.number}` } };
  },

  "issues/update": async (ctx) => {
    const record = findIssue(ctx, "issue_number");
    if (record === undefined) return notFound();
    if (typeof ctx.body["title"] === "string") record.title = ctx.body["title"];
    if (ctx.body["body"] !== undefined) record.body = ctx.body["body"];
    if (Array.isArray(ctx.body["labels"])) {
      record.labels = [];
      attachLabels(ctx, record, labelNames(ctx.body["labels"]));
    }
    if (Array.isArray(ctx.body["assignees"])) record.assignees = [...ctx.body["assignees"]];
    if (ctx.body["state"] === "open" && record.pull?.merged) return validationFailed([{ resource: "Issue", field: "state", code: "invalid" }]);
    if (ctx.body["state"] === "open" || ctx.body["state"] === "closed") setState(ctx, record, ctx.body["state"], ctx.body["state_reason"]);
    record.updatedAt = ctx.now();
    return { status: 200, body: issue(ctx.urls, ctx.repo, record) };
  },

  "issues/list-comments": async (ctx) => {
    const record = findIssue(ctx, "issue_number");
    if (record === undefined) return notFound();
    const comments = [...ctx.repo.comments.values()].filter((c) => c.issueNumber === record.number).sort((a, b) => a.id - b.id);
    return page(ctx, `/repos/${ctx.repo.owner.login}/${ctx.repo.name}/issues/${record.number}/comments`, comments.map((c) => comment(ctx.urls, ctx.repo, c)));
  },

  "issues/create-comment": async (ctx) => {
    const record = findIssue(ctx, "issue_number");
    if (record === undefined) return notFound();
    const now = ctx.now();
    const created = { id: ctx.ids.take(), issueNumber: record.number, body: String(ctx.body["body"]), user: ctx.actor, createdAt: now, updatedAt: now };
    ctx.repo.comments.set(created.id, created);
    return { status: 201, body: comment(ctx.urls, ctx.repo, created), headers: { location: `${repoApi(ctx.urls, ctx.repo)}/issues/comments/${created.id}` } };
  },

  "issues/update-comment": async (ctx) => {
    const record = ctx.repo.comments.get(Number(ctx.params["comment_id"]));
    if (record === undefined) return notFound();
    record.body = String(ctx.body["body"]);
    record.updatedAt = ctx.now();
    return { status: 200, body: comment(ctx.urls, ctx.repo, record) };
  },

  "issues/add-labels": async (ctx) => {
    const record = findIssue(ctx, "issue_number");
    if (record === undefined) return notFound();
    const body = ctx.body as unknown;
    const names = Array.isArray(body) ? labelNames(body) : labelNames((ctx.body["labels"] as unknown[] | undefined) ?? []);
    attachLabels(ctx, record, names);
    return { status: 200, body: record.labels.map((name) => label(ctx.urls, ctx.repo, ctx.repo.labels.get(name.toLowerCase())!)) };
  },

  "issues/get-label": async (ctx) => {
    const record = ctx.repo.labels.get(ctx.params["name"]!.toLowerCase());
    return record === undefined ? notFound() : { status: 200, body: label(ctx.urls, ctx.repo, record) };
  },

  "issues/create-label": async (ctx): Promise<Reply> => {
    const name = String(ctx.body["name"]);
    if (ctx.repo.labels.has(name.toLowerCase())) return validationFailed([{ resource: "Label", code: "already_exists", field: "name" }]);
    const color = String(ctx.body["color"] ?? "ededed").replace(/^#/, "");
    if (!/^[0-9a-fA-F]{6}$/.test(color)) return validationFailed([{ resource: "Label", code: "invalid", field: "color" }]);
    const record = { id: ctx.ids.take(), name, color, description: (ctx.body["description"] as string | undefined) ?? null };
    ctx.repo.labels.set(name.toLowerCase(), record);
    return { status: 201, body: label(ctx.urls, ctx.repo, record) };
  },
};

function labelNames(labels: unknown): string[] {
  if (!Array.isArray(labels)) return [];
  return labels.map((l) => (typeof l === "string" ? l : String((l as { name?: unknown }).name ?? ""))).filter((l) => l !== "");
}


/** Each handler behind GitHub's body-length check. */
export const issueHandlers: Record<string, Handler> = Object.fromEntries(
  Object.entries(issueHandlersUnchecked).map(([id, handler]) => [
    id,
    async (ctx: HandlerContext) => {
      const resource = id.startsWith("pulls/") ? "PullRequest" : id.includes("comment") ? "IssueComment" : "Issue";
      return tooLong(resource, ctx.body["body"]) ?? handler(ctx);
    },
  ]),
);
