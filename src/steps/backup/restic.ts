/**
 * restic, as the backup, verify-backup and restore steps drive it: commands built from
 * checked values, and restic's output judged the way drivers judge a package manager's
 * (pure functions, tested on output captured from restic 0.14, Debian bookworm's).
 *
 * The password: every command starts `RESTIC_PASSWORD_FILE=/dev/stdin restic …`, and the
 * executor writes the password (one line) on the SSH channel's standard input. restic
 * reads the "file" once at start-up and trims surrounding white space (restic docs,
 * "Password"), so the password is on no command line (`ps`), in no environment
 * variable of any process (/proc/PID/environ), and in no file on the host. sshd's
 * AcceptEnv (Debian: LANG LC_*) and sudo's env_reset would drop an environment
 * variable anyway; standard input passes through both.
 *
 * Exit codes: restic 0.14 exits 0 (done), 1 (fatal: wrong password, no repository, a
 * locked repository, a failed check) and 3 (backup: some source files could not be
 * read, the snapshot is incomplete). restic 0.17 added 10 (no repository), 11 (locked)
 * and 12 (wrong password); both are read, and stderr names the case for 0.14.
 */
import { shellQuote } from "../../transport/shell.ts";

/** The prefix every restic command gets: the password comes from standard input. */
export const RESTIC_PREFIX = "RESTIC_PASSWORD_FILE=/dev/stdin restic";

/** What the executor writes on the command's standard input: the password and a line end. */
export const passwordStdin = (password: string): string => `${password}\n`;

/**
 * One restic command on a repository. `repository` is shell text already (a quoted
 * word, or a template rendered with its values quoted); `args` are quoted here.
 */
export function resticCommand(repository: string, args: readonly string[]): string {
  return `${RESTIC_PREFIX} --repo=${repository} ${args.map(shellQuote).join(" ")}`;
}

/** `restic backup` of absolute paths, with tags, as JSON lines (status lines, then one summary). */
export function backupArgs(paths: readonly string[], tags: readonly string[]): string[] {
  return ["backup", "--json", ...tags.flatMap((t) => ["--tag", t]), "--", ...paths];
}

/** `forget --prune` with the step's keep rules (restic docs, "Removing snapshots according to a policy"). */
export function forgetArgs(retention: Partial<Record<"keep_last" | "keep_daily" | "keep_weekly" | "keep_monthly", number>>): string[] {
  const flags: Array<[keyof typeof retention, string]> = [
    ["keep_last", "--keep-last"],
    ["keep_daily", "--keep-daily"],
    ["keep_weekly", "--keep-weekly"],
    ["keep_monthly", "--keep-monthly"],
  ];
  const args = ["forget", "--json", "--prune"];
  for (const [key, flag] of flags) {
    const n = retention[key];
    if (n !== undefined) args.push(flag, String(n));
  }
  return args;
}

/** `check`, reading back a share of the data packs when asked ("5%": restic ≥ 0.12 takes a percentage). */
export function checkArgs(readDataSubset: string | undefined): string[] {
  return readDataSubset === undefined ? ["check"] : ["check", `--read-data-subset=${readDataSubset}`];
}

/** `restore` of one snapshot (a full id) into `target`, only `include` paths when given. */
export function restoreArgs(snapshotId: string, target: string, include: readonly string[]): string[] {
  return ["restore", snapshotId, "--target", target, ...include.flatMap((p) => ["--include", p])];
}

/** What restic's backup summary says, every value checked. */
export interface BackupSummary {
  /** restic 0.14 prints the short id (8 hex digits) here; the executor resolves the full one. */
  snapshotId: string;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  /** Bytes restic added to the repository (after deduplication and compression). */
  bytesAdded: number;
  /** Bytes of the source files restic read. */
  bytesProcessed: number;
  totalFiles: number;
  /** Seconds, as restic measured them. */
  durationSeconds: number;
}

const HEX_ID = /^[0-9a-f]{8,64}$/;
const FULL_ID = /^[0-9a-f]{64}$/;
/** Counts above this are not a plausible backup (2^53: what a JSON number holds exactly). */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** A count restic printed, or an error naming it. */
function count(record: Record<string, unknown>, key: string): number {
  const value = record[key];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_COUNT) throw new Error(`restic's backup summary has no valid ${key} (${JSON.stringify(value)?.slice(0, 40)})`);
  return value;
}

/**
 * The summary line of `restic backup --json`'s output (the last line whose
 * message_type is "summary"), every field checked: counts are non-negative integers,
 * the duration a finite number of seconds, the snapshot id 8 to 64 hex digits.
 * @throws Error naming what is missing or malformed (the host printed something else).
 */
export function parseBackupSummary(stdout: string): BackupSummary {
  const lines = stdout.split("\n").filter((l) => l.includes('"summary"'));
  const line = lines[lines.length - 1];
  if (line === undefined) throw new Error("restic printed no backup summary");
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    throw new Error("restic's backup summary is not JSON");
  }
  if (typeof record !== "object" || record === null || Array.isArray(record)) throw new Error("restic's backup summary is not a JSON object");
  const r = record as Record<string, unknown>;
  if (r["message_type"] !== "summary") throw new Error("restic's last summary line is not a summary message");
  const id = r["snapshot_id"];
  if (typeof id !== "string" || !HEX_ID.test(id)) throw new Error(`restic's backup summary has no valid snapshot_id (${JSON.stringify(id)?.slice(0, 80)})`);
  const duration = r["total_duration"];
  if (typeof duration !== "number" || !Number.isFinite(duration) || duration < 0) throw new Error("restic's backup summary has no valid total_duration");
  return {
    snapshotId: id,
    filesNew: count(r, "files_new"),
    filesChanged: count(r, "files_changed"),
    filesUnmodified: count(r, "files_unmodified"),
    bytesAdded: count(r, "data_added"),
    bytesProcessed: count(r, "total_bytes_processed"),
    totalFiles: count(r, "total_files_processed"),
    durationSeconds: duration,
  };
}

/** One snapshot as `restic snapshots --json` lists it, checked. */
export interface SnapshotInfo {
  id: string;
  time: string;
  paths: string[];
  hostname: string;
}

/**
 * The snapshots of `restic snapshots --json` (a JSON array), each id a full 64-hex id,
 * the time an ISO date-time, paths absolute, hostname a host name.
 * @throws Error on anything else.
 */
export function parseSnapshots(stdout: string): SnapshotInfo[] {
  const line = stdout.split("\n").find((l) => l.trimStart().startsWith("["));
  if (line === undefined) throw new Error("restic printed no snapshot list");
  let list: unknown;
  try {
    list = JSON.parse(line);
  } catch {
    throw new Error("restic's snapshot list is not JSON");
  }
  if (!Array.isArray(list)) throw new Error("restic's snapshot list is not a JSON array");
  return list.map((item, i) => {
    const s = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const { id, time, paths, hostname } = s;
    if (typeof id !== "string" || !FULL_ID.test(id)) throw new Error(`snapshot ${i}: no valid id`);
    if (typeof time !== "string" || Number.isNaN(Date.parse(time)) || time.length > 64) throw new Error(`snapshot ${i}: no valid time`);
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === "string" && p.startsWith("/") && !/[\u0000-\u001f\u007f]/.test(p))) throw new Error(`snapshot ${i}: no valid paths`);
    if (typeof hostname !== "string" || !/^[A-Za-z0-9._-]{1,253}$/.test(hostname)) throw new Error(`snapshot ${i}: no valid hostname`);
    return { id, time, paths: paths as string[], hostname };
  });
}

/** How many snapshots `forget --json --prune` removed (its first line is the JSON groups; prune's text follows). */
export function parseForgetRemoved(stdout: string): { kept: number; removed: number } {
  const line = stdout.split("\n").find((l) => l.trimStart().startsWith("["));
  if (line === undefined) throw new Error("restic forget printed no JSON");
  const groups: unknown = JSON.parse(line);
  if (!Array.isArray(groups)) throw new Error("restic forget's JSON is not an array");
  let kept = 0;
  let removed = 0;
  for (const g of groups) {
    const group = (typeof g === "object" && g !== null ? g : {}) as Record<string, unknown>;
    kept += Array.isArray(group["keep"]) ? group["keep"].length : 0;
    removed += Array.isArray(group["remove"]) ? group["remove"].length : 0;
  }
  return { kept, removed };
}

/** Who holds a repository's lock, as restic's refusal names it. */
export interface LockHolder {
  pid: number;
  host: string;
  user: string;
  exclusive: boolean;
  /** "2026-12-07 10:32:22 (1.8s ago)": restic's wording, in the holder's local time. */
  created?: string;
  /** The lock file's short id in the repository's locks/ folder. */
  storageId?: string;
}

/** Why a restic command failed, by case. */
export type ResticFailure =
  | { case: "wrong-password" }
  | { case: "no-repository" }
  | { case: "locked"; holder: LockHolder | null }
  | { case: "incomplete"; line: string }
  | { case: "check-failed"; line: string }
  | { case: "failed"; line: string };

/**
 * The case of a failed restic command, from its exit code and stderr (restic 0.14
 * names the case only in stderr; 0.17 also by exit code 10/11/12).
 */
export function classifyFailure(exitCode: number | null, stderr: string): ResticFailure {
  if (exitCode === 12 || /wrong password or no key found/.test(stderr)) return { case: "wrong-password" };
  if (exitCode === 10 || /Is there a repository at the following location\?|unable to open config file/.test(stderr)) return { case: "no-repository" };
  if (exitCode === 11 || /repository is already locked/.test(stderr)) return { case: "locked", holder: parseLockHolder(stderr) };
  const last = lastMeaningfulLine(stderr);
  if (/repository contains errors|Pack ID does not match|error for tree|pack .* contains \d+ errors?/.test(stderr)) return { case: "check-failed", line: firstErrorLine(stderr) ?? last };
  if (exitCode === 3) return { case: "incomplete", line: last };
  return { case: "failed", line: last };
}

/** The lock holder restic names: "already locked [exclusively ]by PID 123 on host by user (UID 0, GID 0)". */
export function parseLockHolder(stderr: string): LockHolder | null {
  const m = /already locked (exclusively )?by PID (\d{1,10}) on ([A-Za-z0-9._-]{1,253}) by ([^\n(]{1,64}?) \(UID/.exec(stderr);
  if (m === null) return null;
  const created = /lock was created at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?: \([0-9.a-zµ]{1,32} ago\))?)/.exec(stderr)?.[1];
  const storageId = /storage ID ([0-9a-f]{8,64})/.exec(stderr)?.[1];
  return { pid: Number(m[2]), host: m[3]!, user: m[4]!.trim(), exclusive: m[1] !== undefined, ...(created ? { created } : {}), ...(storageId ? { storageId } : {}) };
}

function lastMeaningfulLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !/^(reading repository password from stdin|using temporary cache|create exclusive lock|load indexes|check )/.test(l));
  return (lines[lines.length - 1] ?? "").slice(0, 300);
}

function firstErrorLine(text: string): string | undefined {
  return text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => /Pack ID does not match|error|Fatal/i.test(l))
    ?.slice(0, 300);
}

/**
 * One line for a failed restic command, naming the case and what to do. `stale` tells
 * whether the lock's holder is known to be gone (its host is this host and its PID
 * runs no more): restic's own rule for a stale lock. The lock is never removed here.
 */
export function failureDetail(what: string, failure: ResticFailure, stale?: boolean): string {
  switch (failure.case) {
    case "wrong-password":
      return `${what}: wrong password: the repository's keys do not open with the password given (restic: "wrong password or no key found"); check the variable the step's password names`;
    case "no-repository":
      return `${what}: no repository at that location (restic could not open its config file); create it with \`init: true\` on the backup step, or correct the repository`;
    case "locked": {
      const h = failure.holder;
      const who = h === null ? "another process" : `PID ${h.pid} on ${h.host} as ${h.user}${h.exclusive ? " (exclusive)" : ""}${h.created ? `, created ${h.created}` : ""}${h.storageId ? `, lock ${h.storageId}` : ""}`;
      const why = stale === true ? "a stale lock: its process is gone; nothing was removed — once you are sure no restic runs on the repository, remove it with `restic unlock`" : "wait for that process to finish, or, if it is gone, remove the stale lock with `restic unlock`";
      return `${what}: the repository is locked by ${who}; ${why}`;
    }
    case "incomplete":
      return `${what}: the snapshot is incomplete: some source files could not be read (restic exit 3): ${failure.line}`;
    case "check-failed":
      return `${what}: the repository has errors: ${failure.line}`;
    case "failed":
      return `${what}: ${failure.line || "restic failed"}`;
  }
}
