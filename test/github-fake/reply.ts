/** What a handler answers, and GitHub's error bodies for the cases the publisher meets. */
import type { GitStore } from "./git-store.ts";
import type { Ids, RepoRecord, Account } from "./state.ts";
import type { Urls } from "./shapes.ts";

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Everything a handler needs about the request it answers. */
export interface HandlerContext {
  repo: RepoRecord;
  git: GitStore;
  params: Record<string, string>;
  query: URLSearchParams;
  // The body was checked against GitHub's schema before the handler runs.
  body: Record<string, any>;
  actor: Account;
  urls: Urls;
  ids: Ids;
  now: () => string;
}

export type Handler = (ctx: HandlerContext) => Promise<Reply>;

export const DOCS = "https://docs.github.com/rest";

export function error(status: number, message: string): Reply {
  return { status, body: { message, documentation_url: DOCS, status: String(status) } };
}

export const notFound = (): Reply => error(404, "Not Found");

/** GitHub's 422: "Validation Failed" with the failed checks listed. */
export function validationFailed(errors: Array<{ resource?: string; field?: string; code: string; message?: string }>, message = "Validation Failed"): Reply {
  return { status: 422, body: { message, errors, documentation_url: DOCS, status: "422" } };
}

/** Paginates a list as GitHub does: `per_page` (default 30, at most 100), `page`, and a Link header. */
export function page<T>(ctx: HandlerContext, path: string, items: readonly T[]): Reply {
  const perPage = Math.min(Number(ctx.query.get("per_page") ?? 30), 100);
  const current = Number(ctx.query.get("page") ?? 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const body = items.slice((current - 1) * perPage, current * perPage);
  const headers: Record<string, string> = {};
  if (current < last) {
    const link = (n: number) => {
      const query = new URLSearchParams(ctx.query);
      query.set("page", String(n));
      return `${ctx.urls.api}${path}?${query.toString()}`;
    };
    headers["link"] = `<${link(current + 1)}>; rel="next", <${link(last)}>; rel="last"`;
  }
  return { status: 200, body, headers };
}
