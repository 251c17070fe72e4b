/**
 * Reading and appending runs/audit.jsonl (entries in entry.ts). Appends are serialised
 * by a lock (runs/locks/audit-log.lock, proper-lockfile as the plan lock), written with
 * one write(2) in append mode and fsync'd, with the folder, before the append returns:
 * a run that says it was recorded is on disk.
 *
 * A final line without "\n" is torn (a process killed mid-append). The reader reports
 * it; the next append cuts it off and records how many bytes it dropped (`tornBytes`),
 * so the repair itself is on the record.
 */
import { constants } from "node:fs";
import { lstat, open, readFile, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { StewardError } from "../core/errors.ts";
import { ensureDirectory, syncFolder, writeFailure } from "../core/fs.ts";
import { lockPlan, PlanLockedError, type PlanLock } from "../apply/lock.ts";
import { AUDIT_LOG, entryHash, entryLine, entryProblem, type AuditBody, type AuditEntry } from "./entry.ts";

/** An audit log that was edited or damaged (other than a torn final line): exit 5. */
export class AuditLogError extends StewardError {
  constructor(message: string, hint = "run `steward audit verify` for every finding; restore runs/audit.jsonl from Git") {
    super("stale-plan", message, hint);
  }
}

/** One entry as read, with its 1-based line number. */
export interface ReadEntry {
  line: number;
  entry: AuditEntry;
  text: string;
}

/** A problem in the log itself, at a line. */
export interface LogProblem {
  line: number;
  message: string;
}

export interface AuditLogRead {
  path: string;
  entries: ReadEntry[];
  /** Every line that is not a well-formed, chained entry, in order. Reading never stops at the first. */
  problems: LogProblem[];
  /** Bytes of whole lines. */
  validBytes: number;
  /** Bytes of a torn final line (0 when none). */
  tornBytes: number;
  /** Problems beyond MAX_PROBLEMS, counted and not listed. */
  problemsLeftOut: number;
}

/** Most problems listed from one log; the rest are counted (a log of junk lines must not flood the output or the memory). */
const MAX_PROBLEMS = 200;

/** Largest audit log read: about a million runs. */
const MAX_LOG_BYTES = 1024 * 1024 * 1024;

/**
 * Reads runs/audit.jsonl under `root`. A missing file is an empty log. Every line is
 * checked (JSON, entry shape, seq, prev, hash) and each problem reported at its line;
 * after a broken link the chain is followed from the broken line on, so one edit is
 * reported once, not at every later line.
 * @throws EnvironmentError-like errno errors other than ENOENT.
 */
export async function readAuditLog(root: string): Promise<AuditLogRead> {
  const path = join(root, AUDIT_LOG);
  let bytes: Buffer;
  try {
    const info = await lstat(path);
    if (info.isSymbolicLink()) throw new AuditLogError(`${AUDIT_LOG} is a symbolic link: the log is a file steward writes, never a link`, "replace the link with the log file from Git");
    // A pipe would block the read forever, a folder cannot be read: only a regular file is a log.
    if (!info.isFile()) throw new AuditLogError(`${AUDIT_LOG} is not a regular file: the log is a file steward writes`, "replace it with the log file from Git");
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof AuditLogError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { path, entries: [], problems: [], validBytes: 0, tornBytes: 0, problemsLeftOut: 0 };
    if (code === "ENOTDIR") throw new AuditLogError(`runs/ is not a folder, so ${AUDIT_LOG} cannot be read`, "restore runs/ from Git");
    throw error;
  }
  if (bytes.length > MAX_LOG_BYTES) throw new AuditLogError(`${AUDIT_LOG} is larger than ${MAX_LOG_BYTES} bytes: not a log steward writes`);
  const entries: ReadEntry[] = [];
  const listed: LogProblem[] = [];
  let problemsLeftOut = 0;
  const problems = {
    push(p: LogProblem): void {
      if (listed.length < MAX_PROBLEMS) listed.push(p);
      else problemsLeftOut += 1;
    },
  };
  let start = 0;
  let line = 0;
  let prevHash = "";
  let expectSeq = 1;
  for (let end = bytes.indexOf(0x0a, start); end !== -1; end = bytes.indexOf(0x0a, start)) {
    line += 1;
    const text = bytes.subarray(start, end).toString("utf8");
    start = end + 1;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      problems.push({ line, message: "is not JSON: the log was edited or damaged" });
      continue;
    }
    const shape = entryProblem(value);
    if (shape !== null) {
      problems.push({ line, message: `${shape}: not an entry steward writes` });
      continue;
    }
    const entry = value as AuditEntry;
    let hash: string;
    let canonical: string;
    try {
      hash = entryHash(entry);
      canonical = entryLine(entry);
    } catch {
      // canonicalize recurses: a value nested thousands deep is no entry steward writes.
      problems.push({ line, message: "is nested too deeply: not an entry steward writes" });
      continue;
    }
    if (hash !== entry.hash) problems.push({ line, message: `entry seq ${entry.seq} (run ${entry.runId}) does not match its own hash: it was edited after it was written` });
    else if (canonical !== text) problems.push({ line, message: `entry seq ${entry.seq} (run ${entry.runId}) is not in canonical form: it was rewritten by hand` });
    if (entry.seq !== expectSeq) problems.push({ line, message: `entry seq ${entry.seq} (run ${entry.runId}) follows seq ${expectSeq - 1}: ${entry.seq > expectSeq ? `${entry.seq - expectSeq} entr${entry.seq - expectSeq === 1 ? "y was" : "ies were"} removed before it` : "an entry was repeated or moved"}` });
    if (entry.prev !== prevHash) problems.push({ line, message: `entry seq ${entry.seq} (run ${entry.runId}) does not chain to the entry before it (prev is not that entry's hash): an entry before it was removed, edited or moved` });
    entries.push({ line, entry, text });
    prevHash = entry.hash;
    expectSeq = entry.seq + 1;
  }
  return { path, entries, problems: listed, validBytes: start, tornBytes: bytes.length - start, problemsLeftOut };
}

/** How long an append waits for another process appending, at most. */
const LOCK_WAIT_MS = 60_000;

async function lockLog(root: string, runId: string): Promise<PlanLock> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      return await lockPlan(join(root, "runs"), "audit-log", { runId, root });
    } catch (error) {
      if (!(error instanceof PlanLockedError) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * Appends one entry for `body` to runs/audit.jsonl under `root`, chained to the last one.
 * @returns the entry written.
 * @throws AuditLogError when the log's last entry is damaged (the chain cannot be continued
 *   from it); EnvironmentError when the file cannot be written; PlanLockedError when another
 *   process held the log's lock for a minute.
 */
export async function appendAuditEntry(root: string, body: AuditBody): Promise<AuditEntry> {
  const lock = await lockLog(root, body.runId);
  try {
    const read = await readAuditLog(root);
    const last = read.entries.at(-1);
    if (read.problems.length > 0 && (last === undefined || read.problems.some((p) => p.line >= last.line))) {
      const p = read.problems.at(-1) as LogProblem;
      throw new AuditLogError(`${AUDIT_LOG} line ${p.line} ${p.message}; no entry can be chained after it, so run ${body.runId} is not recorded`);
    }
    const base = { ...body, seq: (last?.entry.seq ?? 0) + 1, prev: last?.entry.hash ?? "", ...(read.tornBytes > 0 ? { tornBytes: read.tornBytes } : {}) };
    const entry: AuditEntry = { ...base, hash: entryHash(base) };
    await ensureDirectory(dirname(read.path), root);
    let handle: FileHandle | undefined;
    try {
      // O_NOFOLLOW: a link planted at runs/audit.jsonl is refused, never written through.
      handle = await open(read.path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
      if (read.tornBytes > 0) await handle.truncate(read.validBytes);
      await handle.write(`${entryLine(entry)}\n`);
      await handle.sync();
    } catch (error) {
      throw writeFailure(error, read.path, "appending to the audit log");
    } finally {
      await handle?.close();
    }
    await syncFolder(dirname(read.path));
    return entry;
  } finally {
    await lock.release();
  }
}
