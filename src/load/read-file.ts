import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readlink, realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { decodeUtf8 } from "./encoding.ts";
import { MAX_FILE_BYTES } from "./yaml-source.ts";

/** Why a repository file could not be used; `line`/`column` point into the file for encoding problems. */
export interface ReadProblem {
  rule: string;
  message: string;
  hint?: string;
  line?: number;
  column?: number;
}

/** A repository file as read: its text (UTF-8, BOM dropped) and the sha256 of its exact bytes. */
export type ReadResult = { ok: true; text: string; sha256: string } | { ok: false; problem: ReadProblem };

/** True when `path` is `root` or below it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** The real (symlink-free) path of the repository root; the root as given when it does not exist. */
export async function realRoot(root: string): Promise<string> {
  return realpath(root).catch(() => resolve(root));
}

function describeKind(stats: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a named pipe (FIFO)";
  if (stats.isSocket()) return "a socket";
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return "a device";
  return "not a regular file";
}

function errnoProblem(error: unknown, shown: string): ReadProblem {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (code === "ENOENT") return { rule: "load/vanished", message: `\`${shown}\` disappeared while it was being read`, hint: "something changed the repository during the run; run again once it is settled" };
  if (code === "EACCES" || code === "EPERM") return { rule: "load/unreadable", message: `\`${shown}\` cannot be read: permission denied`, hint: "make the file readable by the user running steward" };
  if (code === "EISDIR") return { rule: "load/not-a-file", message: `\`${shown}\` is a directory, not a file`, hint: "name a file" };
  if (code === "ELOOP") return { rule: "load/symlink", message: `\`${shown}\` is a symbolic link loop`, hint: "replace the link with the file itself" };
  return { rule: "load/unreadable", message: `\`${shown}\` cannot be read (${code || (error instanceof Error ? error.message : String(error))})` };
}

/**
 * Where a path really leads, if it may be read: after every symbolic link (of the file
 * or of a folder on the way), it must still be inside the repository. Otherwise a
 * problem naming the link and its target.
 */
async function resolveInside(root: string, path: string, shown: string): Promise<{ path: string; link?: string } | { problem: ReadProblem }> {
  let isLink = false;
  try {
    isLink = (await lstat(path)).isSymbolicLink();
  } catch (error) {
    return { problem: errnoProblem(error, shown) };
  }
  const target = isLink ? await readlink(path).catch(() => "?") : undefined;
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (isLink && code === "ENOENT") return { problem: { rule: "load/symlink", message: `\`${shown}\` is a symbolic link to \`${target}\`, which does not exist`, hint: "fix or delete the link; what the file declares would otherwise vanish without a word" } };
    return { problem: errnoProblem(error, shown) };
  }
  if (!isInside(root, real)) {
    const message = isLink ? `\`${shown}\` is a symbolic link to \`${target}\`, which is outside the repository` : `\`${shown}\` leads outside the repository through a linked folder (to \`${real}\`)`;
    return { problem: { rule: "load/symlink", message, hint: "steward reads only files inside the repository (what a review sees); copy it in instead of linking" } };
  }
  return { path: real, ...(isLink && target !== undefined ? { link: target } : {}) };
}

/**
 * Reads one file of the repository, never throwing on what the file system holds:
 * symbolic links are followed only to regular files inside the repository; directories,
 * pipes (opened non-blocking, never waited on), sockets and devices are refused; a file
 * that vanishes between listing and reading, or cannot be read, is a problem; the bytes
 * must be UTF-8. `root` is the real path of the repository, `path` is absolute; `shown`
 * is how messages name the file.
 */
export async function readRepositoryFile(root: string, path: string, shown: string): Promise<ReadResult> {
  const resolved = await resolveInside(root, path, shown);
  if ("problem" in resolved) return { ok: false, problem: resolved.problem };
  const real = resolved.path;
  try {
    // Checked before opening too: opening a socket fails with a bare ENXIO.
    const kind = await stat(real);
    if (!kind.isFile()) {
      // Through a link, name where it leads: the link itself looks like a file in a listing.
      const through = resolved.link === undefined ? "" : `a symbolic link to \`${resolved.link}\`, which is `;
      return { ok: false, problem: { rule: "load/not-a-file", message: `\`${shown}\` is ${through}${describeKind(kind)}, not a regular file`, hint: resolved.link === undefined ? "replace it with a regular file, or remove it" : "point the link at a file, or remove it" } };
    }
  } catch (error) {
    return { ok: false, problem: errnoProblem(error, shown) };
  }
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    // O_NOFOLLOW: the path was resolved above; a link swapped in since is not followed.
    handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    return { ok: false, problem: errnoProblem(error, shown) };
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { ok: false, problem: { rule: "load/not-a-file", message: `\`${shown}\` is ${describeKind(stats)}, not a regular file`, hint: "replace it with a regular file, or remove it" } };
    if (stats.size > MAX_FILE_BYTES) {
      return { ok: false, problem: { rule: "yaml/too-large", message: `file is ${(stats.size / 1048576).toFixed(1)} MiB; the limit is ${MAX_FILE_BYTES / 1048576} MiB`, hint: "split it into several files in the same folder; they are merged" } };
    }
    const bytes = await handle.readFile();
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const decoded = decodeUtf8(bytes);
    if (!decoded.ok) return { ok: false, problem: { rule: "load/encoding", message: decoded.message, hint: decoded.hint, line: decoded.line, column: decoded.column } };
    return { ok: true, text: decoded.text, sha256 };
  } catch (error) {
    return { ok: false, problem: errnoProblem(error, shown) };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
