/**
 * Safe writes for every file steward produces (plans, the facts cache).
 *
 * - Atomic: text goes to a temporary file in the target's folder, is written in full
 *   and fsync'd, then renamed over the target; the folder is fsync'd after the rename
 *   so the new name survives a crash (rename(2) is atomic, but durable only once the
 *   directory entry is on disk).
 * - Pairs: `writeFilesAtomic` writes and fsyncs every temporary file before it renames
 *   any, and if a later rename fails the earlier ones are rolled back (the previous
 *   file restored, or the new one removed), so a plan's JSON and Markdown change
 *   together or not at all.
 * - Links are never followed: the output folder, each folder between the repository
 *   root and it, and the target file are checked with lstat, and a symbolic link is
 *   refused with an error naming it. A link could send a plan or facts file anywhere
 *   the process may write. (lstat-then-write leaves a window in which a link could
 *   appear; the checks guard against a link in the checkout, not a concurrent attacker.)
 * - Failures of the machine (disk full, read-only or forbidden folder) are an
 *   EnvironmentError naming the file, the condition and the fix, and no temporary
 *   file is left behind.
 *
 * write-file-atomic is not used: it issues a single write(2) and ignores a short count,
 *   so on a nearly full disk it renames a truncated file over the target without an
 *   error, and it resolves the target with realpath, following links.
 */
import { randomBytes } from "node:crypto";
import { link, lstat, mkdir, open, readlink, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { EnvironmentError } from "./errors.ts";

/** One file of a write: where, and its full text (written as UTF-8). */
export interface FileWrite {
  path: string;
  text: string;
}

export interface SafeWriteOptions {
  /**
   * The repository root: every folder from below it down to the target is checked
   * for links (and created if missing). Without it, or for a target outside it, the
   * target's folder and the file itself are checked.
   */
  root?: string;
  /**
   * How the user of the command at hand can write somewhere else, added to the hints
   * of links, read-only and forbidden folders ("write the plan elsewhere with --out
   * DIR"). Absent when the command has no such option, so no hint names one.
   */
  elsewhere?: string;
}

/**
 * Creates `dir` and any missing parent inside `root`, refusing a symbolic link at any
 * existing component below `root` and at `dir` itself.
 * @throws EnvironmentError for a link, a component that is not a folder, or a
 *   folder that cannot be created (read-only, permission, disk full).
 */
export async function ensureDirectory(dir: string, root?: string, elsewhere?: string): Promise<void> {
  const target = resolve(dir);
  const base = root === undefined ? undefined : resolve(root);
  const inside = base !== undefined && (target === base || isInside(base, target));
  const chain = inside ? components(base, target) : [target];
  // The root and its parents (or, outside the root, the folder's parents) are the
  // user's: created if missing, not checked.
  const above = inside ? base : dirname(target);
  try {
    await mkdir(above, { recursive: true });
  } catch (error) {
    throw writeFailure(error, above, "creating the folder", elsewhere);
  }
  for (const path of chain) {
    const kind = await entryKind(path, path, elsewhere);
    if (kind === "missing") {
      try {
        await mkdir(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw writeFailure(error, path, "creating the folder", elsewhere);
      }
      // Created, or created by someone else meanwhile: check what is there now.
      if ((await entryKind(path, path, elsewhere)) !== "directory") throw notADirectory(path);
    } else if (kind !== "directory") {
      throw notADirectory(path);
    }
  }
}

/**
 * Writes one file atomically and durably (see the module comment).
 * @throws EnvironmentError for a link, disk full, a read-only or forbidden folder.
 */
export async function writeFileAtomic(path: string, text: string, options: SafeWriteOptions = {}): Promise<void> {
  await writeFilesAtomic([{ path, text }], options);
}

/**
 * Writes several files as one change: all or none of them are replaced. Every
 * temporary file is written and fsync'd first; then they are renamed in order, and a
 * failed rename restores the files already renamed (the previous version, kept as a
 * hard link until the end, or no file if there was none).
 * @throws EnvironmentError as writeFileAtomic; nothing is changed when it throws.
 */
export async function writeFilesAtomic(files: readonly FileWrite[], options: SafeWriteOptions = {}): Promise<void> {
  const targets = files.map((f) => ({ path: resolve(f.path), text: f.text, temp: "", backup: undefined as string | undefined, existed: false }));
  for (const t of targets) {
    await ensureDirectory(dirname(t.path), options.root, options.elsewhere);
    const kind = await entryKind(t.path, t.path, options.elsewhere);
    // Renaming over a device, a pipe, a socket or a folder would replace it: /dev/null
    // would become a regular file for every program on the machine.
    if (kind === "directory" || kind === "other") throw notAFile(t.path, kind, options.elsewhere);
    t.existed = kind !== "missing";
  }
  try {
    for (const t of targets) {
      t.temp = join(dirname(t.path), `.${basename(t.path)}.${randomBytes(6).toString("hex")}.tmp`);
      await writeDurably(t.temp, t.text, t.path, options.elsewhere);
    }
  } catch (error) {
    await removeAll(targets.map((t) => t.temp));
    throw error;
  }
  const renamed: typeof targets = [];
  try {
    for (const [i, t] of targets.entries()) {
      // Only a file a later rename could still undo needs its previous version kept.
      if (t.existed && i < targets.length - 1) {
        t.backup = join(dirname(t.path), `.${basename(t.path)}.${randomBytes(6).toString("hex")}.bak`);
        await link(t.path, t.backup).catch((error: unknown) => {
          t.backup = undefined;
          throw writeFailure(error, t.path, "keeping the previous version", options.elsewhere);
        });
      }
      await rename(t.temp, t.path).catch((error: unknown) => {
        throw writeFailure(error, t.path, "replacing the file", options.elsewhere);
      });
      renamed.push(t);
    }
  } catch (error) {
    // Undo in reverse order. A step of the undo that fails too is said, never hidden:
    // the previous version then stays where the message says.
    const stuck: string[] = [];
    for (const t of renamed.reverse()) {
      try {
        if (t.backup !== undefined) await rename(t.backup, t.path);
        else await rm(t.path, { force: true });
      } catch {
        stuck.push(t.backup !== undefined ? `the previous ${t.path} is kept as ${t.backup}` : `the new ${t.path} could not be removed`);
        t.backup = undefined;
      }
    }
    await removeAll(targets.flatMap((t) => [t.temp, t.backup ?? ""]));
    if (stuck.length > 0) {
      const message = error instanceof Error ? error.message : String(error);
      throw new EnvironmentError(`${message}; undoing the other files failed too: ${stuck.join("; ")}`, error instanceof EnvironmentError ? error.hint : undefined, { cause: error });
    }
    throw error;
  }
  await removeAll(targets.map((t) => t.backup ?? ""));
  for (const dir of new Set(targets.map((t) => dirname(t.path)))) await syncDirectory(dir);
}

/** Writes `text` to a new file and fsyncs it; FileHandle.writeFile loops until every byte is written or the write fails. */
async function writeDurably(temp: string, text: string, target: string, elsewhere: string | undefined): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, "wx", 0o666);
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } catch (error) {
    throw writeFailure(error, target, "writing the file", elsewhere);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** fsync of a folder, so a rename in it is durable. Some filesystems refuse it (EINVAL); the rename then stands as it is. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EISDIR") throw writeFailure(error, dir, "flushing the folder");
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Best-effort removal of temporary files and kept versions; what is already gone is fine. */
async function removeAll(paths: readonly string[]): Promise<void> {
  for (const p of paths) if (p !== "") await rm(p, { force: true }).catch(() => undefined);
}

type EntryKind = "missing" | "directory" | "file" | "other";

/** What is at `path`, without following a link: a link is refused here, by name. */

async function entryKind(path: string, target: string, elsewhere: string | undefined): Promise<EntryKind> {
  try {
    const stat = await lstat(path);
    if (stat.isSymbolicLink()) throw symlinkRefused(path, await readlink(path).catch(() => undefined), elsewhere);
    return stat.isDirectory() ? "directory" : stat.isFile() ? "file" : "other";
  } catch (error) {
    if (error instanceof EnvironmentError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw writeFailure(error, target, "checking the path", elsewhere);
  }
}

function isInside(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
}

/** The folders from just below `base` down to `target`, outermost first. */
function components(base: string, target: string): string[] {
  const out: string[] = [];
  let path = base;
  for (const part of relative(base, target).split(sep)) {
    if (part === "") continue;
    path = join(path, part);
    out.push(path);
  }
  return out;
}

function symlinkRefused(path: string, to: string | undefined, elsewhere: string | undefined): EnvironmentError {
  const shown = to === undefined ? "" : ` (to ${to})`;
  return new EnvironmentError(`${path} is a symbolic link${shown}; steward does not write through links`, `replace ${path} with a real folder or file${or(elsewhere)}`);
}

/** ", or <how to write elsewhere>" when the command has a way; else nothing. */
const or = (elsewhere: string | undefined): string => (elsewhere === undefined ? "" : `, or ${elsewhere}`);

function notAFile(path: string, kind: "directory" | "other", elsewhere: string | undefined): EnvironmentError {
  const what = kind === "directory" ? "a folder" : "a device, pipe or socket, not a regular file";
  return new EnvironmentError(`${path} is ${what}: steward writes files atomically by replacing them, and will not replace that`, elsewhere ?? `name a regular file instead of ${path}`);
}

function notADirectory(path: string): EnvironmentError {
  return new EnvironmentError(`${path} is not a folder, so nothing can be written below it`, `move ${path} out of the way`);
}

/**
 * An errno from a write, as an EnvironmentError naming the file, the condition and
 * the fix (with `elsewhere`, see SafeWriteOptions, where the command can write
 * elsewhere); any other error is returned unchanged (it is a bug, and shows as one).
 */
export function writeFailure(error: unknown, path: string, doing: string, elsewhere?: string): unknown {
  if (error instanceof EnvironmentError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = dirname(path);
  const known: Record<string, [string, string]> = {
    ENOSPC: [`no space left on the device holding ${where}`, `free space on that filesystem and run the command again`],
    EDQUOT: [`the disk quota for ${where} is used up`, `free space within the quota and run the command again`],
    EROFS: [`${where} is on a read-only filesystem`, `remount it read-write${or(elsewhere)}`],
    EACCES: [`permission denied in ${where}`, `let this user write to ${where}${or(elsewhere)}`],
    EPERM: [`the operation is not permitted in ${where}`, `let this user write to ${where}${or(elsewhere)}`],
    EIO: [`an I/O error occurred on the device holding ${where}`, `check the disk (dmesg), then run the command again`],
    ENOTDIR: [`a part of ${where} is not a folder`, `move the file that is in the way`],
    EISDIR: [`${path} is a folder`, `move ${path} out of the way`],
    EMFILE: [`too many open files`, `raise the limit (ulimit -n) and run the command again`],
    ENAMETOOLONG: [`the name is longer than the filesystem allows`, `use a shorter file name${or(elsewhere)}`],
    // /proc, /sys and similar: the folder exists but no file can be created in it.
    ENOENT: [`no file can be created in ${where}`, `write to an ordinary folder${or(elsewhere)}`],
    EINVAL: [`${where} does not hold ordinary files`, `write to an ordinary folder${or(elsewhere)}`],
    ELOOP: [`too many symbolic links lead to ${path}`, `name the file by a path without links${or(elsewhere)}`],
  };
  const entry = code === undefined ? undefined : known[code];
  if (entry === undefined) return error;
  return new EnvironmentError(`cannot write ${path}: ${entry[0]} (${code} while ${doing})`, entry[1], { cause: error });
}

/**
 * fsync(2) of a folder, so a file created or renamed in it survives a crash. Filesystems
 * that cannot sync a folder (EINVAL, ENOTSUP) are let be.
 * @throws EnvironmentError (via writeFailure) for any other failure.
 */
export async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync().catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EINVAL" && code !== "ENOTSUP") throw writeFailure(error, dir, "flushing the folder");
    });
  } finally {
    await handle.close();
  }
}
