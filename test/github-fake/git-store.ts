/**
 * The fake's repository content: a real bare git repository driven through the git
 * CLI, so what the publisher commits through the Git Data API can be read back with
 * `git log`, `git show` and `git cat-file` exactly as from a clone of GitHub.
 *
 * Every process costs (tens of milliseconds, far more on a busy machine), so what
 * cannot change is read once: object types, commits and trees are immutable by
 * their sha. Branch heads are kept in memory too, written through to the repository
 * with `git update-ref` (with the old value, so git itself refuses a lost update);
 * only the fake writes the repository, tests only read it.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface GitIdentity {
  name: string;
  email: string;
  /** ISO 8601; git's own clock when absent. */
  date?: string;
}

export interface CommitObject {
  sha: string;
  tree: string;
  parents: string[];
  author: Required<GitIdentity>;
  committer: Required<GitIdentity>;
  message: string;
}

/** A tree entry as the Git Data API's create-tree takes it. */
export interface TreeEntryInput {
  path: string;
  mode: "100644" | "100755" | "040000" | "160000" | "120000";
  type: "blob" | "tree" | "commit";
  /** null deletes the path. */
  sha?: string | null;
  content?: string;
}

export class GitStore {
  private readonly types = new Map<string, string>();
  private readonly commits = new Map<string, CommitObject>();
  private readonly trees = new Map<string, Map<string, { mode: string; type: string; sha: string }>>();
  private readonly refs = new Map<string, string>();
  private readonly ancestry = new Map<string, boolean>();

  private constructor(readonly dir: string) {}

  /** A new empty bare repository in a temporary folder; `dispose` removes it. */
  static async create(): Promise<GitStore> {
    const dir = await mkdtemp(join(tmpdir(), "github-fake-"));
    const store = new GitStore(dir);
    await store.git(["init", "--quiet", "--bare", "--initial-branch=main"]);
    return store;
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Runs git in the repository; rejects with git's stderr on a non-zero exit. */
  git(args: string[], options: { input?: string | Buffer; env?: Record<string, string> } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile("git", args, { cwd: this.dir, env: { ...process.env, GIT_DIR: this.dir, ...options.env }, maxBuffer: 64 << 20, encoding: "buffer" }, (error, stdout, stderr) => {
        if (error) reject(Object.assign(new Error(`git ${args[0]} failed: ${stderr.toString().trim()}`), { exitCode: (error as { code?: number }).code }));
        else resolve(stdout.toString("utf8"));
      });
      // git may exit before reading its input (a failed rev-parse): that is not an error here.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(options.input ?? "");
    });
  }

  async writeBlob(content: Buffer): Promise<string> {
    const sha = (await this.git(["hash-object", "-w", "--stdin"], { input: content })).trim();
    this.types.set(sha, "blob");
    return sha;
  }

  async readBlob(sha: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      execFile("git", ["cat-file", "blob", sha], { cwd: this.dir, env: { ...process.env, GIT_DIR: this.dir }, encoding: "buffer", maxBuffer: 64 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    });
  }

  /** The object's type, or undefined when it does not exist. */
  async typeOf(sha: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{40}$/.test(sha)) return undefined;
    const known = this.types.get(sha);
    if (known !== undefined) return known;
    const type = await this.git(["cat-file", "-t", sha]).then((t) => t.trim(), () => undefined);
    if (type !== undefined) this.types.set(sha, type);
    return type;
  }

  /**
   * A tree: `base` (a tree sha) with `entries` applied by full path, as GitHub's
   * create-tree does: nested paths create folders, `sha: null` removes a path. Built
   * in a throwaway index (read-tree, update-index, write-tree).
   */
  async writeTree(base: string | undefined, entries: readonly TreeEntryInput[]): Promise<string> {
    const scratch = await mkdtemp(join(tmpdir(), "github-fake-index-"));
    const env = { GIT_INDEX_FILE: join(scratch, "index") };
    try {
      await this.git(base === undefined ? ["read-tree", "--empty"] : ["read-tree", base], { env });
      // One update-index for every entry: "<mode> <sha>\t<path>", mode 0 removes the path.
      const lines: string[] = [];
      for (const entry of entries) {
        if (entry.sha === null) lines.push(`0 ${"0".repeat(40)}\t${entry.path}`);
        else lines.push(`${entry.mode} ${entry.content !== undefined ? await this.writeBlob(Buffer.from(entry.content, "utf8")) : entry.sha!}\t${entry.path}`);
      }
      await this.git(["update-index", "-z", "--index-info"], { env, input: lines.map((l) => `${l}\0`).join("") });
      const sha = (await this.git(["write-tree"], { env })).trim();
      this.types.set(sha, "tree");
      return sha;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Every blob of a tree, recursively: path → { mode, sha }. */
  async listTree(tree: string): Promise<Map<string, { mode: string; type: string; sha: string }>> {
    const cached = this.trees.get(tree);
    if (cached !== undefined) return cached;
    const out = new Map<string, { mode: string; type: string; sha: string }>();
    this.trees.set(tree, out);
    for (const line of (await this.git(["ls-tree", "-r", "-z", tree])).split("\0")) {
      const match = /^(\d+) (\w+) ([0-9a-f]{40})\t(.*)$/s.exec(line);
      if (match) out.set(match[4]!, { mode: match[1]!, type: match[2]!, sha: match[3]! });
    }
    return out;
  }

  async writeCommit(input: { message: string; tree: string; parents: readonly string[]; author: GitIdentity; committer: GitIdentity }): Promise<string> {
    const env: Record<string, string> = {
      GIT_AUTHOR_NAME: input.author.name,
      GIT_AUTHOR_EMAIL: input.author.email,
      GIT_COMMITTER_NAME: input.committer.name,
      GIT_COMMITTER_EMAIL: input.committer.email,
    };
    if (input.author.date !== undefined) env["GIT_AUTHOR_DATE"] = input.author.date;
    if (input.committer.date !== undefined) env["GIT_COMMITTER_DATE"] = input.committer.date;
    const args = ["commit-tree", input.tree, ...input.parents.flatMap((p) => ["-p", p]), "-F", "-"];
    const sha = (await this.git(args, { input: input.message, env })).trim();
    this.types.set(sha, "commit");
    return sha;
  }

  async readCommit(sha: string): Promise<CommitObject> {
    const cached = this.commits.get(sha);
    if (cached !== undefined) return cached;
    const raw = await this.git(["cat-file", "commit", sha]);
    const split = raw.indexOf("\n\n");
    const header = raw.slice(0, split).split("\n");
    const message = raw.slice(split + 2);
    const person = (line: string): Required<GitIdentity> => {
      const match = /^\w+ (.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(line)!;
      return { name: match[1]!, email: match[2]!, date: new Date(Number(match[3]) * 1000).toISOString().replace(/\.000Z$/, "Z") };
    };
    const commit: CommitObject = {
      sha,
      tree: header.find((l) => l.startsWith("tree "))!.slice(5),
      parents: header.filter((l) => l.startsWith("parent ")).map((l) => l.slice(7)),
      author: person(header.find((l) => l.startsWith("author "))!),
      committer: person(header.find((l) => l.startsWith("committer "))!),
      message,
    };
    this.commits.set(sha, commit);
    return commit;
  }

  /** The sha a ref (`refs/heads/main`) points at, or undefined. */
  async resolveRef(ref: string): Promise<string | undefined> {
    return this.refs.get(ref);
  }

  /** Every ref under `prefix` (`refs/heads/`), sorted. */
  async listRefs(prefix: string): Promise<Array<{ ref: string; sha: string }>> {
    return [...this.refs].filter(([ref]) => ref.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([ref, sha]) => ({ ref, sha }));
  }

  /** Sets `ref` to `sha` if it still points at `expected` (undefined: must not exist). */
  async setRef(ref: string, sha: string, expected: string | undefined): Promise<void> {
    await this.git(["update-ref", ref, sha, expected ?? "0".repeat(40)]);
    this.refs.set(ref, sha);
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const key = `${ancestor}..${descendant}`;
    const known = this.ancestry.get(key);
    if (known !== undefined) return known;
    const answer = await this.git(["merge-base", "--is-ancestor", ancestor, descendant]).then(() => true, () => false);
    this.ancestry.set(key, answer);
    return answer;
  }

  /** The tree of merging `theirs` into `ours`, or undefined when they conflict (git merge-tree). */
  async mergeTree(ours: string, theirs: string): Promise<string | undefined> {
    return this.git(["merge-tree", "--write-tree", ours, theirs]).then((out) => out.split("\n")[0]!.trim(), () => undefined);
  }
}
