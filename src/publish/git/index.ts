/**
 * The `git` publisher: the whole loop offline, in the local repository. Plans, results
 * and weekly reports are committed to their deterministic branches
 * (`steward/plan/<runbook>`, `steward/results/<run-id>`, `steward/report/<week>`) without touching the work tree or the index: each commit
 * is built with a private index (GIT_INDEX_FILE) from the current HEAD's tree plus the
 * published files, then `commit-tree` and a compare-and-swap `update-ref`, the same
 * plumbing `git commit` uses. "Merging the pull request" is merging the branch
 * (`git merge --no-ff steward/plan/<runbook>`): that merge commit is the approval.
 *
 * What GitHub keeps in a pull request, a comment or an issue is a Markdown file here,
 * with the same marker and body: `.steward/reviews/<branch>.md` (not committed: the
 * branch is the change), and `incidents/<runbook>-<severity>.md` (committed with the
 * next results, so the incident history is in Git).
 *
 * Steward builds only on what it wrote: the branch tip it leaves is recorded beside the
 * review (`.steward/reviews/<branch>.tip`, untracked working state like the review), and
 * a publish that would add to the branch or keep its tip (a resumed run's results, the
 * same plan or week again) first checks that the tip is still the one recorded. A tip
 * steward did not publish — someone committed to the branch, or it was fetched from
 * elsewhere — is refused, never carried into what a reviewer approves. Branches
 * steward starts again from HEAD (a new plan) are simply replaced, as on GitHub.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../core/fs.ts";
import { git } from "../../core/git.ts";
import { renderBody } from "../body.ts";
import { PublishError } from "../errors.ts";
import { checkFilePath, commentMarker, hasMarker, incidentMarker, parseMarker, planBranch, planMarker, reportBranch, reportMarker, resultsBranch, resultsMarker } from "../markers.ts";
import type { CommentOutcome, IncidentOutcome, IncidentReport, PlanPublication, PublishedChange, Publisher, PublishFile, RecommendationSet, RecommendationsOutcome, ReportPublication, ResultsPublication, ReviewRef, StickyComment } from "../types.ts";
import { publishRecommendationFiles } from "./recommendations.ts";

/** Where review bodies are written, relative to the repository root. */
export const REVIEWS_DIR = ".steward/reviews";
/** Where incidents are kept, relative to the repository root. */
export const INCIDENTS_DIR = "incidents";

/** Who commits when the repository configures no identity (a fresh CI checkout). */
const FALLBACK_IDENTITY = { GIT_AUTHOR_NAME: "steward", GIT_AUTHOR_EMAIL: "steward@localhost", GIT_COMMITTER_NAME: "steward", GIT_COMMITTER_EMAIL: "steward@localhost" };

export interface GitPublisherOptions {
  /** The repository root (a git work tree). */
  root: string;
  /** The clock for incident files (ISO 8601 UTC); the system clock when absent. */
  now?: () => Date;
}

/** The git publisher; see the module comment. Every method throws PublishError when git refuses. */
export class GitPublisher implements Publisher {
  readonly kind = "git" as const;
  readonly #root: string;
  readonly #now: () => Date;

  constructor(options: GitPublisherOptions) {
    this.#root = options.root;
    this.#now = options.now ?? (() => new Date());
  }

  async publishPlan(p: PlanPublication): Promise<PublishedChange> {
    const branch = planBranch(p.runbook);
    const marker = planMarker(p.runbook, p.planId);
    const previous = await this.#readReview(branch);
    const tip = await this.#resolve(`refs/heads/${branch}`);
    const head = await this.#head();
    // The same plan merged already: its review is closed; a new plan gets a new branch commit.
    if (tip !== null && previous !== null && hasMarker(previous, "plan", marker.fields) && (await this.#isAncestor(tip, head))) {
      return { branch, commit: tip, committed: false, action: "closed-before", review: this.#ref(branch, "merged"), superseded: [] };
    }
    const superseded: ReviewRef[] = [];
    const old = parseMarker(previous);
    if (tip !== null && old?.kind === "plan" && old.fields.plan !== p.planId && !(await this.#isAncestor(tip, head))) superseded.push(this.#ref(`${branch}@${old.fields.plan}`, "closed"));
    const { commit, committed } = await this.#commit(branch, head, tip, p.files, p.message, old?.fields.plan === p.planId);
    const body = renderBody(marker, p.body, Number.MAX_SAFE_INTEGER);
    const action = previous === null || tip === null ? "created" : previous === body && !committed ? "unchanged" : "updated";
    await this.#writeReview(branch, body);
    return { branch, commit, committed, action, review: this.#ref(branch, "open"), superseded };
  }

  async publishResults(r: ResultsPublication): Promise<PublishedChange> {
    const branch = resultsBranch(r.runId);
    const marker = resultsMarker(r.runId);
    const previous = await this.#readReview(branch);
    const tip = await this.#resolve(`refs/heads/${branch}`);
    const head = await this.#head();
    const merged = tip !== null && (await this.#isAncestor(tip, head));
    if (merged && (await this.#holds(head, r.files))) {
      // Merged already, and HEAD holds exactly these files: publishing again changes nothing.
      return { branch, commit: tip, committed: false, action: "closed-before", review: this.#ref(branch, "merged"), superseded: [] };
    }
    // A resumed run adds a commit on top of its unmerged results; merged results start again from HEAD.
    const { commit, committed } = await this.#commit(branch, merged || tip === null ? head : tip, merged ? null : tip, r.files, r.message, !merged && tip !== null, tip);
    const body = renderBody(marker, r.body, Number.MAX_SAFE_INTEGER);
    const action = tip === null || previous === null ? "created" : previous === body && !committed ? "unchanged" : "updated";
    await this.#writeReview(branch, body);
    return { branch, commit, committed, action, review: this.#ref(branch, "open"), superseded: [] };
  }

  /**
   * The week's report on `steward/report/<week>`: HEAD's tree plus the report files.
   * Publishing again in the same week updates the branch only when the files (or HEAD)
   * changed; once the branch is merged the week is settled (`closed-before`).
   */
  async publishReport(r: ReportPublication): Promise<PublishedChange> {
    const branch = reportBranch(r.week);
    const marker = reportMarker(r.week);
    const previous = await this.#readReview(branch);
    const tip = await this.#resolve(`refs/heads/${branch}`);
    const head = await this.#head();
    if (tip !== null && (await this.#isAncestor(tip, head))) {
      return { branch, commit: tip, committed: false, action: "closed-before", review: this.#ref(branch, "merged"), superseded: [] };
    }
    const { commit, committed } = await this.#commit(branch, head, tip, r.files, r.message, tip !== null);
    const body = renderBody(marker, r.body, Number.MAX_SAFE_INTEGER);
    const action = previous === null || tip === null ? "created" : previous === body && !committed ? "unchanged" : "updated";
    await this.#writeReview(branch, body);
    return { branch, commit, committed, action, review: this.#ref(branch, "open"), superseded: [] };
  }

  async stickyComment(c: StickyComment): Promise<CommentOutcome> {
    const name = `comments/pr-${c.pullRequest}-${c.key}`;
    checkFilePath(`${REVIEWS_DIR}/${name}.md`);
    const body = renderBody(commentMarker(c.key), c.body, Number.MAX_SAFE_INTEGER);
    const previous = await this.#readReview(name);
    if (previous === body) return { action: "unchanged", url: this.#reviewPath(name) };
    await this.#writeReview(name, body);
    return { action: previous === null ? "created" : "updated", url: this.#reviewPath(name) };
  }

  /**
   * One file per runbook and severity. Failing: opened, or its description replaced and
   * the comment appended under "Timeline". Resolved: the comment appended and the status
   * set to closed; a later failure reopens the same file (the history stays in it).
   */
  async incident(report: IncidentReport): Promise<IncidentOutcome> {
    const marker = incidentMarker(report.runbook, report.severity);
    const path = checkFilePath(`${INCIDENTS_DIR}/${report.runbook}-${report.severity.toLowerCase()}.md`);
    const file = join(this.#root, path);
    const previous = await readOptional(file);
    const open = previous !== null && /^status: open$/m.test(previous);
    if (report.status === "resolved" && !open) return { action: "none" };
    const timeline = previous === null ? [] : timelineOf(previous);
    const at = this.#now().toISOString();
    timeline.push(`- ${at} — ${report.status === "failing" ? "failing" : "resolved"} (run ${report.runId})${report.comment === undefined ? "" : `: ${report.comment.replace(/\s*\n\s*/g, " ")}`}`);
    const status = report.status === "failing" ? "open" : "closed";
    const description = report.status === "failing" || previous === null ? renderBody(marker, report.body, Number.MAX_SAFE_INTEGER) : descriptionOf(previous);
    const text = `---\nstatus: ${status}\nrunbook: ${report.runbook}\nseverity: ${report.severity}\nlabels: [${report.labels.join(", ")}]\n---\n# ${report.title}\n\n${description.trim()}\n\n## Timeline\n\n${timeline.join("\n")}\n`;
    await writeFileAtomic(file, text, { root: this.#root });
    const action = report.status === "resolved" ? "closed" : open ? "updated" : "opened";
    return { action, review: { id: path, url: path, state: status === "open" ? "open" : "closed" } };
  }

  /** One file per recommendation on steward/recommendations (recommendations.ts). */
  async recommendations(set: RecommendationSet): Promise<RecommendationsOutcome> {
    return publishRecommendationFiles(this.#root, set, (args, options, doing) => this.#git(args, options, doing), await this.#identity());
  }

  /** Commits `files` on top of `base`'s tree to `branch`; unchanged when the branch tip already has exactly that tree. */
  async #commit(branch: string, base: string, tip: string | null, files: readonly PublishFile[], message: string, mayBeSame: boolean, casOld: string | null = tip): Promise<{ commit: string; committed: boolean }> {
    for (const f of files) checkFilePath(f.path);
    // Adding to the branch, or keeping it, trusts its tip: only the one steward recorded.
    if (tip !== null && mayBeSame) await this.#checkTip(branch, tip);
    const outcome = await this.#build(branch, base, tip, files, message, mayBeSame, casOld);
    await writeFileAtomic(join(this.#root, this.#tipPath(branch)), `${outcome.commit}\n`, { root: this.#root });
    return outcome;
  }

  /**
   * Refuses a branch tip steward did not leave there (see the module comment).
   * @throws PublishError naming the branch and its tip, and how to clear it.
   */
  async #checkTip(branch: string, tip: string): Promise<void> {
    const recorded = (await readOptional(join(this.#root, this.#tipPath(branch))))?.trim();
    if (recorded === tip) return;
    throw new PublishError(
      `${branch} is at ${tip.slice(0, 12)}, a commit steward did not publish there${recorded !== undefined && /^[0-9a-f]{40,64}$/.test(recorded) ? ` (it left ${recorded.slice(0, 12)})` : ""}: someone committed to the branch or made it elsewhere, and steward does not build on what it did not write`,
      `see what it holds with \`git log HEAD..${branch}\`; keep any work of yours on another branch, then delete this one (\`git branch -D ${branch}\`) and publish again`,
    );
  }

  async #build(branch: string, base: string, tip: string | null, files: readonly PublishFile[], message: string, mayBeSame: boolean, casOld: string | null): Promise<{ commit: string; committed: boolean }> {
    const scratch = await mkdtemp(join(tmpdir(), "steward-publish-"));
    try {
      const env = { GIT_INDEX_FILE: join(scratch, "index"), ...(await this.#identity()) };
      await this.#git(["read-tree", `${base}^{tree}`], { env }, "reading the base tree");
      for (const f of files) {
        const blob = (await this.#git(["hash-object", "-w", "--stdin"], { input: f.content }, `storing ${f.path}`)).trim();
        await this.#git(["update-index", "--add", "--cacheinfo", `100644,${blob},${f.path}`], { env }, `staging ${f.path}`);
      }
      const tree = (await this.#git(["write-tree"], { env }, "writing the tree")).trim();
      if (tip !== null && mayBeSame && (await this.#git(["rev-parse", `${tip}^{tree}`], {}, "reading the branch")).trim() === tree) return { commit: tip, committed: false };
      const parent = tip !== null && mayBeSame ? tip : base;
      const commit = (await this.#git(["commit-tree", tree, "-p", parent, "-F", "-"], { input: message, env }, "committing")).trim();
      // Compare-and-swap: another publisher moving the branch meanwhile makes this fail, never lose its commit.
      await this.#git(["update-ref", "-m", "steward publish", `refs/heads/${branch}`, commit, casOld ?? ""], {}, `updating ${branch}`);
      return { commit, committed: true };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** True when `commit`'s tree holds every one of `files` with exactly that content. */
  async #holds(commit: string, files: readonly PublishFile[]): Promise<boolean> {
    for (const f of files) {
      const r = await git(this.#root, ["cat-file", "blob", `${commit}:${checkFilePath(f.path)}`]);
      if (r.code !== 0 || !r.stdout.equals(Buffer.from(f.content))) return false;
    }
    return true;
  }

  async #identity(): Promise<NodeJS.ProcessEnv> {
    const r = await git(this.#root, ["config", "user.email"]);
    return r.code === 0 && r.stdout.toString("utf8").trim() !== "" ? {} : FALLBACK_IDENTITY;
  }

  async #head(): Promise<string> {
    const head = await this.#resolve("HEAD");
    if (head === null) throw new PublishError(`${this.#root} has no commit yet: the git publisher branches from HEAD`, "commit the repository first (git add inventory runbooks && git commit)");
    return head;
  }

  async #resolve(ref: string): Promise<string | null> {
    const r = await git(this.#root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    return r.code === 0 ? r.stdout.toString("utf8").trim() : null;
  }

  async #isAncestor(a: string, b: string): Promise<boolean> {
    return (await git(this.#root, ["merge-base", "--is-ancestor", a, b])).code === 0;
  }

  async #git(args: string[], options: { input?: string | Uint8Array; env?: NodeJS.ProcessEnv }, doing: string): Promise<string> {
    let r;
    try {
      r = await git(this.#root, args, options);
    } catch (error) {
      throw new PublishError(`git could not be run while ${doing} (${(error as Error).message})`, "install git (scripts/setup does)");
    }
    if (r.code !== 0) throw new PublishError(`git failed while ${doing} in ${this.#root}: ${r.stderr.trim().split("\n")[0] ?? `exit ${r.code}`}`, "check the repository with `git status`; nothing was published");
    return r.stdout.toString("utf8");
  }

  #reviewPath(name: string): string {
    return `${REVIEWS_DIR}/${name.replace(/\//g, "__")}.md`;
  }

  /** Where the tip steward last left on `branch` is recorded. */
  #tipPath(branch: string): string {
    return `${REVIEWS_DIR}/${branch.replace(/\//g, "__")}.tip`;
  }

  #ref(branch: string, state: ReviewRef["state"]): ReviewRef {
    return { id: this.#reviewPath(branch), url: this.#reviewPath(branch), state };
  }

  async #readReview(name: string): Promise<string | null> {
    return readOptional(join(this.#root, this.#reviewPath(name)));
  }

  async #writeReview(name: string, body: string): Promise<void> {
    await writeFileAtomic(join(this.#root, this.#reviewPath(name)), body, { root: this.#root });
  }
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

function timelineOf(text: string): string[] {
  const at = text.indexOf("\n## Timeline\n");
  if (at === -1) return [];
  return text.slice(at + "\n## Timeline\n".length).split("\n").filter((l) => l.startsWith("- "));
}

function descriptionOf(text: string): string {
  const start = text.indexOf("<!-- steward:incident");
  const end = text.indexOf("\n## Timeline\n");
  return start === -1 ? "" : text.slice(start, end === -1 ? undefined : end);
}

