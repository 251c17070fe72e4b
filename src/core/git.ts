/**
 * The few git reads the audit trail needs, through the git CLI (the repository is the
 * audit trail; no library re-implements its object store as faithfully as git itself).
 * Arguments are passed as an argv array, never through a shell; revisions and paths
 * that reach git are checked first (a leading "-" would be read as an option).
 */
import { execFile } from "node:child_process";
import { EnvironmentError } from "./errors.ts";

/** What one git command returned. */
export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Largest output read from one git command (a plan file is at most 256 MiB). */
const MAX_OUTPUT = 300 * 1024 * 1024;

/**
 * Runs `git -C <root> <args…>` with no pager, no prompt and no user configuration that
 * could change its output; resolves with the exit code (never rejects for a non-zero one).
 * @throws Error when git itself cannot be started (ENOENT: not installed).
 */
export function git(root: string, args: readonly string[], options: { input?: string | Uint8Array; env?: NodeJS.ProcessEnv } = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      ["-C", root, "-c", "core.quotepath=off", ...args],
      { encoding: "buffer", maxBuffer: MAX_OUTPUT, env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_PAGER: "cat", GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C", ...options.env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof (error as NodeJS.ErrnoException & { code?: unknown }).code === "number" ? ((error as unknown as { code: number }).code) : -1;
        if (error !== null && code === -1) {
          reject(error);
          return;
        }
        resolve({ code, stdout, stderr: stderr.toString("utf8") });
      },
    );
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input ?? "");
  });
}

/** True when `root` is inside a git work tree. */
export async function isGitRepository(root: string): Promise<boolean> {
  try {
    const r = await git(root, ["rev-parse", "--is-inside-work-tree"]);
    return r.code === 0 && r.stdout.toString("utf8").trim() === "true";
  } catch {
    return false;
  }
}

/** A commit id as git prints it: 40 (SHA-1) or 64 (SHA-256) hex digits. */
export const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A repository-relative path git may be given: no leading "-" or "/", no ".." segment, no control characters. */
export function safeRepoPath(path: string): boolean {
  return path.length > 0 && !path.startsWith("-") && !path.startsWith("/") && !path.split("/").includes("..") && !/[\u0000-\u001f\u007f]/.test(path);
}

/**
 * The bytes of `path` (relative to `root`) at `commit`, or null when the commit has no
 * such file. @throws Error when the commit does not exist in the repository.
 */
export async function fileAtCommit(root: string, commit: string, path: string): Promise<Buffer | null> {
  if (!COMMIT_ID.test(commit) || !safeRepoPath(path)) throw new Error(`refusing to read ${JSON.stringify(path)} at ${JSON.stringify(commit)}`);
  const exists = await git(root, ["cat-file", "-e", `${commit}^{commit}`]);
  if (exists.code !== 0) throw new Error(`commit ${commit} is not in the repository (fetch with full history: actions/checkout with fetch-depth: 0)`);
  const r = await git(root, ["show", `${commit}:./${path}`]);
  return r.code === 0 ? r.stdout : null;
}

/** One commit that touched a path: its id and committer time (ISO 8601 UTC). */
export interface PathCommit {
  commit: string;
  committedAt: string;
}

/**
 * Every commit reachable from any ref that touched `path`, newest first, with its
 * committer time in UTC. [] when none did.
 */
export async function commitsTouching(root: string, path: string): Promise<PathCommit[]> {
  if (!safeRepoPath(path)) throw new Error(`refusing path ${JSON.stringify(path)}`);
  const r = await git(root, ["log", "--all", "--format=%H %ct", "--", `./${path}`]);
  if (r.code !== 0) throw new EnvironmentError(`git log failed in ${root}: ${r.stderr.trim().split("\n")[0] ?? ""}`, "repair the repository (git fsck), or re-clone it");
  const out: PathCommit[] = [];
  for (const line of r.stdout.toString("utf8").split("\n")) {
    const m = /^([0-9a-f]{40,64}) (\d+)$/.exec(line);
    if (m) out.push({ commit: m[1] as string, committedAt: new Date(Number(m[2]) * 1000).toISOString() });
  }
  return out;
}
