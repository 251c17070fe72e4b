/**
 * Recommendations as GitHub issues: one issue per recommendation id, labelled
 * `steward-recommendation`, found again by its hidden marker
 * (`<!-- steward:recommendation id=… -->`), updated in place, never duplicated.
 *
 * - Holds, no issue yet: opened (created at most once, even after a lost answer: createOnce).
 * - Holds, issue open: title and body updated when they changed; labels added.
 * - Holds, issue closed by steward (its marker says `state=resolved`): reopened with a
 *   comment, so its history stays in one place.
 * - Holds, issue closed by a person (no `state=resolved`): left closed ("dismissed"):
 *   steward does not argue with a human decision, and opens no second issue.
 * - No longer holds, issue open: a comment with the reason, then closed, its marker
 *   set to `state=resolved`.
 *
 * Only issues and comments steward wrote count (identity.ts): an issue someone else
 * opened with a recommendation marker is never updated, reopened or closed, and its
 * `state=` is never read; a comment someone else wrote does not count as a transition.
 */
import { markdownText } from "../../core/text.ts";
import { renderBody } from "../body.ts";
import { commentMarker, formatMarker, hasMarker, parseMarker, recommendationMarker } from "../markers.ts";
import type { RecommendationOutcome, RecommendationSet, RecommendationsOutcome, ReviewRef } from "../types.ts";
import type { GithubApi } from "./api.ts";
import type { Authorship } from "./identity.ts";
import { listComments, type Issue } from "./issues.ts";
import type { LabelMaker } from "./labels.ts";

/** Every recommendation issue carries this label: the search filters on it. */
export const RECOMMENDATION_LABEL = "steward-recommendation";


/** Makes the open recommendation issues match `set` (see the module comment). */
export async function syncRecommendations(api: GithubApi, labels: LabelMaker, authors: Authorship, set: RecommendationSet, limit: number): Promise<RecommendationsOutcome> {
  const issues = await listRecommendationIssues(api, authors);
  const byId = new Map<string, Issue>();
  for (const issue of issues) {
    const id = parseMarker(issue.body)?.fields.id;
    if (id === undefined) continue;
    const seen = byId.get(id);
    // One issue per id; should two exist (made by hand), the open one, else the newest, is steward's.
    if (seen === undefined || (seen.state !== "open" && (issue.state === "open" || issue.number > seen.number))) byId.set(id, issue);
  }
  const outcomes: RecommendationOutcome[] = [];
  const wantedIds = new Set<string>();
  for (const item of set.items) {
    wantedIds.add(item.id);
    const body = renderBody(recommendationMarker(item.id), item.body, limit);
    const wanted = [RECOMMENDATION_LABEL, ...item.labels.filter((l) => l !== RECOMMENDATION_LABEL)];
    const existing = byId.get(item.id);
    if (existing === undefined) {
      await labels.ensure(wanted);
      const find = async () => (await listRecommendationIssues(api, authors)).find((i) => i.state === "open" && hasMarker(i.body, "recommendation", { id: item.id }));
      const made = await api.createOnce(`open the recommendation ${item.id}`, "issues: write", find, (noRetry) => api.octokit.rest.issues.create({ ...api.where, title: item.title, body, labels: wanted, ...noRetry }));
      await authors.confirm(made, `recommendation #${made.number}`);
      outcomes.push({ id: item.id, action: "opened", review: ref(made) });
      continue;
    }
    if (existing.state !== "open") {
      if (parseMarker(existing.body)?.fields.state !== "resolved") {
        outcomes.push({ id: item.id, action: "dismissed", review: ref(existing) });
        continue;
      }
      await comment(api, authors, existing.number, "reopened", "resolved", `This holds again: ${markdownText(item.title)}`);
      await api.call(`reopen recommendation #${existing.number}`, "issues: write", () => api.octokit.rest.issues.update({ ...api.where, issue_number: existing.number, state: "open", title: item.title, body }));
      await labels.apply(existing.number, existing.labels, wanted);
      outcomes.push({ id: item.id, action: "reopened", review: { ...ref(existing), state: "open" } });
      continue;
    }
    const changed = existing.title !== item.title || existing.body !== body;
    if (changed) await api.call(`update recommendation #${existing.number}`, "issues: write", () => api.octokit.rest.issues.update({ ...api.where, issue_number: existing.number, title: item.title, body }));
    await labels.apply(existing.number, existing.labels, wanted);
    outcomes.push({ id: item.id, action: changed ? "updated" : "unchanged", review: ref(existing) });
  }
  for (const [id, issue] of byId) {
    if (wantedIds.has(id) || issue.state !== "open") continue;
    await comment(api, authors, issue.number, "resolved", "reopened", `No longer recommended: ${set.resolution}`);
    const body = (issue.body ?? "").replace(formatMarker(recommendationMarker(id)), formatMarker(recommendationMarker(id, true)));
    await api.call(`close recommendation #${issue.number}`, "issues: write", () => api.octokit.rest.issues.update({ ...api.where, issue_number: issue.number, state: "closed", state_reason: "completed", body }));
    outcomes.push({ id, action: "closed", review: { ...ref(issue), state: "closed" } });
  }
  outcomes.sort((a, b) => a.id.localeCompare(b.id));
  return { outcomes };
}

/**
 * The comment of one close or reopen, added once. Its key counts the transitions the
 * other way so far (`resolved.0`, `reopened.1`, `resolved.1`, …): publishing again after
 * a lost answer finds it and adds none, and each later cycle gets its own.
 */
async function comment(api: GithubApi, authors: Authorship, number: number, kind: "resolved" | "reopened", other: "resolved" | "reopened", text: string): Promise<void> {
  const list = () => listComments(api, authors, number);
  const existing = await list();
  const key = `${kind}.${existing.filter((c) => parseMarker(c.body)?.kind === "comment" && parseMarker(c.body)!.fields.key?.startsWith(`${other}.`)).length}`;
  const find = async () => (await list()).find((c) => hasMarker(c.body, "comment", { key }));
  if (existing.some((c) => hasMarker(c.body, "comment", { key }))) return;
  const body = `${formatMarker(commentMarker(key))}\n${text}`;
  await api.createOnce(`comment on recommendation #${number}`, "issues: write", find, (noRetry) => api.octokit.rest.issues.createComment({ ...api.where, issue_number: number, body, ...noRetry }));
}

/** Every issue steward opened, open or closed, labelled and marked as a recommendation (pull requests skipped). */
async function listRecommendationIssues(api: GithubApi, authors: Authorship): Promise<Issue[]> {
  const all = await api.call("list recommendation issues", "issues: read", async () => ({
    data: (await api.octokit.paginate(api.octokit.rest.issues.listForRepo, { ...api.where, state: "all", labels: RECOMMENDATION_LABEL, per_page: 100 })) as Issue[],
  }));
  const mine = await authors.mine(all, (i) => `${i.pull_request === undefined ? "issue" : "pull request"} #${i.number}`);
  return mine.filter((i) => i.pull_request === undefined && parseMarker(i.body)?.kind === "recommendation");
}

function ref(issue: Issue): ReviewRef {
  return { id: `#${issue.number}`, url: issue.html_url, state: issue.state === "open" ? "open" : "closed" };
}
