/**
 * The Octokit client the github publisher uses: @octokit/rest with
 * @octokit/plugin-throttling and @octokit/plugin-retry, authenticated by a token or as
 * a GitHub App installation (@octokit/auth-app).
 *
 * What GitHub asks of integrations ("Best practices for using the REST API"), and how:
 * - 403 or 429 for a secondary rate limit: wait the Retry-After seconds, then retry,
 *   a bounded number of times (throttling plugin; 429 is left to it, not to the retry
 *   plugin, whose back-off ignores Retry-After);
 * - content-creating requests one at a time, a second apart (POST/PATCH/PUT/DELETE),
 *   and those that notify people (pull requests, issues, comments) three seconds apart:
 *   the plugin's defaults, through {@link SpacingGate} so tests can shorten them;
 * - 5xx retried with a growing pause (1 s, 4 s, 9 s by default), a bounded number of times.
 */
import { createAppAuth } from "@octokit/auth-app";
import { retry } from "@octokit/plugin-retry";
import { throttling, type ThrottlingOptions } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";

/** How steward authenticates: a token (GITHUB_TOKEN, a fine-grained PAT) or a GitHub App installation. */
export type GithubAuth =
  | {
      kind: "token";
      token: string;
      /**
       * True when the token is (as the environment tells) the Actions workflow's
       * GITHUB_TOKEN, whose items GitHub attributes to `github-actions[bot]` (identity.ts).
       */
      workflowToken?: boolean;
    }
  | { kind: "app"; appId: string; privateKey: string; installationId: string };

/** Retry and pacing knobs; the defaults are GitHub's guidance. Units: milliseconds, counts. */
export interface GithubTuning {
  /** Retries of a 5xx answer (default 3). */
  serverErrorRetries?: number;
  /** The 5xx back-off unit: retry n waits n² × this (default 1000). */
  serverErrorDelayMs?: number;
  /** Retries of a rate-limited request (default 3). */
  rateLimitRetries?: number;
  /** Milliseconds waited per second of Retry-After (default 1000; tests lower it). */
  retryAfterUnitMs?: number;
  /** Least time between two content-creating requests (default 1000). */
  writeSpacingMs?: number;
  /** Least time between two requests that notify people (default 3000). */
  notificationSpacingMs?: number;
}

export interface ClientOptions {
  auth: GithubAuth;
  /** The REST API root: https://api.github.com, or GITHUB_API_URL on GitHub Enterprise. */
  baseUrl: string;
  tuning?: GithubTuning;
  /** Told about each wait for a rate limit (redact before showing). */
  onNotice?: (message: string) => void;
  /** Aborts requests in flight; one not yet sent then fails at once, and is not retried. */
  signal?: AbortSignal;
}

const GithubOctokit = Octokit.plugin(throttling, retry);
export type GithubClient = InstanceType<typeof GithubOctokit>;

/** Builds the client; nothing is sent until the first request. */
export function createClient(options: ClientOptions): GithubClient {
  const tuning = options.tuning ?? {};
  const rateLimitRetries = tuning.rateLimitRetries ?? 3;
  const notice = options.onNotice ?? (() => undefined);
  const onLimit = (kind: string) => (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
    if (retryCount >= rateLimitRetries) return false;
    notice(`GitHub ${kind} on ${request.method} ${request.url}: retrying after ${retryAfter} s (retry ${retryCount + 1} of ${rateLimitRetries})`);
    return true;
  };
  const throttle: ThrottlingOptions = {
    onRateLimit: onLimit("rate limit"),
    onSecondaryRateLimit: onLimit("secondary rate limit"),
    retryAfterBaseValue: tuning.retryAfterUnitMs ?? 1000,
    // The plugin's own groups are shared by every client in the process and fixed at a
    // second and three; these gates pace this client alike, with the spacing tunable.
    write: new SpacingGate(tuning.writeSpacingMs ?? 1000) as unknown as NonNullable<ThrottlingOptions["write"]>,
    notifications: new SpacingGate(tuning.notificationSpacingMs ?? 3000) as unknown as NonNullable<ThrottlingOptions["notifications"]>,
  };
  const common = {
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    userAgent: "steward",
    throttle,
    retry: { retries: tuning.serverErrorRetries ?? 3, retryAfterBaseValue: tuning.serverErrorDelayMs ?? 1000, doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 429, 451] },
    request: options.signal === undefined ? {} : { signal: options.signal },
    // The core never prints. Octokit logs each failed request, which reaches the
    // caller as a PublishError anyway; its other warnings are deprecation notices.
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  if (options.auth.kind === "token") return new GithubOctokit({ ...common, auth: options.auth.token });
  return new GithubOctokit({ ...common, authStrategy: createAppAuth, auth: { appId: options.auth.appId, privateKey: options.auth.privateKey, installationId: options.auth.installationId } });
}

/**
 * Paces the requests of one group: each may start no sooner than `spacingMs` after the
 * previous one started, one at a time. It stands in for the Bottleneck group the
 * throttling plugin schedules a no-op on before each request (`key(id).schedule(options, fn)`).
 */
export class SpacingGate {
  private tail: Promise<unknown> = Promise.resolve();
  private last = 0;

  constructor(private readonly spacingMs: number) {}

  key(_id: string): SpacingGate {
    return this;
  }

  schedule<T>(...args: unknown[]): Promise<T> {
    const at = typeof args[0] === "function" ? 0 : 1;
    const fn = args[at] as (...rest: unknown[]) => Promise<T>;
    const run = this.tail.then(async () => {
      const wait = this.last + this.spacingMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.last = Date.now();
      return fn(...args.slice(at + 1));
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}
