/**
 * The fake's repository content: a real bare git repository driven through the git
 * CLI, so what the publisher commits through the Git Data API can be read back with
 * `git log`, `git show` and `git cat-file` exactly as from a clone of GitHub.
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
    return (await this.git(["hash-object", "-w", "--stdin"], { input: content })).trim();
  }

  async readBlob(sha: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      execFile("git", ["cat-file", "blob", sha], { cwd: this.dir, env: { ...process.env, GIT_DIR: this.dir }, encoding: "buffer", maxBuffer: 64 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    });
  }

  /** The object's type, or undefined when it does not exist. */
  async typeOf(sha: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{40}$/.test(sha)) return undefined;
    return this.git(["cat-file", "-t", sha]).then((t) => t.trim(), () => undefined);
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
      for (const entry of entries) {
        if (entry.sha === null) {
          await this.git(["update-index", "--force-remove", "--", entry.path], { env });
          continue;
        }
        const sha = entry.content !== undefined ? await this.writeBlob(Buffer.from(entry.content, "utf8")) : entry.sha!;
        await this.git(["update-index", "--add", "--cacheinfo", `${entry.mode},${sha},${entry.path}`], { env });
      }
      return (await this.git(["write-tree"], { env })).trim();
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Every blob of a tree, recursively: path → { mode, sha }. */
  async listTree(tree: string): Promise<Map<string, { mode: string; type: string; sha: string }>> {
    const out = new Map<string, { mode: string; type: string; sha: string }>();
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
    return (await this.git(args, { input: input.message, env })).trim();
  }

  async readCommit(sha: string): Promise<CommitObject> {
    const raw = await this.git(["cat-file", "commit", sha]);
    const split = raw.indexOf("\n\n");
    const header = raw.slice(0, split).split("\n");
    const message = raw.slice(split + 2);
    const person = (line: string): Required<GitIdentity> => {
      const match = /^\w+ (.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(line)!;
      return { name: match[1]!, email: match[2]!, date: new Date(Number(match[3]) * 1000).toISOString().replace(/\.000Z$/, "Z") };
    };
    return {
      sha,
      tree: header.find((l) => l.startsWith("tree "))!.slice(5),
      parents: header.filter((l) => l.startsWith("parent ")).map((l) => l.slice(7)),
      author: person(header.find((l) => l.startsWith("author "))!),
      committer: person(header.find((l) => l.startsWith("committer "))!),
      message,
    };
  }

  /** The sha a ref (`refs/heads/main`) points at, or undefined. */
  async resolveRef(ref: string): Promise<string | undefined> {
    return this.git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).then((s) => s.trim() || undefined, () => undefined);
  }

  /** Every ref under `prefix` (`refs/heads/`), sorted. */
  async listRefs(prefix: string): Promise<Array<{ ref: string; sha: string }>> {
    const out = await this.git(["for-each-ref", "--format=%(refname) %(objectname)", prefix]);
    return out.split("\n").filter(Boolean).map((line) => ({ ref: line.split(" ")[0]!, sha: line.split(" ")[1]! }));
  }

  /** Sets `ref` to `sha` if it still points at `expected` (undefined: must not exist). */
  async setRef(ref: string, sha: string, expected: string | undefined): Promise<void> {
    await this.git(["update-ref", ref, sha, expected ?? "0".repeat(40)]);
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    return this.git(["merge-base", "--is-ancestor", ancestor, descendant]).then(() => true, () => false);
  }

  /** The tree of merging `theirs` into `ours`, or undefined when they conflict (git merge-tree). */
  async mergeTree(ours: string, theirs: string): Promise<string | undefined> {
    return this.git(["merge-tree", "--write-tree", ours, theirs]).then((out) => out.split("\n")[0]!.trim(), () => undefined);
  }
}
