/** The Git Data API and the repository itself, over the real bare repository. */
import type { TreeEntryInput } from "./git-store.ts";
import { error, notFound, validationFailed, type Handler, type HandlerContext, type Reply } from "./reply.ts";
import { gitCommit, gitRef, repoApi, repository } from "./shapes.ts";

const isSha = (value: unknown): value is string => typeof value === "string" && /^[0-9a-f]{40}$/.test(value);

async function emptyRepository(ctx: HandlerContext): Promise<Reply | undefined> {
  return (await ctx.git.listRefs("refs/heads/")).length === 0 ? error(409, "Git Repository is empty.") : undefined;
}

export const gitHandlers: Record<string, Handler> = {
  "repos/get": async (ctx) => ({ status: 200, body: repository(ctx.urls, ctx.repo, true) }),

  "git/get-ref": async (ctx) => {
    const empty = await emptyRepository(ctx);
    if (empty) return empty;
    const ref = `refs/${ctx.params["ref"]}`;
    const sha = await ctx.git.resolveRef(ref);
    return sha === undefined ? notFound() : { status: 200, body: gitRef(ctx.urls, ctx.repo, ref, sha) };
  },

  "git/create-ref": async (ctx) => {
    const ref = String(ctx.body["ref"]);
    if (!/^refs\/[^/]+\/.+/.test(ref)) return validationFailed([], "Reference name must start with 'refs/' and have at least two slashes.");
    if ((await ctx.git.typeOf(String(ctx.body["sha"]))) !== "commit") return validationFailed([], "Object does not exist");
    if ((await ctx.git.resolveRef(ref)) !== undefined) return validationFailed([], "Reference already exists");
    await ctx.git.setRef(ref, ctx.body["sha"], undefined);
    return { status: 201, body: gitRef(ctx.urls, ctx.repo, ref, ctx.body["sha"]), headers: { location: `${repoApi(ctx.urls, ctx.repo)}/git/${ref}` } };
  },

  "git/update-ref": async (ctx) => {
    const ref = `refs/${ctx.params["ref"]}`;
    const current = await ctx.git.resolveRef(ref);
    if (current === undefined) return validationFailed([], "Reference does not exist");
    const sha = String(ctx.body["sha"]);
    if ((await ctx.git.typeOf(sha)) !== "commit") return validationFailed([], "Object does not exist");
    if (ctx.body["force"] !== true && !(await ctx.git.isAncestor(current, sha))) return validationFailed([], "Update is not a fast forward");
    await ctx.git.setRef(ref, sha, current);
    return { status: 200, body: gitRef(ctx.urls, ctx.repo, ref, sha) };
  },

  "git/create-blob": async (ctx) => {
    const encoding = ctx.body["encoding"] ?? "utf-8";
    if (encoding !== "utf-8" && encoding !== "base64") return validationFailed([{ resource: "Blob", field: "encoding", code: "invalid" }]);
    const sha = await ctx.git.writeBlob(Buffer.from(String(ctx.body["content"]), encoding === "base64" ? "base64" : "utf8"));
    return { status: 201, body: { sha, url: `${repoApi(ctx.urls, ctx.repo)}/git/blobs/${sha}` } };
  },

  "git/create-tree": async (ctx) => {
    const base = ctx.body["base_tree"] as string | undefined;
    if (base !== undefined && (await ctx.git.typeOf(base)) !== "tree") return validationFailed([], "base_tree is not a valid tree oid");
    const entries = ctx.body["tree"] as TreeEntryInput[];
    for (const entry of entries) {
      if (entry.sha !== undefined && entry.content !== undefined) return validationFailed([], "Must supply either tree.sha or tree.content. Request will fail if both are supplied.");
      if (entry.sha !== undefined && entry.sha !== null && (await ctx.git.typeOf(entry.sha)) === undefined) return validationFailed([], `tree.sha ${entry.sha} is not a valid blob`);
      if (entry.path.startsWith("/") || entry.path.split("/").some((part) => part === "" || part === "." || part === ".." || part === ".git")) return validationFailed([], `tree.path ${entry.path} is invalid`);
    }
    const sha = await ctx.git.writeTree(base, entries);
    const top = [...(await ctx.git.listTree(sha))].filter(([path]) => !path.includes("/"));
    const tree = top.map(([path, e]) => ({ path, mode: e.mode, type: e.type, sha: e.sha, url: `${repoApi(ctx.urls, ctx.repo)}/git/${e.type}s/${e.sha}` }));
    return { status: 201, body: { sha, url: `${repoApi(ctx.urls, ctx.repo)}/git/trees/${sha}`, tree, truncated: false } };
  },

  "git/get-commit": async (ctx) => {
    const sha = ctx.params["commit_sha"]!;
    if (!isSha(sha) || (await ctx.git.typeOf(sha)) !== "commit") return notFound();
    return { status: 200, body: gitCommit(ctx.urls, ctx.repo, await ctx.git.readCommit(sha)) };
  },

  "git/create-commit": async (ctx) => {
    const tree = String(ctx.body["tree"]);
    if ((await ctx.git.typeOf(tree)) !== "tree") return validationFailed([], "Tree SHA does not exist");
    const parents = (ctx.body["parents"] ?? []) as string[];
    for (const parent of parents) if ((await ctx.git.typeOf(parent)) !== "commit") return validationFailed([], "Parent SHA does not exist or is not a commit object");
    const now = ctx.now();
    const actor = { name: ctx.actor.login, email: `${ctx.actor.id}+${ctx.actor.login}@users.noreply.github.fake`, date: now };
    const person = (given: { name?: string; email?: string; date?: string } | undefined) => (given === undefined ? actor : { name: given.name ?? actor.name, email: given.email ?? actor.email, date: given.date ?? now });
    const author = person(ctx.body["author"]);
    const committer = ctx.body["committer"] === undefined ? author : person(ctx.body["committer"]);
    const sha = await ctx.git.writeCommit({ message: String(ctx.body["message"]), tree, parents, author, committer });
    ctx.repo.apiCommits.add(sha);
    return { status: 201, body: gitCommit(ctx.urls, ctx.repo, await ctx.git.readCommit(sha)), headers: { location: `${repoApi(ctx.urls, ctx.repo)}/git/commits/${sha}` } };
  },
};
