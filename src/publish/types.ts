/**
 * One interface for the two publishers: `git` (a branch of the local repository, the
 * whole loop offline) and `github` (commits through the Git Data API, pull requests,
 * comments and issues). The caller builds what to publish — files, the commit message
 * with its trailers, the Markdown of a body — and a publisher decides only where it
 * goes and how it stays idempotent: publishing the same thing twice changes nothing
 * and never duplicates a pull request, comment or issue.
 *
 * Branches are deterministic (`steward/plan/<runbook>`, `steward/results/<run-id>`,
 * `steward/report/<ISO-week>`) and
 * every pull request, comment and issue steward writes carries a hidden marker
 * (markers.ts), so the next publish finds it again (as Renovate finds its PRs).
 */
import type { Severity } from "../report/severity.ts";

/** The publishers, one folder each under src/publish/. */
export type PublisherKind = "git" | "github";

/** A file to commit: a repository-relative POSIX path (no `..`, no leading `/`) and its content. */
export interface PublishFile {
  path: string;
  content: string | Uint8Array;
}

/**
 * The Markdown of a pull request, comment or issue, in parts a publisher may shorten
 * to fit its limit (GitHub: 65,536 characters): `details` are dropped from the last,
 * then the last kept one is cut; the `summary` is never cut (too long a summary is an
 * error, since what it says must be read).
 */
export interface BodyParts {
  /** Always kept whole. */
  summary: string;
  /** Most important first; each is shown folded (`<details>`) under its title. */
  details: ReadonlyArray<{ title: string; body: string }>;
  /** Where the whole text is, named when details were left out (`plans/<id>.md`). */
  fullTextPath?: string;
}

/** A plan to propose for approval: one pull request per plan, on `steward/plan/<runbook>`. */
export interface PlanPublication {
  /** The runbook's name; it names the branch, so it must be a valid ref component. */
  runbook: string;
  /** The plan's id (its content digest): a new id is a new plan, a new pull request. */
  planId: string;
  /** Pull-request title, one line. */
  title: string;
  /** The commit message: subject, blank line, body and trailers (README, "Commits"). */
  message: string;
  files: readonly PublishFile[];
  body: BodyParts;
  labels: readonly string[];
}

/** A run's results, on `steward/results/<run-id>`; a resumed run adds a commit on top. */
export interface ResultsPublication {
  runId: string;
  title: string;
  message: string;
  files: readonly PublishFile[];
  body: BodyParts;
  labels: readonly string[];
}

/**
 * The weekly report (`steward publish report`): `reports/<week>.md` (and `.json`) on
 * `steward/report/<week>`, one pull request per ISO week found again by its marker and
 * updated in place while it is open. Once that pull request is merged or closed the
 * week is settled: publishing it again reports `closed-before` and opens nothing.
 */
export interface ReportPublication {
  /** The ISO 8601 week, `YYYY-Www` (markers.ts isoWeekName). */
  week: string;
  title: string;
  message: string;
  files: readonly PublishFile[];
  body: BodyParts;
  labels: readonly string[];
}

/** Where a published change can be reviewed: a pull request, or (git) the body file. */
export interface ReviewRef {
  /** `#42` for a pull request; the body file's path for the git publisher. */
  id: string;
  /** The pull request's web page, or the body file's path. */
  url: string;
  state: "open" | "closed" | "merged";
}

/** What publishing a plan or results did. */
export interface PublishedChange {
  branch: string;
  /** The branch's head commit after publishing. */
  commit: string;
  /** False when the branch already held exactly these files: no commit was made. */
  committed: boolean;
  /**
   * `created`: a new pull request; `updated`: the open one was changed in place;
   * `unchanged`: nothing to change; `closed-before`: this content's pull request was
   * merged or closed earlier and is not reopened (a new plan gets a new one).
   */
  action: "created" | "updated" | "unchanged" | "closed-before";
  review: ReviewRef;
  /** Pull requests of older plans of the same runbook closed in favour of this one. */
  superseded: readonly ReviewRef[];
}

/** A comment kept up to date on an engineer's pull request (the plan preview). */
export interface StickyComment {
  pullRequest: number;
  /** One comment per key and pull request, found again by its marker. */
  key: string;
  body: BodyParts;
}

export interface CommentOutcome {
  action: "created" | "updated" | "unchanged";
  url: string;
}

/**
 * A failed or halted run (`failing`) or the next clean run (`resolved`) of a runbook.
 * One incident per runbook and severity is open at a time.
 */
export interface IncidentReport {
  runbook: string;
  severity: Severity;
  status: "failing" | "resolved";
  /** The run that failed or resolved it. */
  runId: string;
  title: string;
  /** The incident's description; replaces the previous one on each failure. */
  body: BodyParts;
  /**
   * A comment for this run (the escalation trail): added once per run id, on the
   * failure that opens the incident, each further one, and the resolution. Absent: no
   * comment (the caller's escalation policy decides, e.g. SEV1/SEV2 only).
   */
  comment?: string;
  labels: readonly string[];
  /** GitHub logins to assign (SEV1/SEV2 escalation); ignored by the git publisher. */
  assignees: readonly string[];
}

export interface IncidentOutcome {
  /** `none`: resolved with no incident open. */
  action: "opened" | "updated" | "closed" | "none";
  review?: ReviewRef;
}

/** One recommended work item (`steward report forecast --open-issues`), found again by its id. */
export interface RecommendationItem {
  /** Stable across runs (`disk.web-1.fs-var`): letters, digits and `. _ : / -`; names its issue or file. */
  id: string;
  /** One line. */
  title: string;
  body: BodyParts;
  /** Labels besides `steward-recommendation`. */
  labels: readonly string[];
}

/**
 * Every recommendation that holds now. The publisher makes what it published match:
 * each item opened or updated in place (never a second one for an id), and each one
 * published before that is absent closed, with `resolution` as the reason.
 */
export interface RecommendationSet {
  items: readonly RecommendationItem[];
  /** Why an absent recommendation was closed, one line ("not predicted by the forecast of 2026-12-07"). */
  resolution: string;
  /** The git publisher's commit message (subject, blank line, body). */
  message: string;
}

export interface RecommendationOutcome {
  id: string;
  /**
   * `opened`, `updated`, `unchanged`; `reopened`: steward had closed it and it holds
   * again; `closed`: it no longer holds; `dismissed`: a person closed it while it
   * held, and steward leaves it closed (github only).
   */
  action: "opened" | "updated" | "unchanged" | "reopened" | "closed" | "dismissed";
  review: ReviewRef;
}

export interface RecommendationsOutcome {
  outcomes: RecommendationOutcome[];
  /** The git publisher: the branch, its head, and whether a commit was made. */
  branch?: string;
  commit?: string;
  committed?: boolean;
}

/** A publisher. Methods are idempotent; each throws PublishError (errors.ts) when it cannot do its work. */
export interface Publisher {
  readonly kind: PublisherKind;
  publishPlan(plan: PlanPublication): Promise<PublishedChange>;
  publishResults(results: ResultsPublication): Promise<PublishedChange>;
  publishReport(report: ReportPublication): Promise<PublishedChange>;
  stickyComment(comment: StickyComment): Promise<CommentOutcome>;
  incident(report: IncidentReport): Promise<IncidentOutcome>;
  /** Makes the published recommendations match `set` (see RecommendationSet). */
  recommendations(set: RecommendationSet): Promise<RecommendationsOutcome>;
}
