/**
 * Response bodies in GitHub's shapes: every property GitHub's description requires,
 * with URLs that point back at the fake. The fake checks each body against the
 * description before it sends it (see openapi.ts), so these stay honest.
 */
import type { CommitObject } from "./git-store.ts";
import type { Account, CommentRecord, IssueRecord, LabelRecord, RepoRecord } from "./state.ts";

export interface Urls {
  /** The API root, `http://127.0.0.1:PORT`. */
  api: string;
  /** Where web pages would be, `https://github.fake`. */
  html: string;
}

const EPOCH = "2024-01-01T00:00:00Z";

export function user(urls: Urls, account: Account): Record<string, unknown> {
  const login = encodeURIComponent(account.login);
  const api = `${urls.api}/users/${login}`;
  return {
    login: account.login, id: account.id, node_id: nodeId("U", account.id), avatar_url: `${urls.html}/avatars/${account.id}`, gravatar_id: "",
    url: api, html_url: `${urls.html}/${login}`, followers_url: `${api}/followers`, following_url: `${api}/following`, gists_url: `${api}/gists`,
    starred_url: `${api}/starred`, subscriptions_url: `${api}/subscriptions`, organizations_url: `${api}/orgs`, repos_url: `${api}/repos`,
    events_url: `${api}/events`, received_events_url: `${api}/received_events`, type: account.type, site_admin: false, user_view_type: "public",
  };
}

/**
 * GET /user for a person's token: the "private-user" shape (the public profile plus the
 * private counts), as GitHub answers the account a personal access token belongs to.
 */
export function authenticatedUser(urls: Urls, account: Account): Record<string, unknown> {
  return {
    ...user(urls, account), user_view_type: "private", name: account.login, company: null, blog: "", location: null, email: null, hireable: null, bio: null,
    public_repos: 0, public_gists: 0, followers: 0, following: 0, created_at: EPOCH, updated_at: EPOCH,
    private_gists: 0, total_private_repos: 0, owned_private_repos: 0, disk_usage: 0, collaborators: 0, two_factor_authentication: true,
  };
}

/** GET /app: the "integration" shape of an App, owned by `owner`. */
export function app(urls: Urls, record: { appId: string; slug: string; owner: Account; permissions: Record<string, string> }): Record<string, unknown> {
  const id = Number(record.appId);
  return {
    id, slug: record.slug, node_id: nodeId("A", id), client_id: `Iv1.fake${id.toString(16)}`, owner: user(urls, record.owner), name: record.slug, description: null,
    external_url: `${urls.html}/apps/${record.slug}`, html_url: `${urls.html}/apps/${record.slug}`, created_at: EPOCH, updated_at: EPOCH,
    permissions: { metadata: "read", ...record.permissions }, events: [], installations_count: 1,
  };
}

export function repository(urls: Urls, repo: RepoRecord, full = false): Record<string, unknown> {
  const fullName = `${repo.owner.login}/${repo.name}`;
  const api = `${urls.api}/repos/${fullName}`;
  const links = Object.fromEntries(
    ["archive", "assignees", "blobs", "branches", "collaborators", "comments", "commits", "compare", "contents", "contributors", "deployments", "downloads", "events", "forks",
      "git_commits", "git_refs", "git_tags", "hooks", "issue_comment", "issue_events", "issues", "keys", "labels", "languages", "merges", "milestones", "notifications",
      "pulls", "releases", "stargazers", "statuses", "subscribers", "subscription", "tags", "teams", "trees"].map((name) => [`${name}_url`, `${api}/${name.replace(/_/g, "/")}`]),
  );
  const openIssues = [...repo.issues.values()].filter((i) => i.state === "open").length;
  const body: Record<string, unknown> = {
    id: repo.id, node_id: nodeId("R", repo.id), name: repo.name, full_name: fullName, owner: user(urls, repo.owner), private: true, description: null, fork: false,
    url: api, html_url: `${urls.html}/${fullName}`, ...links, clone_url: `${urls.html}/${fullName}.git`, git_url: `git://github.fake/${fullName}.git`,
    ssh_url: `git@github.fake:${fullName}.git`, svn_url: `${urls.html}/${fullName}`, mirror_url: null, homepage: null, language: null,
    forks: 0, forks_count: 0, stargazers_count: 0, watchers: 0, watchers_count: 0, size: 0, default_branch: repo.defaultBranch,
    open_issues: openIssues, open_issues_count: openIssues, has_issues: true, has_projects: false, has_wiki: false, has_pages: false, has_downloads: false,
    has_discussions: false, archived: false, disabled: false, license: null, pushed_at: repo.createdAt, created_at: repo.createdAt, updated_at: repo.createdAt,
  };
  if (full) Object.assign(body, { network_count: 0, subscribers_count: 0 });
  return body;
}

export function label(urls: Urls, repo: RepoRecord, record: LabelRecord): Record<string, unknown> {
  return {
    id: record.id, node_id: nodeId("LA", record.id), url: `${repoApi(urls, repo)}/labels/${encodeURIComponent(record.name)}`, name: record.name,
    description: record.description, color: record.color, default: false,
  };
}

function issueLabels(urls: Urls, repo: RepoRecord, issue: IssueRecord): Array<Record<string, unknown>> {
  return issue.labels.map((name) => label(urls, repo, repo.labels.get(name.toLowerCase())!));
}

export function issue(urls: Urls, repo: RepoRecord, record: IssueRecord): Record<string, unknown> {
  const api = `${repoApi(urls, repo)}/issues/${record.number}`;
  const comments = [...repo.comments.values()].filter((c) => c.issueNumber === record.number).length;
  const assignees = record.assignees.map((login) => user(urls, { login, id: loginId(login), type: "User" }));
  const body: Record<string, unknown> = {
    id: record.id, node_id: nodeId("I", record.id), url: api, repository_url: repoApi(urls, repo), labels_url: `${api}/labels{/name}`, comments_url: `${api}/comments`,
    events_url: `${api}/events`, html_url: `${repoHtml(urls, repo)}/${record.pull ? "pull" : "issues"}/${record.number}`, number: record.number, state: record.state,
    state_reason: record.stateReason, title: record.title, body: record.body, user: user(urls, record.user), labels: issueLabels(urls, repo, record),
    assignee: assignees[0] ?? null, assignees, milestone: null, locked: false, comments, closed_at: record.closedAt, created_at: record.createdAt,
    updated_at: record.updatedAt, author_association: "NONE",
  };
  if (record.pull) {
    const pulls = `${repoApi(urls, repo)}/pulls/${record.number}`;
    body["pull_request"] = { url: pulls, html_url: `${repoHtml(urls, repo)}/pull/${record.number}`, diff_url: `${repoHtml(urls, repo)}/pull/${record.number}.diff`, patch_url: `${repoHtml(urls, repo)}/pull/${record.number}.patch`, merged_at: record.pull.mergedAt };
  }
  return body;
}

export function pullRequest(urls: Urls, repo: RepoRecord, record: IssueRecord, heads: { head: string; base: string }): Record<string, unknown> {
  const pull = record.pull!;
  const api = `${repoApi(urls, repo)}/pulls/${record.number}`;
  const html = `${repoHtml(urls, repo)}/pull/${record.number}`;
  const issueApi = `${repoApi(urls, repo)}/issues/${record.number}`;
  const side = (ref: string, sha: string) => ({ label: `${repo.owner.login}:${ref}`, ref, sha, user: user(urls, repo.owner), repo: repository(urls, repo) });
  const href = (url: string) => ({ href: url });
  const comments = [...repo.comments.values()].filter((c) => c.issueNumber === record.number).length;
  return {
    url: api, id: record.id, node_id: nodeId("PR", record.id), html_url: html, diff_url: `${html}.diff`, patch_url: `${html}.patch`, issue_url: issueApi,
    commits_url: `${api}/commits`, review_comments_url: `${api}/comments`, review_comment_url: `${repoApi(urls, repo)}/pulls/comments{/number}`,
    comments_url: `${issueApi}/comments`, statuses_url: `${repoApi(urls, repo)}/statuses/${heads.head}`, number: record.number, state: record.state, locked: false,
    // The description calls a pull request's label description a string, never null.
    title: record.title, user: user(urls, record.user), body: record.body, labels: issueLabels(urls, repo, record).map((l) => ({ ...l, description: l["description"] ?? "" })), milestone: null, active_lock_reason: null,
    created_at: record.createdAt, updated_at: record.updatedAt, closed_at: record.closedAt, merged_at: pull.mergedAt, merge_commit_sha: pull.mergeCommitSha,
    assignee: null, assignees: [], requested_reviewers: [], requested_teams: [], head: side(pull.head, heads.head), base: side(pull.base, heads.base),
    _links: { self: href(api), html: href(html), issue: href(issueApi), comments: href(`${issueApi}/comments`), review_comments: href(`${api}/comments`),
      review_comment: href(`${repoApi(urls, repo)}/pulls/comments{/number}`), commits: href(`${api}/commits`), statuses: href(`${repoApi(urls, repo)}/statuses/${heads.head}`) },
    author_association: "NONE", auto_merge: null, draft: pull.draft, merged: pull.merged, mergeable: record.state === "open" ? true : null,
    rebaseable: null, mergeable_state: record.state === "open" ? "clean" : "unknown", merged_by: pull.mergedBy ? user(urls, pull.mergedBy) : null,
    comments, review_comments: 0, maintainer_can_modify: false, commits: 1, additions: 0, deletions: 0, changed_files: 0,
  };
}

/** pulls/list answers with the "pull-request-simple" shape: the full one without the counts. */
export function pullRequestSimple(full: Record<string, unknown>): Record<string, unknown> {
  const { merged: _m, mergeable: _a, rebaseable: _r, mergeable_state: _s, merged_by: _b, comments: _c, review_comments: _rc, maintainer_can_modify: _mm, commits: _co, additions: _ad, deletions: _de, changed_files: _cf, ...simple } = full;
  return simple;
}

export function comment(urls: Urls, repo: RepoRecord, record: CommentRecord): Record<string, unknown> {
  return {
    id: record.id, node_id: nodeId("IC", record.id), url: `${repoApi(urls, repo)}/issues/comments/${record.id}`,
    html_url: `${repoHtml(urls, repo)}/issues/${record.issueNumber}#issuecomment-${record.id}`, issue_url: `${repoApi(urls, repo)}/issues/${record.issueNumber}`,
    body: record.body, user: user(urls, record.user), created_at: record.createdAt, updated_at: record.updatedAt, author_association: "NONE",
  };
}

export function gitRef(urls: Urls, repo: RepoRecord, ref: string, sha: string): Record<string, unknown> {
  return { ref, node_id: nodeId("REF", hashCode(ref)), url: `${repoApi(urls, repo)}/git/${ref}`, object: { type: "commit", sha, url: `${repoApi(urls, repo)}/git/commits/${sha}` } };
}

export function gitCommit(urls: Urls, repo: RepoRecord, commit: CommitObject): Record<string, unknown> {
  const verified = repo.apiCommits.has(commit.sha);
  return {
    sha: commit.sha, node_id: nodeId("C", hashCode(commit.sha)), url: `${repoApi(urls, repo)}/git/commits/${commit.sha}`, html_url: `${repoHtml(urls, repo)}/commit/${commit.sha}`,
    author: commit.author, committer: commit.committer, message: commit.message, tree: { sha: commit.tree, url: `${repoApi(urls, repo)}/git/trees/${commit.tree}` },
    parents: commit.parents.map((sha) => ({ sha, url: `${repoApi(urls, repo)}/git/commits/${sha}`, html_url: `${repoHtml(urls, repo)}/commit/${sha}` })),
    // GitHub signs commits made through the API with a token or an App: they show as Verified.
    verification: verified
      ? { verified: true, reason: "valid", signature: "-----BEGIN PGP SIGNATURE-----\n(fake)\n-----END PGP SIGNATURE-----", payload: `tree ${commit.tree}`, verified_at: EPOCH }
      : { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
  };
}

export function repoApi(urls: Urls, repo: RepoRecord): string {
  return `${urls.api}/repos/${repo.owner.login}/${repo.name}`;
}

function repoHtml(urls: Urls, repo: RepoRecord): string {
  return `${urls.html}/${repo.owner.login}/${repo.name}`;
}

function nodeId(kind: string, id: number): string {
  return `${kind}_fake${id.toString(36)}`;
}

/** A stable positive id for a login, so the same user always has the same id. */
export function loginId(login: string): number {
  return 100_000 + (hashCode(login) % 900_000);
}

function hashCode(text: string): number {
  let h = 0;
  for (const c of text) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return h;
}
