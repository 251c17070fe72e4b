/**
 * Recommendations with the git publisher: one file per recommendation,
 * `recommendations/<id>.md` (its marker first, then the body), proposed on the
 * deterministic branch `steward/recommendations`. Each publish builds one commit on
 * HEAD whose `recommendations/` holds exactly the recommendations that hold now:
 * new ones added, changed ones rewritten, ones that no longer hold removed (their
 * closing is the removal, and the commit message names each with the reason).
 * Merging the branch accepts them. Publishing the same set again makes no commit.
 *
 * Like the other commits of this publisher it is built with a private index and a
 * compare-and-swap `update-ref`: the work tree and the user's index are untouched.
 */
import { markdownText } from "../../core/text.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { git } from "../../core/git.ts";
import { renderBody } from "../body.ts";
import { PublishError } from "../errors.ts";
import { checkFilePath, recommendationMarker, RECOMMENDATIONS_BRANCH } from "../markers.ts";
import type { RecommendationOutcome, RecommendationSet, RecommendationsOutcome } from "../types.ts";

/** Where recommendation files live, relative to the repository root. */
export const RECOMMENDATIONS_DIR = "recommendations";

type Git = (args: string[], options: { input?: string | Uint8Array; env?: NodeJS.ProcessEnv }, doing: string) => Promise<string>;

/**
 * Publishes `set` on steward/recommendations in the repository at `root`.
 * @param run runs git, throwing PublishError when it fails (the publisher's own runner).
 * @param identity the committer's environment when the repository configures none.
 */
export async function publishRecommendationFiles(root: string, set: RecommendationSet, run: Git, identity: NodeJS.ProcessEnv): Promise<RecommendationsOutcome> {
  const branch = RECOMMENDATIONS_BRANCH;
  const resolve = async (ref: string): Promise<string | null> => {
    const r = await git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    return r.code === 0 ? r.stdout.toString("utf8").trim() : null;
  };
  const head = await resolve("HEAD");
  if (head === null) throw new PublishError(`${root} has no commit yet: the git publisher branches from HEAD`, "commit the repository first");
  const tip = await resolve(`refs/heads/${branch}`);
  const merged = tip !== null && (await git(root, ["merge-base", "--is-ancestor", tip, head])).code === 0;
  // What is published now: the open proposal when there is one, else what HEAD holds.
  const before = await listFiles(root, tip !== null && !merged ? tip : head, run);
  const wanted = new Map<string, string>();
  for (const item of set.items) {
    const path = checkFilePath(`${RECOMMENDATIONS_DIR}/${item.id}.md`);
    if (wanted.has(path)) throw new PublishError(`two recommendations have the id ${item.id}`, "a recommendation's id must be unique (a bug in steward)");
    wanted.set(path, `# ${markdownText(item.title)}\n\n${renderBody(recommendationMarker(item.id), item.body, Number.MAX_SAFE_INTEGER)}`);
  }
  const outcomes: RecommendationOutcome[] = [];
  const ref = (path: string, state: "open" | "closed") => ({ id: path, url: path, state }) as const;
  for (const [path, content] of wanted) {
    const id = path.slice(RECOMMENDATIONS_DIR.length + 1, -3);
    const old = before.get(path);
    outcomes.push({ id, action: old === undefined ? "opened" : old === content ? "unchanged" : "updated", review: ref(path, "open") });
  }
  for (const path of before.keys()) if (!wanted.has(path)) outcomes.push({ id: path.slice(RECOMMENDATIONS_DIR.length + 1, -3), action: "closed", review: ref(path, "closed") });
  outcomes.sort((a, b) => a.id.localeCompare(b.id));

  const scratch = await mkdtemp(join(tmpdir(), "steward-recommend-"));
  try {
    const env = { GIT_INDEX_FILE: join(scratch, "index"), ...identity };
    await run(["read-tree", `${head}^{tree}`], { env }, "reading HEAD's tree");
    for (const path of (await listFiles(root, head, run)).keys()) if (!wanted.has(path)) await run(["update-index", "--force-remove", "--", path], { env }, `removing ${path}`);
    for (const [path, content] of wanted) {
      const blob = (await run(["hash-object", "-w", "--stdin"], { input: content }, `storing ${path}`)).trim();
      await run(["update-index", "--add", "--cacheinfo", `100644,${blob},${path}`], { env }, `staging ${path}`);
    }
    const tree = (await run(["write-tree"], { env }, "writing the tree")).trim();
    const treeOf = async (c: string): Promise<string> => (await run(["rev-parse", `${c}^{tree}`], {}, "reading a tree")).trim();
    if (tip !== null && !merged && (await treeOf(tip)) === tree) return { outcomes, branch, commit: tip, committed: false };
    if (tree === (await treeOf(head))) {
      // HEAD already holds exactly these recommendations: nothing to propose; the branch points at HEAD.
      if (tip !== head) await run(["update-ref", "-m", "steward publish", `refs/heads/${branch}`, head, tip ?? ""], {}, `updating ${branch}`);
      return { outcomes, branch, commit: head, committed: false };
    }
    const closed = outcomes.filter((o) => o.action === "closed").map((o) => `Closed ${o.id}: ${set.resolution}`);
    const message = closed.length === 0 ? set.message : `${set.message.trimEnd()}\n\n${closed.join("\n")}\n`;
    const commit = (await run(["commit-tree", tree, "-p", head, "-F", "-"], { input: message, env }, "committing")).trim();
    await run(["update-ref", "-m", "steward publish", `refs/heads/${branch}`, commit, tip ?? ""], {}, `updating ${branch}`);
    return { outcomes, branch, commit, committed: true };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The `recommendations/*.md` files of a commit, path → text. */
async function listFiles(root: string, commit: string, run: Git): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const listing = await run(["ls-tree", "-z", "--name-only", commit, "--", `${RECOMMENDATIONS_DIR}/`], {}, "listing recommendations");
  for (const path of listing.split("\0").filter((p) => p.endsWith(".md"))) {
    out.set(path, (await run(["cat-file", "blob", `${commit}:${path}`], {}, `reading ${path}`)));
  }
  return out;
}
