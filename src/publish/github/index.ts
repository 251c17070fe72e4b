/**
 * The `github` publisher: plans and results as pull requests on deterministic
 * branches, committed through the Git Data API, sticky comments and incident issues,
 * through @octokit/rest (client.ts). See ../types.ts for what each method promises.
 *
 * ```ts
 * const options = githubOptionsFromEnv(process.env, secrets);   // undefined: no GitHub configured
 * const publisher = new GithubPublisher(options);
 * const change = await publisher.publishPlan({ runbook: "security-patches", planId, … });
 * ```
 */
import type { RunSecrets } from "../../core/secrets.ts";
import { GITHUB_BODY_LIMIT } from "../body.ts";
import { PublishInputError } from "../errors.ts";
import { planBranch, planMarker, reportBranch, reportMarker, resultsBranch, resultsMarker } from "../markers.ts";
import type { CommentOutcome, IncidentOutcome, IncidentReport, PlanPublication, PublishedChange, Publisher, RecommendationSet, RecommendationsOutcome, ReportPublication, ResultsPublication, StickyComment } from "../types.ts";
import { GithubApi } from "./api.ts";
import { createClient, type GithubAuth, type GithubTuning } from "./client.ts";
import { Authorship } from "./identity.ts";
import { reportIncident, upsertComment } from "./issues.ts";
import { LabelMaker } from "./labels.ts";
import { publishBranch } from "./pulls.ts";
import { syncRecommendations } from "./recommendations.ts";

export { githubOptionsFromEnv } from "./config.ts";
export type { GithubAuth, GithubTuning } from "./client.ts";

export interface GithubPublisherOptions {
  /** `owner/name`. */
  repository: string;
  auth: GithubAuth;
  /** The REST API root (default https://api.github.com). */
  baseUrl?: string;
  /** The branch plans and results are proposed to (default: the repository's default branch). */
  baseBranch?: string;
  /** The run's secrets: the credential must already be registered (githubOptionsFromEnv does it). */
  secrets: RunSecrets;
  tuning?: GithubTuning;
  /** Most characters in a body or comment (default GitHub's 65,535). */
  bodyLimit?: number;
  /** Told about rate-limit waits; already redacted. */
  onNotice?: (message: string) => void;
  /**
   * The login steward publishes as (STEWARD_GITHUB_AUTHOR); absent: found from the
   * credential (identity.ts). Only items GitHub says this login wrote are steward's.
   */
  author?: string;
  /**
   * Told, once per item and run, about an item that carries a steward marker but was
   * written by another account, and is therefore ignored; already redacted. Absent: not told.
   */
  onWarning?: (message: string) => void;
  /**
   * Stops publishing: the request in flight is aborted and the method rejects with a
   * PublishError. A pause for a rate limit or a retry ends first (at most its
   * Retry-After or back-off).
   */
  signal?: AbortSignal;
}

/** Labels on every plan and results pull request, besides the caller's. */
const PLAN_LABELS = ["steward", "steward-plan"];
const RESULTS_LABELS = ["steward", "steward-results"];
const REPORT_LABELS = ["steward", "steward-report"];

export class GithubPublisher implements Publisher {
  readonly kind = "github" as const;
  private readonly api: GithubApi;
  private readonly labels: LabelMaker;
  private readonly authors: Authorship;
  private readonly bodyLimit: number;
  private base: string | undefined;

  /** @throws PublishInputError when `repository` is not `owner/name`, `author` is not a GitHub login, or the credential is not registered with `secrets`. */
  constructor(options: GithubPublisherOptions) {
    const match = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})$/.exec(options.repository);
    if (match === null) throw new PublishInputError(`the repository to publish to is ${JSON.stringify(options.repository.slice(0, 150))}, not owner/name`, "name the repository as owner/name, e.g. acme/fleet");
    const [, owner, repo] = match as unknown as [string, string, string];
    const credential = options.auth.kind === "token" ? options.auth.token : options.auth.privateKey;
    // Redaction is what keeps the credential out of every error and log line: refuse to run without it.
    if (options.secrets.redact(credential) === credential) throw new PublishInputError("the GitHub credential is not registered with the run's secrets, so it could not be redacted", "build the options with githubOptionsFromEnv, which reads the credential through RunSecrets");
    const onNotice = options.onNotice;
    const client = createClient({
      auth: options.auth,
      baseUrl: options.baseUrl ?? "https://api.github.com",
      tuning: options.tuning,
      onNotice: onNotice === undefined ? undefined : (message) => onNotice(options.secrets.redact(message)),
      signal: options.signal,
    });
    this.api = new GithubApi(client, owner, repo, options.secrets, {
      serverErrors: options.tuning?.serverErrorRetries ?? 3,
      serverErrorDelayMs: options.tuning?.serverErrorDelayMs ?? 1000,
      rateLimits: options.tuning?.rateLimitRetries ?? 3,
    }, options.signal);
    this.labels = new LabelMaker(this.api);
    const onWarning = options.onWarning;
    this.authors = new Authorship(this.api, options.auth, options.author, (message) => onWarning?.(options.secrets.redact(message)));
    this.bodyLimit = options.bodyLimit ?? GITHUB_BODY_LIMIT;
    this.base = options.baseBranch;
  }

  async publishPlan(plan: PlanPublication): Promise<PublishedChange> {
    return publishBranch(this.api, this.labels, this.authors, {
      branch: planBranch(plan.runbook),
      base: await this.baseBranch(),
      marker: planMarker(plan.runbook, plan.planId),
      family: { runbook: plan.runbook },
      settledByClosed: true,
      mode: "fresh",
      title: plan.title,
      message: plan.message,
      files: plan.files,
      body: plan.body,
      labels: [...PLAN_LABELS, ...plan.labels],
      bodyLimit: this.bodyLimit,
    });
  }

  async publishResults(results: ResultsPublication): Promise<PublishedChange> {
    return publishBranch(this.api, this.labels, this.authors, {
      branch: resultsBranch(results.runId),
      base: await this.baseBranch(),
      marker: resultsMarker(results.runId),
      settledByClosed: false,
      mode: "on-top",
      title: results.title,
      message: results.message,
      files: results.files,
      body: results.body,
      labels: [...RESULTS_LABELS, ...results.labels],
      bodyLimit: this.bodyLimit,
    });
  }

  /**
   * The week's report: one commit directly on the base branch (the branch is reset to
   * it, like a plan's), and one pull request per week, found by its marker and updated
   * in place; a merged or closed one settles the week (`closed-before`).
   */
  async publishReport(report: ReportPublication): Promise<PublishedChange> {
    return publishBranch(this.api, this.labels, this.authors, {
      branch: reportBranch(report.week),
      base: await this.baseBranch(),
      marker: reportMarker(report.week),
      settledByClosed: true,
      mode: "fresh",
      title: report.title,
      message: report.message,
      files: report.files,
      body: report.body,
      labels: [...REPORT_LABELS, ...report.labels],
      bodyLimit: this.bodyLimit,
    });
  }

  async stickyComment(comment: StickyComment): Promise<CommentOutcome> {
    return upsertComment(this.api, this.authors, comment.pullRequest, comment.key, comment.body, this.bodyLimit);
  }

  async incident(report: IncidentReport): Promise<IncidentOutcome> {
    return reportIncident(this.api, this.labels, this.authors, report, this.bodyLimit);
  }

  async recommendations(set: RecommendationSet): Promise<RecommendationsOutcome> {
    return syncRecommendations(this.api, this.labels, this.authors, set, this.bodyLimit);
  }

  private async baseBranch(): Promise<string> {
    if (this.base === undefined) {
      const api = this.api;
      this.base = (await api.call(`read ${api.owner}/${api.repo}`, "contents: read", () => api.octokit.rest.repos.get(api.where))).default_branch;
    }
    return this.base;
  }
}
