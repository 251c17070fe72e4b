/**
 * Who steward publishes as on GitHub, and the rule that follows from it: steward finds
 * its pull requests, issues and comments again by their hidden marker (markers.ts), but
 * a marker is only text, and anyone who can open an issue or a pull request can paste
 * one. So an item counts as steward's only when GitHub says steward wrote it: its
 * `user.login` (the author GitHub records on every issue, pull request and comment,
 * the `simple-user` object of GitHub's REST description) is steward's own login. Any
 * other item carrying a marker is ignored — never updated, closed, reopened or
 * commented on, and nothing is read from it — and steward says so once per run.
 *
 * The login, in this order:
 * 1. `STEWARD_GITHUB_AUTHOR` (config.ts), when set: for credentials GitHub will not
 *    name (an App installation token made outside steward, e.g. by
 *    actions/create-github-app-token: its bot is `<app-slug>[bot]`).
 * 2. A GitHub App (steward holds its private key): `GET /app` with the App's JWT
 *    ("Get the authenticated app"; @octokit/auth-app signs requests to `/app` with the
 *    JWT) gives the App's `slug`, and what an App creates is authored by its bot user,
 *    `<slug>[bot]` (`user.type` "Bot").
 * 3. A token: `GET /user` ("Get the authenticated user") answers a personal access
 *    token with the user's `login`. An installation token — the workflow's
 *    GITHUB_TOKEN is one — is refused there with 403 "Resource not accessible by
 *    integration". GITHUB_TOKEN is the installation token of the GitHub Actions App
 *    GitHub installs on the repository (docs.github.com, "GITHUB_TOKEN": "The
 *    GITHUB_TOKEN secret is a GitHub App installation access token"), whose bot is
 *    `github-actions[bot]` (user id 41898282); any other installation token needs (1).
 *
 * `performed_via_github_app` is not used: GitHub often leaves it null even for items an
 * App made (community discussion #27882), and a person's item never names an App, so
 * `user.login` alone decides.
 */
import { plainLine } from "../../core/text.ts";
import { PublishError, PublishInputError } from "../errors.ts";
import { parseMarker } from "../markers.ts";
import type { GithubApi } from "./api.ts";
import type { GithubAuth } from "./client.ts";

/** The bot that authors what the Actions workflow token (GITHUB_TOKEN) creates. */
export const ACTIONS_BOT = "github-actions[bot]";

/**
 * A GitHub login: a user's (1 to 39 letters, digits and hyphens, not starting with a
 * hyphen) or an App's bot (`<slug>[bot]`).
 */
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}(?:\[bot\])?$/;

/** True for a well-formed GitHub login (a user's, or an App's `<slug>[bot]`). */
export function isLogin(value: string): boolean {
  return LOGIN.test(value);
}

/** Steward's login on GitHub and how it was found ("GET /user", "STEWARD_GITHUB_AUTHOR", …), for messages. */
export interface GithubIdentity {
  login: string;
  source: string;
}

/** The author field of an issue, pull request or comment as the REST API returns it (`simple-user`, or null for a deleted account). */
export interface Authored {
  user?: { login?: string; type?: string } | null;
  body?: string | null;
}

/**
 * Finds steward's identity once (lazily: the first lookup by marker asks) and filters
 * what GitHub lists down to what steward wrote, warning once per item about any other
 * item that carries a steward marker.
 */
export class Authorship {
  #identity: Promise<GithubIdentity> | undefined;
  readonly #warned = new Set<string>();

  /**
   * @param configured the login from STEWARD_GITHUB_AUTHOR (or the caller), else undefined.
   * @param warn told, once per foreign item, why it is ignored (plain text, one line).
   * @throws PublishInputError for a configured login that is not one.
   */
  constructor(
    private readonly api: GithubApi,
    private readonly auth: GithubAuth,
    private readonly configured: string | undefined,
    private readonly warn: (message: string) => void,
  ) {
    if (configured !== undefined && !isLogin(configured)) throw new PublishInputError(`the GitHub author ${JSON.stringify(plainLine(configured).slice(0, 60))} is not a GitHub login`, "set STEWARD_GITHUB_AUTHOR to the login steward's pull requests show as their author, e.g. github-actions[bot] or my-app[bot]");
  }

  /** Steward's login (see the module comment). @throws PublishError when GitHub does not say and nothing was configured. */
  identity(): Promise<GithubIdentity> {
    this.#identity ??= this.#find();
    return this.#identity;
  }

  /**
   * The items steward wrote, in their order. An item another account wrote is dropped;
   * when it carries a steward marker it is named in a warning (once per run).
   * @param what names an item for the warning: `pull request #7`, `comment 1234 on #7`.
   */
  async mine<T extends Authored>(items: readonly T[], what: (item: T) => string): Promise<T[]> {
    const me = await this.identity();
    const out: T[] = [];
    for (const item of items) {
      if (this.wrote(me, item)) {
        out.push(item);
        continue;
      }
      const marker = parseMarker(item.body);
      const name = what(item);
      if (marker === undefined || this.#warned.has(name)) continue;
      this.#warned.add(name);
      this.warn(`ignoring ${name} by ${authorOf(item)}: it carries a steward ${marker.kind} marker, but steward publishes as ${me.login} (${me.source}) and never updates, closes or comments on what it did not write`);
    }
    return out;
  }

  /**
   * Checks that an item steward just created is authored as steward expects, so it will
   * find it again. @throws PublishError naming the login GitHub recorded and how to set it.
   */
  async confirm(item: Authored, what: string): Promise<void> {
    const me = await this.identity();
    if (this.wrote(me, item)) return;
    throw new PublishError(
      `GitHub recorded ${authorOf(item)} as the author of ${what}, not ${me.login} (${me.source}): steward would not recognise it as its own next time and would open another`,
      isLogin(item.user?.login ?? "") ? `set STEWARD_GITHUB_AUTHOR=${item.user!.login} (or unset it if it is set wrongly)` : "set STEWARD_GITHUB_AUTHOR to the login steward publishes as",
    );
  }

  /** True when GitHub names `me` as the item's author (logins compare without case, as GitHub's do). */
  private wrote(me: GithubIdentity, item: Authored): boolean {
    const login = item.user?.login;
    return typeof login === "string" && login.toLowerCase() === me.login.toLowerCase();
  }

  async #find(): Promise<GithubIdentity> {
    if (this.configured !== undefined) return { login: this.configured, source: "STEWARD_GITHUB_AUTHOR" };
    const api = this.api;
    if (this.auth.kind === "app") {
      const app = await api.call("read the GitHub App's name (GET /app)", "metadata: read", () => api.octokit.rest.apps.getAuthenticated());
      const slug = typeof app?.slug === "string" ? app.slug : "";
      const login = `${slug}[bot]`;
      if (!isLogin(login)) throw new PublishError(`GitHub answered GET /app without a usable slug (${JSON.stringify(plainLine(slug).slice(0, 60))}), so steward cannot tell which of the repository's items are its own`, "set STEWARD_GITHUB_AUTHOR to the App's bot login, <app-slug>[bot]");
      return { login, source: "GET /app" };
    }
    const user = await api.attempt("read who the token belongs to (GET /user)", "metadata: read", () => api.octokit.rest.users.getAuthenticated(), [403]);
    if (user.ok) {
      const login = (user.data as { login?: unknown }).login;
      if (typeof login !== "string" || !isLogin(login)) throw new PublishError(`GitHub answered GET /user with the login ${JSON.stringify(plainLine(login).slice(0, 60))}, which is not a GitHub login`, "set STEWARD_GITHUB_AUTHOR to the login steward publishes as");
      return { login, source: "GET /user" };
    }
    if (this.auth.kind === "token" && this.auth.workflowToken === true) return { login: ACTIONS_BOT, source: "the workflow's GITHUB_TOKEN" };
    throw new PublishError(
      `cannot tell which account steward publishes as: GitHub answered GET /user with ${user.status} ${user.message}, as it does for an App installation token, and STEWARD_GITHUB_TOKEN is not the workflow's GITHUB_TOKEN`,
      "set STEWARD_GITHUB_AUTHOR to the login the token's pull requests show as their author (an App's is <app-slug>[bot]), or give steward the App itself (STEWARD_GITHUB_APP_*)",
    );
  }
}

/** An item's author for a message: the login as GitHub gave it when well formed, else quoted plain text; `ghost` for a deleted account. */
export function authorOf(item: Authored): string {
  const login = item.user?.login;
  if (typeof login !== "string") return "ghost (a deleted account)";
  return isLogin(login) ? login : JSON.stringify(plainLine(login).slice(0, 60));
}
