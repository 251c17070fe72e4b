/**
 * A stateful GitHub REST fake for the tests: a local HTTP server on 127.0.0.1 that
 * Octokit is pointed at with `baseUrl`. Repository content is a real bare git
 * repository (git-store.ts); issues, pull requests, comments and labels live in
 * memory. Every request is routed and checked against GitHub's published OpenAPI
 * description (openapi.ts) and so is every response the fake sends: a stray request
 * or response is answered 422 / sent as is and recorded in `violations`, which tests
 * assert empty.
 *
 * ```ts
 * const fake = await GithubFake.start();
 * const repo = await fake.createRepo("acme", "fleet", { "README.md": "# fleet\n" });
 * fake.addToken("ghs_…", { login: "steward[bot]" });
 * fake.inject({ operation: "pulls/create", status: 500, times: 2 });
 * const octokit = new Octokit({ baseUrl: fake.url, auth: "ghs_…" });
 * ```
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GitStore } from "./git-store.ts";
import { gitHandlers } from "./handlers-git.ts";
import { issueHandlers } from "./handlers-issues.ts";
import { OpenApiContract, type Violation } from "./openapi.ts";
import { DOCS, error, notFound, validationFailed, type Handler, type Reply } from "./reply.ts";
import { authenticatedUser, loginId, type Urls } from "./shapes.ts";
import { Ids, type Account, type RepoRecord } from "./state.ts";
import { AppRegistry, type Permission, type Permissions, type TokenGrant } from "./auth.ts";

export type { Permissions } from "./auth.ts";

/** A scripted failure: the next `times` requests to `operation` get `status`. */
export interface Fault {
  /** A GitHub operationId (`pulls/create`) or "*" for any operation. */
  operation: string;
  status: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Seconds, sent as Retry-After (403 and 429 send one by default: 1). */
  retryAfter?: number;
  /** The error message; defaults to GitHub's for the status. */
  message?: string;
  /**
   * True: the request is carried out, then its answer is lost and the fault sent
   * instead — GitHub timing out after doing the work, the case that duplicates
   * whatever a client creates blindly again.
   */
  afterWork?: boolean;
  /**
   * A primary rate limit (403 or 429) instead of a secondary one: no Retry-After, but
   * `x-ratelimit-remaining: 0` and `x-ratelimit-reset` this many seconds from now.
   */
  primaryResetIn?: number;
}

/** One request the fake answered. */
export interface LoggedRequest {
  operation: string;
  method: string;
  path: string;
  status: number;
  injected: boolean;
  body: unknown;
  /** When the request arrived (Date.now()). */
  at: number;
  /** When its answer was sent. */
  done: number;
}

const SECONDARY_RATE_LIMIT = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.";

/** Which permission each operation needs (GitHub's fine-grained permission names). */
const PERMISSIONS: Record<string, Permission> = {
  "repos/get": "contents", "git/get-ref": "contents", "git/create-ref": "contents", "git/update-ref": "contents", "git/create-blob": "contents",
  "git/create-tree": "contents", "git/get-commit": "contents", "git/create-commit": "contents", "pulls/list": "pull_requests", "pulls/get": "pull_requests",
  "pulls/create": "pull_requests", "pulls/update": "pull_requests", "pulls/merge": "contents", "issues/list-for-repo": "issues", "issues/get": "issues",
  "issues/create": "issues", "issues/update": "issues", "issues/list-comments": "issues", "issues/create-comment": "issues", "issues/update-comment": "issues",
  "issues/add-labels": "issues", "issues/get-label": "issues", "issues/create-label": "issues",
};

export class GithubFake {
  readonly contract = OpenApiContract.shared();
  readonly violations: Violation[] = [];
  readonly requests: LoggedRequest[] = [];
  readonly apps = new AppRegistry();
  private readonly repos = new Map<string, RepoRecord>();
  private readonly ids = new Ids();
  private readonly faults: Array<Fault & { times: number }> = [];
  /** Requests are answered one at a time, so handlers never interleave their git updates. */
  private queue: Promise<unknown> = Promise.resolve();
  private urls!: Urls;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<GithubFake> {
    const server = createServer();
    const fake = new GithubFake(server);
    server.on("request", (req, res) => void fake.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    fake.urls = { api: `http://127.0.0.1:${port}`, html: "https://github.fake" };
    return fake;
  }

  /** The `baseUrl` to give Octokit. */
  get url(): string {
    return this.urls.api;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const repo of this.repos.values()) await repo.git.dispose();
  }

  /** A repository with one commit on `main` holding `files`. */
  async createRepo(owner: string, name: string, files: Record<string, string>): Promise<RepoRecord> {
    const git = await GitStore.create();
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const account: Account = { login: owner, id: loginId(owner), type: "User" };
    const tree = await git.writeTree(undefined, Object.entries(files).map(([path, content]) => ({ path, mode: "100644", type: "blob", content })));
    const person = { name: owner, email: `${owner}@example.test` };
    const sha = await git.writeCommit({ message: "Initial commit\n", tree, parents: [], author: person, committer: person });
    await git.setRef("refs/heads/main", sha, undefined);
    const repo: RepoRecord = { owner: account, name, id: this.ids.take(), defaultBranch: "main", git, issues: new Map(), comments: new Map(), labels: new Map(), apiCommits: new Set(), createdAt: now };
    this.repos.set(`${owner}/${name}`.toLowerCase(), repo);
    return repo;
  }

  repo(owner: string, name: string): RepoRecord {
    const repo = this.repos.get(`${owner}/${name}`.toLowerCase());
    if (repo === undefined) throw new Error(`no repository ${owner}/${name}`);
    return repo;
  }

  /** Accepts `token` for requests, as `login`, with `permissions` (default: write on all three). */
  addToken(token: string, account: { login: string; type?: "User" | "Bot" }, permissions?: Permissions): void {
    this.apps.addToken(token, { login: account.login, id: loginId(account.login), type: account.type ?? "Bot" }, permissions);
  }

  /** Queues a fault; faults match in the order injected. */
  inject(fault: Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** Requests to `operation` so far (retries included). */
  count(operation: string): number {
    return this.requests.filter((r) => r.operation === operation).length;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const logged: { entry?: LoggedRequest } = {};
    const run = this.queue.then(() => this.answer(req, Buffer.concat(chunks), at, logged));
    this.queue = run.catch(() => undefined);
    let reply: Reply;
    try {
      reply = await run;
    } catch (err) {
      reply = error(500, `fake: ${(err as Error).message}`);
    }
    const text = reply.body === undefined ? "" : JSON.stringify(reply.body);
    res.writeHead(reply.status, { "content-type": "application/json; charset=utf-8", "x-github-api-version-selected": "2022-11-28", ...reply.headers });
    res.end(text);
    if (logged.entry !== undefined) logged.entry.done = Date.now();
  }

  private async answer(req: IncomingMessage, raw: Buffer, at: number, logged: { entry?: LoggedRequest }): Promise<Reply> {
    const url = new URL(req.url ?? "/", this.urls.api);
    const method = req.method ?? "GET";
    const routed = this.contract.route(method, url.pathname);
    const log = (operation: string, status: number, injected: boolean, body: unknown) => {
      logged.entry = { operation, method, path: url.pathname, status, injected, body, at, done: 0 };
      this.requests.push(logged.entry);
    };
    if (routed === undefined) {
      this.violations.push({ operation: `${method} ${url.pathname}`, where: "params", errors: ["no documented operation has this method and path"] });
      log("(unrouted)", 404, false, undefined);
      return notFound();
    }
    const { operation, params } = routed;
    let body: unknown;
    try {
      body = raw.length === 0 ? undefined : JSON.parse(raw.toString("utf8"));
    } catch {
      log(operation.id, 400, false, undefined);
      return error(400, "Problems parsing JSON");
    }
    const finish = (reply: Reply, injected = false): Reply => {
      this.violations.push(...this.contract.checkResponse(operation, reply.status, reply.body));
      log(operation.id, reply.status, injected, body);
      return reply;
    };
    const fault = this.faults.find((f) => f.operation === "*" || f.operation === operation.id);
    if (fault !== undefined && --fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    if (fault !== undefined && fault.afterWork !== true) return finish(faultReply(fault), true);
    const problems = [...this.contract.checkParameters(operation, params, url.searchParams), ...this.contract.checkBody(operation, body)];
    if (problems.length > 0) {
      this.violations.push(...problems);
      return finish(validationFailed(problems.flatMap((p) => p.errors.map((message) => ({ code: "invalid", message: `${p.where}: ${message}` })))));
    }
    if (operation.id === "apps/create-installation-access-token") return finish(this.apps.createInstallationToken(params["installation_id"]!, req.headers.authorization, body as Record<string, unknown> | undefined, new Date()));
    if (operation.id === "apps/get-authenticated") return finish(this.apps.authenticatedApp(req.headers.authorization, new Date(), this.urls));
    const grant = this.apps.grant(req.headers.authorization);
    if (grant === undefined) return finish(error(401, "Requires authentication"));
    // An installation token (an App's, GITHUB_TOKEN) has no user: GitHub refuses it here.
    if (operation.id === "users/get-authenticated") return finish(grant.account.type === "Bot" ? error(403, "Resource not accessible by integration") : { status: 200, body: authenticatedUser(this.urls, grant.account) });
    const repo = this.repos.get(`${params["owner"]}/${params["repo"]}`.toLowerCase());
    if (repo === undefined) return finish(notFound());
    const needed = PERMISSIONS[operation.id]!;
    if (!allowed(grant, needed, method, operation.id)) return finish(error(403, "Resource not accessible by integration"));
    const handler: Handler | undefined = gitHandlers[operation.id] ?? issueHandlers[operation.id];
    if (handler === undefined) return finish(error(500, `fake: ${operation.id} is in the extract but has no handler`));
    const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const reply = await handler({ repo, git: repo.git, params, query: url.searchParams, body: (body ?? {}) as Record<string, unknown>, actor: grant.account, urls: this.urls, ids: this.ids, now });
    if (fault !== undefined) {
      this.violations.push(...this.contract.checkResponse(operation, reply.status, reply.body));
      return finish(faultReply(fault), true);
    }
    return finish(reply);
  }
}

function allowed(grant: TokenGrant, needed: Permission, method: string, operation: string): boolean {
  const level = grant.permissions[needed];
  const write = method !== "GET";
  // Comments and labels may use either permission, as on GitHub; issues themselves need `issues`.
  const either = /comment|label/.test(operation) && grant.permissions.pull_requests !== undefined && (!write || grant.permissions.pull_requests === "write");
  if (write) return level === "write" || either;
  return level === "read" || level === "write" || either;
}

function faultReply(fault: Fault): Reply {
  const headers: Record<string, string> = {};
  if (fault.primaryResetIn !== undefined) {
    const reset = Math.floor(Date.now() / 1000) + fault.primaryResetIn;
    Object.assign(headers, { "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000", "x-ratelimit-reset": String(reset), "x-ratelimit-resource": "core" });
    const message = fault.message ?? "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.";
    return { status: fault.status, body: { message, documentation_url: DOCS, status: String(fault.status) }, headers };
  }
  if (fault.status === 403 || fault.status === 429) headers["retry-after"] = String(fault.retryAfter ?? 1);
  else if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
  const message = fault.message ?? (fault.status === 403 || fault.status === 429 ? SECONDARY_RATE_LIMIT : fault.status >= 500 ? "Server Error" : fault.status === 404 ? "Not Found" : fault.status === 409 ? "Reference update failed" : "Validation Failed");
  return { status: fault.status, body: { message, documentation_url: DOCS, status: String(fault.status) }, headers };
}
