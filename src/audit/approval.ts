/**
 * Who approved a plan, and the check that what is applied is what was approved.
 *
 * In GitHub Actions the approval is the merge of the plan's pull request: the apply
 * workflow runs on the push to the default branch that the merge made (GITHUB_SHA is
 * the merge commit) or on the `pull_request` `closed` event of a merged pull request
 * (pull_request.merge_commit_sha). Both are read from GITHUB_EVENT_NAME, GITHUB_SHA and
 * the event payload at GITHUB_EVENT_PATH, as GitHub documents them ("Events that
 * trigger workflows", "Webhook events and payloads"). Every value is checked before it
 * is trusted: the payload is as controllable as any pull request.
 */
import { readFile, stat } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { relative } from "node:path";
import { EnvironmentError, StewardError } from "../core/errors.ts";
import type { Approval } from "./entry.ts";
import { COMMIT_ID, fileAtCommit, git, isGitRepository, safeRepoPath } from "../core/git.ts";

/** A GitHub login: letters, digits and single hyphens, at most 39 characters; apps end in "[bot]". */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;
/** Largest event payload read (GitHub caps webhook payloads at 25 MB). */
const MAX_EVENT_BYTES = 25 * 1024 * 1024;

/** True when running in GitHub Actions. */
export function inActions(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === "true";
}

/** Who runs this: GITHUB_ACTOR in Actions (when it is a login), else `<user>@<machine>`. */
export function actorOf(env: NodeJS.ProcessEnv): string {
  const actor = env.GITHUB_ACTOR;
  if (inActions(env) && actor !== undefined && LOGIN.test(actor)) return actor;
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for the uid (a container's arbitrary uid): the machine still says where.
  }
  return `${user}@${hostname()}`.replace(/[^\x21-\x7e]/g, "?");
}

/**
 * The approval of the plan being applied, from the GitHub Actions event; null outside
 * Actions or when the event approves nothing (a schedule).
 * @throws EnvironmentError when GITHUB_EVENT_PATH is set but cannot be read as JSON.
 */
export async function approvalFromActions(env: NodeJS.ProcessEnv): Promise<Approval | null> {
  if (!inActions(env)) return null;
  const eventName = env.GITHUB_EVENT_NAME;
  const event = await readEvent(env.GITHUB_EVENT_PATH);
  if (eventName === "pull_request" || eventName === "pull_request_target") {
    const pr = (event?.pull_request ?? null) as Record<string, unknown> | null;
    if (pr === null || pr.merged !== true) return null;
    const commit = pr.merge_commit_sha;
    if (typeof commit !== "string" || !COMMIT_ID.test(commit)) return null;
    const approval: Approval = { commit };
    if (Number.isSafeInteger(pr.number) && (pr.number as number) > 0) approval.pullRequest = pr.number as number;
    const login = (pr.merged_by as Record<string, unknown> | null | undefined)?.login;
    if (typeof login === "string" && LOGIN.test(login)) approval.mergedBy = login;
    return approval;
  }
  if (eventName === "push" || eventName === "workflow_dispatch") {
    const commit = env.GITHUB_SHA;
    if (commit === undefined || !COMMIT_ID.test(commit)) return null;
    const approval: Approval = { commit };
    // A merge through the web UI says so in the commit message: "Merge pull request #12 from …".
    const message = (event?.head_commit as Record<string, unknown> | undefined)?.message;
    const m = typeof message === "string" ? /^Merge pull request #(\d{1,9}) from /.exec(message) : null;
    if (m) approval.pullRequest = Number(m[1]);
    return approval;
  }
  return null;
}

async function readEvent(path: string | undefined): Promise<Record<string, unknown> | null> {
  if (path === undefined || path === "") return null;
  try {
    if ((await stat(path)).size > MAX_EVENT_BYTES) throw new Error(`larger than ${MAX_EVENT_BYTES} bytes`);
    const value: unknown = JSON.parse(await readFile(path, "utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch (error) {
    throw new EnvironmentError(`cannot read the GitHub Actions event at GITHUB_EVENT_PATH (${(error as Error).message})`, "run steward apply as a step of the workflow, which sets it");
  }
}

/** The plan file differs from the one the approving commit holds: exit 5. */
export class UnapprovedPlanError extends StewardError {
  constructor(message: string) {
    super("stale-plan", message, "apply only a plan merged through its pull request: re-plan, publish, and merge the new plan's pull request");
  }
}

/**
 * In Actions, refuses a plan file whose bytes differ from the file at the approving
 * commit, or that the commit does not hold: what runs must be what was reviewed.
 * Outside Actions, or with no approval, it checks nothing.
 * @param planFile absolute path of the plan file. @param root the repository root.
 * @throws UnapprovedPlanError; EnvironmentError when the checkout lacks the commit or git.
 */
export async function checkApprovedPlan(root: string, planFile: string, approval: Approval | null, env: NodeJS.ProcessEnv): Promise<void> {
  if (!inActions(env) || approval === null) return;
  const path = relative(root, planFile).split("\\").join("/");
  const at = approval.pullRequest !== undefined ? `the merge of pull request #${approval.pullRequest} (${approval.commit})` : `commit ${approval.commit}`;
  if (!safeRepoPath(path)) throw new UnapprovedPlanError(`the plan file ${planFile} is outside the repository, so it cannot have been approved by ${at}`);
  let approved: Buffer | null;
  try {
    approved = await fileAtCommit(root, approval.commit, path);
  } catch (error) {
    throw new EnvironmentError(`cannot read ${path} at ${at}: ${(error as Error).message}`, "check out the repository with its history (actions/checkout, fetch-depth: 0)");
  }
  if (approved === null) throw new UnapprovedPlanError(`${path} is not in ${at}: this plan was never approved`);
  const current = await readFile(planFile);
  if (!current.equals(approved)) throw new UnapprovedPlanError(`${path} differs from the one approved at ${at}: it was changed after approval`);
}

/**
 * Outside Actions: the approval the local history shows, when HEAD's first-parent
 * history added the plan file in a merge commit (`git merge --no-ff steward/plan/<runbook>`,
 * or a pull request merged on GitHub and pulled): that merge is the approval. Null when
 * the plan was never merged into HEAD, or the root is not a git work tree.
 */
export async function approvalFromHistory(root: string, planFile: string): Promise<Approval | null> {
  const path = relative(root, planFile).split("\\").join("/");
  if (!safeRepoPath(path) || !(await isGitRepository(root))) return null;
  const r = await git(root, ["log", "--first-parent", "--diff-filter=A", "--format=%H %P%x00%s", "HEAD", "--", `./${path}`]);
  if (r.code !== 0) return null;
  const line = r.stdout.toString("utf8").split("\n").filter(Boolean).at(-1);
  if (line === undefined) return null;
  const [ids = "", subject = ""] = line.split("\0");
  const [commit, ...parents] = ids.trim().split(" ");
  if (commit === undefined || !COMMIT_ID.test(commit) || parents.length < 2) return null;
  const approval: Approval = { commit };
  const m = /^Merge pull request #(\d{1,9}) from /.exec(subject);
  if (m) approval.pullRequest = Number(m[1]);
  return approval;
}
