/**
 * Every request the github publisher makes goes through {@link GithubApi.call}: it
 * names what the request was for and which permission it needs, so a refusal becomes
 * a PublishError that says what failed and what to grant. Messages are built from
 * GitHub's status and message only (never the request, whose headers hold the
 * credential) and pass through the run's redaction.
 */
import type { RunSecrets } from "../../core/secrets.ts";
import { sleep } from "../../core/sleep.ts";
import { plainLine } from "../../core/text.ts";
import { PublishError } from "../errors.ts";
import type { GithubClient } from "./client.ts";

/** The fine-grained permission a request needs, as the App settings and `permissions:` name it. */
export type GithubPermission = "contents: write" | "contents: read" | "pull-requests: write" | "pull-requests: read" | "issues: write" | "issues: read" | "metadata: read";

/** A refusal the caller expected and handles (a 404 for a branch that does not exist yet). */
export interface Refusal {
  status: number;
  message: string;
  /** GitHub's `errors[].message` / `errors[].code`, for 422s. */
  details: string[];
}

interface HttpFailure {
  status: number;
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
}

const isHttpFailure = (error: unknown): error is HttpFailure & Error => error instanceof Error && typeof (error as { status?: unknown }).status === "number";

export class GithubApi {
  constructor(
    readonly octokit: GithubClient,
    readonly owner: string,
    readonly repo: string,
    private readonly secrets: RunSecrets,
    private readonly retries: { serverErrors: number; serverErrorDelayMs: number; rateLimits: number },
    private readonly signal: AbortSignal = new AbortController().signal,
  ) {}

  /** `{ owner, repo }` for request parameters. */
  get where(): { owner: string; repo: string } {
    return { owner: this.owner, repo: this.repo };
  }

  /**
   * Runs one request; statuses in `allow` come back as a {@link Refusal}, anything
   * else that fails throws PublishError.
   */
  async attempt<T>(what: string, permission: GithubPermission, request: () => Promise<{ data: T }>, allow: readonly number[]): Promise<{ ok: true; data: T } | ({ ok: false } & Refusal)> {
    if (this.signal.aborted) throw this.stopped(what);
    try {
      return { ok: true, data: (await request()).data };
    } catch (error) {
      if (this.signal.aborted) throw this.stopped(what);
      if (!isHttpFailure(error)) throw this.failure(what, `${error instanceof Error ? error.message : String(error)}`, "check the network path to GitHub and GITHUB_API_URL");
      const refusal = describe(error);
      if (allow.includes(refusal.status)) return { ok: false, ...refusal };
      throw this.translate(what, permission, refusal);
    }
  }

  /** Runs one request and returns its data. @throws PublishError for any failure. */
  async call<T>(what: string, permission: GithubPermission, request: () => Promise<{ data: T }>): Promise<T> {
    const result = await this.attempt(what, permission, request, []);
    if (!result.ok) throw this.translate(what, permission, result);
    return result.data;
  }

  /**
   * Creates what GitHub has no idempotency key for (an issue, a comment) without ever
   * making two: a 5xx may come after GitHub did the work, so the request is not
   * retried blindly. After a 5xx, `find` looks for it by its marker, and only when it
   * is not there is it sent again, as often as other requests are retried.
   */
  async createOnce<T>(what: string, permission: GithubPermission, find: () => Promise<T | undefined>, create: (noRetry: { request: { retries: 0 } }) => Promise<{ data: T }>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const made = await this.attempt(what, permission, () => create({ request: { retries: 0 } }), [500, 502, 503, 504]);
      if (made.ok) return made.data;
      if (attempt > this.retries.serverErrors) throw this.translate(what, permission, made);
      await sleep(attempt * attempt * this.retries.serverErrorDelayMs, this.signal);
      const found = await find();
      if (found !== undefined) return found;
    }
  }

  /** A PublishError for an expected refusal the caller cannot resolve after all. */
  refused(what: string, permission: GithubPermission, refusal: Refusal): PublishError {
    return this.translate(what, permission, refusal);
  }

  private translate(what: string, permission: GithubPermission, refusal: Refusal): PublishError {
    const said = `${refusal.status} ${refusal.message}${refusal.details.length > 0 ? ` (${refusal.details.join("; ")})` : ""}`;
    const repo = `${this.owner}/${this.repo}`;
    if (refusal.status === 401) return this.failure(what, `GitHub refused the credentials: ${said}`, "check the token (STEWARD_GITHUB_TOKEN or GITHUB_TOKEN), or the App's id, private key and installation id");
    if ((refusal.status === 403 || refusal.status === 429) && /rate limit/i.test(refusal.message)) {
      return this.failure(what, `GitHub kept rate-limiting after ${this.retries.rateLimits} retries: ${said}`, "publish again later; publishing is idempotent, so nothing is duplicated");
    }
    if (refusal.status === 403 && /not accessible|permission/i.test(refusal.message)) {
      return this.failure(what, `the credentials lack the permission \`${permission}\` on ${repo}: ${said}`, `grant \`${permission}\`: in the GitHub App's permissions (then accept them on the installation), or in the workflow's \`permissions:\` block for GITHUB_TOKEN`);
    }
    if (refusal.status === 404) return this.failure(what, `GitHub answered ${said}: ${repo} does not exist or these credentials cannot see it`, `check GITHUB_REPOSITORY (owner/name) and that the token or App installation covers ${repo}`);
    if (refusal.status >= 500) return this.failure(what, `GitHub answered ${said} after ${this.retries.serverErrors} retries`, "GitHub may be having an outage (https://www.githubstatus.com); publishing again is safe, it is idempotent");
    return this.failure(what, `GitHub answered ${said}`, undefined);
  }

  /** Publishing was asked to stop; what was done so far stays, and publishing again completes it. */
  private stopped(what: string): PublishError {
    return new PublishError(`publishing stopped before it could ${what}`, "publish again: publishing is idempotent, so it completes what was started without duplicating it");
  }

  private failure(what: string, message: string, hint: string | undefined): PublishError {
    return new PublishError(this.secrets.redact(`cannot ${what}: ${message}`), hint === undefined ? undefined : this.secrets.redact(hint));
  }
}

function describe(error: HttpFailure & Error): Refusal {
  const data = error.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const message = typeof data?.message === "string" ? data.message : error.message.split(" - ")[0]!;
  const details = Array.isArray(data?.errors)
    ? data.errors.map((e: unknown) => (typeof e === "string" ? e : typeof e === "object" && e !== null ? String((e as { message?: unknown; code?: unknown }).message ?? (e as { code?: unknown }).code ?? "") : "")).filter(Boolean)
    : [];
  return { status: error.status, message: oneLine(message), details: details.map(oneLine) };
}

/** GitHub's text as one bounded line: it lands in a terminal and a log. */
function oneLine(text: string): string {
  const line = plainLine(text).trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
