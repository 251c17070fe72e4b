/**
 * Sticky comments and incident issues, each found again by its hidden marker: a
 * sticky comment is edited in place, an incident is one open issue per runbook and
 * severity, updated on each failure and closed by the next clean run. Only issues and
 * comments steward wrote count (identity.ts): one someone else wrote, whatever marker
 * it carries, is never edited, closed or commented on, and does not stand in for
 * steward's own (a forged run comment cannot suppress the real one).
 */
import { renderBody } from "../body.ts";
import { commentMarker, formatMarker, hasMarker, incidentMarker } from "../markers.ts";
import type { BodyParts, CommentOutcome, IncidentOutcome, IncidentReport, ReviewRef } from "../types.ts";
import type { GithubApi } from "./api.ts";
import type { Authorship } from "./identity.ts";
import type { LabelMaker } from "./labels.ts";

/** Every incident carries this label: the search for open incidents filters on it. */
export const INCIDENT_LABEL = "steward-incident";

/** A comment as the REST API returns it (GET /repos/{owner}/{repo}/issues/{number}/comments), the fields the publishers read. */
export interface Comment {
  id: number;
  body?: string;
  html_url: string;
  user?: { login?: string; type?: string } | null;
}

/** An issue as the REST API returns it (GET /repos/{owner}/{repo}/issues), the fields the publishers read. */
export interface Issue {
  number: number;
  title: string;
  body?: string | null;
  html_url: string;
  state: string;
  labels: ReadonlyArray<string | { name?: string }>;
  assignees?: ReadonlyArray<{ login: string }> | null;
  pull_request?: unknown;
  /** The author (`simple-user`); null for a deleted account. */
  user?: { login?: string; type?: string } | null;
}

/** Creates the comment marked `key` on an issue or pull request, or edits it in place. */
export async function upsertComment(api: GithubApi, authors: Authorship, number: number, key: string, parts: BodyParts, limit: number): Promise<CommentOutcome> {
  const body = renderBody(commentMarker(key), parts, limit);
  const find = async () => (await listComments(api, authors, number)).find((c) => hasMarker(c.body, "comment", { key }));
  const existing = await find();
  if (existing === undefined) {
    const made = await api.createOnce(`comment on #${number}`, "pull-requests: write", find, (noRetry) => api.octokit.rest.issues.createComment({ ...api.where, issue_number: number, body, ...noRetry }));
    await authors.confirm(made, `comment ${made.id} on #${number}`);
    return { action: "created", url: made.html_url };
  }
  if (existing.body === body) return { action: "unchanged", url: existing.html_url };
  const edited = await api.call(`edit comment ${existing.id} on #${number}`, "pull-requests: write", () => api.octokit.rest.issues.updateComment({ ...api.where, comment_id: existing.id, body }));
  return { action: "updated", url: edited.html_url };
}

/**
 * Opens, updates or closes the incident of a runbook and severity. Each run's comment
 * (the one that opened it included) is marked with its run id, so publishing the same
 * run again adds no second comment.
 */
export async function reportIncident(api: GithubApi, labels: LabelMaker, authors: Authorship, report: IncidentReport, limit: number): Promise<IncidentOutcome> {
  const marker = incidentMarker(report.runbook, report.severity);
  const find = async () => (await listIssues(api, authors)).find((i) => i.pull_request === undefined && hasMarker(i.body, "incident", marker.fields));
  const open = await find();
  const wanted = [INCIDENT_LABEL, ...report.labels.filter((l) => l !== INCIDENT_LABEL)];
  if (report.status === "resolved") {
    if (open === undefined) return { action: "none" };
    await runComment(api, authors, open.number, report);
    await api.call(`close incident #${open.number}`, "issues: write", () => api.octokit.rest.issues.update({ ...api.where, issue_number: open.number, state: "closed", state_reason: "completed" }));
    return { action: "closed", review: { ...ref(open), state: "closed" } };
  }
  const body = renderBody(marker, report.body, limit);
  if (open === undefined) {
    await labels.ensure(wanted);
    const made = await api.createOnce(`open an incident for ${report.runbook}`, "issues: write", find, (noRetry) =>
      api.octokit.rest.issues.create({ ...api.where, title: report.title, body, labels: wanted, assignees: [...report.assignees], ...noRetry }),
    );
    await authors.confirm(made, `incident #${made.number}`);
    await runComment(api, authors, made.number, report);
    return { action: "opened", review: ref(made) };
  }
  const assigned = new Set((open.assignees ?? []).map((a) => a.login.toLowerCase()));
  const assignees = [...(open.assignees ?? []).map((a) => a.login), ...report.assignees.filter((a) => !assigned.has(a.toLowerCase()))];
  if (open.title !== report.title || open.body !== body || assignees.length !== assigned.size) {
    await api.call(`update incident #${open.number}`, "issues: write", () => api.octokit.rest.issues.update({ ...api.where, issue_number: open.number, title: report.title, body, assignees }));
  }
  await labels.apply(open.number, open.labels, wanted);
  await runComment(api, authors, open.number, report);
  return { action: "updated", review: ref(open) };
}

/** The run's comment on an incident, once per run; none when the report has no comment. */
async function runComment(api: GithubApi, authors: Authorship, number: number, report: IncidentReport): Promise<void> {
  if (report.comment === undefined) return;
  const key = `run.${report.runId}`;
  const find = async () => (await listComments(api, authors, number)).find((c) => hasMarker(c.body, "comment", { key }));
  if ((await find()) !== undefined) return;
  const body = `${formatMarker(commentMarker(key))}\n${report.comment}`;
  await api.createOnce(`comment on incident #${number}`, "issues: write", find, (noRetry) => api.octokit.rest.issues.createComment({ ...api.where, issue_number: number, body, ...noRetry }));
}

/** The comments steward wrote on an issue or pull request, oldest first (others carrying a marker are warned about). */
export async function listComments(api: GithubApi, authors: Authorship, number: number): Promise<Comment[]> {
  const all = await api.call(`list the comments of #${number}`, "issues: read", async () => ({
    data: (await api.octokit.paginate(api.octokit.rest.issues.listComments, { ...api.where, issue_number: number, per_page: 100 })) as Comment[],
  }));
  return authors.mine(all, (c) => `comment ${c.id} on #${number}`);
}

/** Open incidents steward opened (the issues list includes pull requests; callers skip those). */
async function listIssues(api: GithubApi, authors: Authorship): Promise<Issue[]> {
  const all = await api.call("list open incidents", "issues: read", async () => ({
    data: (await api.octokit.paginate(api.octokit.rest.issues.listForRepo, { ...api.where, state: "open", labels: INCIDENT_LABEL, per_page: 100 })) as Issue[],
  }));
  return authors.mine(all, (i) => `${i.pull_request === undefined ? "issue" : "pull request"} #${i.number}`);
}

function ref(issue: Issue): ReviewRef {
  return { id: `#${issue.number}`, url: issue.html_url, state: issue.state === "open" ? "open" : "closed" };
}
