/**
 * Facts snapshots: the compact daily record of what every host looked like, committed
 * under `facts/snapshots/<YYYY-MM-DD>.jsonl` by `steward facts --snapshot`, so trends,
 * forecasts and the age of pending updates can be computed from any clone.
 *
 * One file per UTC day of `takenAt`; one JSON line per host, sorted by host name; a host
 * that could not be read has a line saying so and no facts (a gap, never a silently
 * missing host). Two line formats, both read, in any mix within a file:
 * - format 1: the record ({@link FactSnapshot}) as one JSON object, `"v": 1`, an
 *   unreachable host's with `"unreachable": true` (what steward wrote before format 2;
 *   committed history stays readable);
 * - format 2, what `steward facts --snapshot` writes (src/facts/snapshot-line.ts): a
 *   header line naming the columns, then one JSON array of the record's values per host.
 * Both hold the same values under the same grammar (./snapshot-grammar.ts) and decode to
 * the same record.
 *
 * Reading treats every line as untrusted: a committed file may have been edited by
 * hand. A line that is not JSON or not a snapshot is a {@link SnapshotProblem} naming
 * `file:line`, and the reader goes on; it never throws on a bad line. A file holds one
 * line per host: a second line for the same host is such a problem (the first is kept).
 */
import { isUtf8 } from "node:buffer";
import { constants } from "node:fs";
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { SNAPSHOT_HEADER_LINE, SNAPSHOT_LINE_FORMAT } from "../../facts/snapshot-line.ts";
import { shown } from "../../drivers/untrusted.ts";
import { firstDuplicateKey } from "./json-row.ts";
import { decodeRow, snapshotProblem as grammarProblem } from "./snapshot-grammar.ts";

/**
 * The version of the record ({@link FactSnapshot}) and of format-1 lines, which are the
 * record written as it is. Format-2 rows (src/facts/snapshot-line.ts) decode to it too.
 */
export const SNAPSHOT_FORMAT = 1;

/** Where snapshots live, relative to the repository root. */
export const SNAPSHOTS_DIR = "facts/snapshots";

/** A snapshot file name: the UTC date of the snapshots it holds. */
export const SNAPSHOT_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

/** The update type of a pending package: `security` wins over its semver type. */
export type SnapshotUpdateType = "security" | "patch" | "minor" | "major";

/** One pending update as a snapshot records it. */
export interface SnapshotUpdate {
  name: string;
  from: string;
  to: string;
  type: SnapshotUpdateType;
}

/** One host at one moment: the record one line holds (format 1 as this object, format 2 as a row). Sizes in bytes. */
export interface FactSnapshot {
  v: typeof SNAPSHOT_FORMAT;
  host: string;
  /** ISO 8601 UTC. */
  takenAt: string;
  /** The host's inventory groups (direct and inherited), sorted. */
  groups: string[];
  /** Present only when the host could not be read: then no fact below is present. */
  unreachable?: true;
  /** `<id> <versionId>`, e.g. "debian 12". */
  os?: string;
  disks?: Array<{ mount: string; sizeBytes: number; usedBytes: number }>;
  memory?: { totalBytes: number; availableBytes: number };
  load?: { one: number; five: number; fifteen: number; cpus: number };
  uptimeSeconds?: number;
  bootId?: string;
  rebootRequired?: boolean;
  upgradable?: SnapshotUpdate[];
}

/** A line or file the reader skipped, and why. `file` is relative to the repository root. */
export interface SnapshotProblem {
  file: string;
  /** 1-based; 0 for a problem with the whole file. */
  line: number;
  message: string;
}

/** The time range of a read; both ends inclusive, either open. */
export interface SnapshotRange {
  since?: Date;
  until?: Date;
}

/** Largest snapshot file read: 1,000 hosts with 200 pending updates each fit many times over. */
export const MAX_SNAPSHOT_FILE_BYTES = 256 * 1024 * 1024;
/** Longest line read (one host), in bytes. */
export const MAX_SNAPSHOT_LINE = 4 * 1024 * 1024;

/**
 * What is wrong with a parsed line as a snapshot, or null when it is one: the format
 * version, every member's type, and the grammar of every value a host reported
 * (./snapshot-grammar.ts names each rule and its source).
 */
export function snapshotProblem(value: unknown): string | null {
  return grammarProblem(value, SNAPSHOT_FORMAT);
}

/** The UTC date (YYYY-MM-DD) of an instant. */
export function utcDay(at: Date | string): string {
  return (typeof at === "string" ? at : at.toISOString()).slice(0, 10);
}

/**
 * The snapshot files of a repository with their dates, oldest first; [] when there is
 * no snapshot folder. A `.jsonl` file (any case) whose name is not a real UTC date
 * `<YYYY-MM-DD>.jsonl` (`2026-10-1.jsonl`, `2026-13-45.jsonl`, `x.JSONL`) is named to
 * `onProblem` and skipped: a mistyped name must not drop a day silently. Other files
 * (a README, `.gitkeep`) are not snapshots and are left alone.
 * @throws nothing for a missing folder; a folder that is a link is reported as a problem.
 */
export async function snapshotFiles(root: string, onProblem?: (p: SnapshotProblem) => void): Promise<Array<{ day: string; path: string; file: string }>> {
  const dir = join(root, SNAPSHOTS_DIR);
  try {
    const info = await lstat(dir);
    if (!info.isDirectory()) {
      onProblem?.({ file: SNAPSHOTS_DIR, line: 0, message: `is ${info.isSymbolicLink() ? "a symbolic link" : "not a folder"}; snapshots are read only from a folder in the repository` });
      return [];
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const names = await readdir(dir);
  const realDay = (day: string): boolean => {
    const at = Date.parse(`${day}T00:00:00Z`);
    return Number.isFinite(at) && new Date(at).toISOString().slice(0, 10) === day;
  };
  return names
    .map((name) => ({ name, m: SNAPSHOT_FILE.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => {
      if (x.m !== null && realDay(x.m[1]!)) return true;
      if (/\.jsonl$/i.test(x.name)) onProblem?.({ file: `${SNAPSHOTS_DIR}/${x.name}`, line: 0, message: x.m !== null ? `is named for ${x.m[1]}, which is not a calendar date; skipped (rename it to the UTC date it holds, <YYYY-MM-DD>.jsonl)` : "is not named <YYYY-MM-DD>.jsonl (the UTC date it holds); skipped (rename it)" });
      return false;
    })
    .map(({ name, m }) => ({ day: m[1]!, path: join(dir, name), file: `${SNAPSHOTS_DIR}/${name}` }))
    .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}

/**
 * A buffer a reader reuses from file to file: a year of snapshots read into a fresh
 * buffer and decoded into one string per file cost about as much CPU as parsing them
 * (fresh memory for every file, most of it page faults), where one buffer grown to the
 * largest file and a string per line cost a tenth of it.
 */
export class SnapshotReadBuffer {
  bytes = Buffer.allocUnsafe(1 << 20);
}

/**
 * Reads one snapshot file's lines as snapshots: format-1 lines (one JSON object each)
 * and format-2 rows under the file's header (src/facts/snapshot-line.ts), in any mix.
 * Problems (not a regular file, too large, a bad line, a row before a header, a line
 * dated another day, a second line for a host already read) go to `onProblem`; the good
 * lines are returned. `buffer` is reused across calls when given.
 */
export async function readSnapshotFile(path: string, file: string, day: string, onProblem?: (p: SnapshotProblem) => void, buffer = new SnapshotReadBuffer()): Promise<FactSnapshot[]> {
  const out: FactSnapshot[] = [];
  const lines = new SnapshotLines(file, day, onProblem);
  const take = (snapshot: FactSnapshot, n: number): void => {
    if (lines.admit(snapshot.host, snapshot.takenAt, n)) out.push(snapshot);
  };
  await scanSnapshotFile(path, lines, buffer, {
    row(value, n) {
      const row = decodeRow(value);
      if (typeof row === "string") lines.report(n, `${row}; skipped`);
      else take(row, n);
    },
    record(value, n) {
      const problem = snapshotProblem(value);
      if (problem !== null) lines.report(n, `${problem}; skipped`);
      else take(value as FactSnapshot, n);
    },
  });
  return out;
}

/**
 * The checks every reader of one file shares, whatever it decodes of a line: problems
 * named `file:line`, every line taken on the file's day, one line per host.
 */
export class SnapshotLines {
  readonly file: string;
  readonly day: string;
  readonly #onProblem: ((p: SnapshotProblem) => void) | undefined;
  // Line of each host already read: a second line for a host (a hand edit or a bad merge)
  // is named and left out, the first kept, never silently preferred.
  readonly #seen = new Map<string, number>();

  constructor(file: string, day: string, onProblem?: (p: SnapshotProblem) => void) {
    this.file = file;
    this.day = day;
    this.#onProblem = onProblem;
  }

  /** Reports a problem with line `line` (0: the whole file). */
  report(line: number, message: string): void {
    this.#onProblem?.({ file: this.file, line, message });
  }

  /**
   * Whether line `n`, already checked (host a host name, takenAt ISO 8601 UTC), is
   * taken: it is dated the file's day and is the first line of its host. Otherwise
   * the problem is reported and false returned.
   */
  admit(host: string, takenAt: string, n: number): boolean {
    if (!takenAt.startsWith(this.day)) {
      this.report(n, `was taken on ${utcDay(takenAt)}, not on the file's day; skipped`);
      return false;
    }
    const firstLine = this.#seen.get(host);
    if (firstLine !== undefined) {
      this.report(n, `is a second line for host ${JSON.stringify(host)} (first on line ${firstLine}); skipped`);
      return false;
    }
    this.#seen.set(host, n);
    return true;
  }
}

/** What {@link scanSnapshotFile} hands over of each line; both are still to be checked against the grammar. */
export interface SnapshotLineHandler {
  /**
   * Offered first each line that starts with `[` under the file's good header, as bytes
   * (`bytes[start, end)`, without the newline), before any parse: true when the handler
   * took the line whole (read it, or reported its problem), false to have it parsed and
   * handed to {@link SnapshotLineHandler.row} as usual.
   */
  rawRow?(bytes: Buffer, start: number, end: number, n: number): boolean;
  /** A format-2 row (a JSON array) under the file's good header, on line `n` (1-based). */
  row(row: unknown[], n: number): void;
  /** Any other JSON value that is not a format-2 header nor of a format steward does not read: a format-1 line to check. */
  record(value: unknown, n: number): void;
}

/**
 * The line loop every snapshot reader shares: reads the file whole into `buffer` and
 * hands each line, parsed once, to `handler`. Problems with the file or the line itself
 * (not a regular file, too large, a line too long or not JSON, a row before a header, a
 * header that is not format 2's, an unknown format) go to `lines.report`; never throws
 * for the file's content.
 */
export async function scanSnapshotFile(path: string, lines: SnapshotLines, buffer: SnapshotReadBuffer, handler: SnapshotLineHandler): Promise<void> {
  const info = await lstat(path);
  if (!info.isFile()) {
    lines.report(0, `is ${info.isSymbolicLink() ? "a symbolic link" : "not a regular file"}; skipped`);
    return;
  }
  if (info.size > MAX_SNAPSHOT_FILE_BYTES) {
    lines.report(0, `is larger than ${MAX_SNAPSHOT_FILE_BYTES} bytes; skipped`);
    return;
  }
  const length = await readInto(path, buffer);
  if (length === undefined) {
    lines.report(0, `is no longer a regular file of at most ${MAX_SNAPSHOT_FILE_BYTES} bytes; skipped`);
    return;
  }
  const bytes = buffer.bytes;
  let header = false;
  // The line of the last header that was not format 2's, when the rows now follow it (0: none).
  let badHeader = 0;
  // One pass over the bytes: each line found by indexOf, decoded on its own and parsed
  // once (no split, no string of the whole file); a bad line costs nothing extra to name.
  // A byte-order mark (an editor's, U+FEFF in UTF-8) before the first line is not part of it.
  let start = length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let n = 1; start < length; n++) {
    let end = bytes.indexOf(10, start);
    if (end === -1 || end > length) end = length;
    const size = end - start;
    const first = bytes[start];
    const lineStart = start;
    start = end + 1;
    if (size > MAX_SNAPSHOT_LINE) {
      lines.report(n, `is longer than ${MAX_SNAPSHOT_LINE} bytes; skipped`);
      continue;
    }
    if (size === 0) continue;
    if (first === 91 && header && handler.rawRow !== undefined && handler.rawRow(bytes, lineStart, end, n)) continue;
    // Text that is not UTF-8 would be read with U+FFFD for its bad bytes: two different committed values could read the same.
    if (!isUtf8(bytes.subarray(lineStart, end))) {
      lines.report(n, "is not UTF-8 text; skipped");
      continue;
    }
    const line = bytes.toString("utf8", lineStart, end);
    if (first !== 123 && first !== 91 && line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      lines.report(n, "is not JSON; skipped");
      continue;
    }
    if (Array.isArray(value)) {
      if (header) handler.row(value, n);
      else lines.report(n, badHeader > 0 ? `is a format-${SNAPSHOT_LINE_FORMAT} row under the bad header of line ${badHeader}; skipped` : `is a format-${SNAPSHOT_LINE_FORMAT} row before the file's header line; skipped`);
      continue;
    }
    // A member twice (JSON.parse kept the last, a reviewer of the diff may read the first) is named before the line is read as anything, a header included.
    const twice = firstDuplicateKey(bytes, lineStart, end);
    if (twice !== null) {
      lines.report(n, `has the member ${shown(twice.slice(0, 40))} twice (a reader keeps the last, a reviewer may read the first); skipped`);
      continue;
    }
    const format = (value as { v?: unknown } | null)?.v;
    if (format === SNAPSHOT_LINE_FORMAT) {
      header = JSON.stringify(value) === SNAPSHOT_HEADER_LINE;
      badHeader = header ? 0 : n;
      if (!header) lines.report(n, `is not the format-${SNAPSHOT_LINE_FORMAT} header line (${SNAPSHOT_HEADER_LINE.slice(0, 60)}…); the rows after it are read only under a good header; skipped`);
      continue;
    }
    if (format !== undefined && format !== SNAPSHOT_FORMAT && typeof format === "number") {
      lines.report(n, `has format ${JSON.stringify(format)}; steward reads formats ${SNAPSHOT_FORMAT} and ${SNAPSHOT_LINE_FORMAT}; skipped`);
      continue;
    }
    handler.record(value, n);
  }
}

/**
 * Reads a regular file whole into `buffer` (grown as needed), returning its length, or
 * undefined when it is not a regular file once opened or grows past the largest read.
 */
async function readInto(path: string, buffer: SnapshotReadBuffer): Promise<number | undefined> {
  // No link followed; a FIFO swapped in since the caller's lstat must not block the open (O_NONBLOCK, open(2)).
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_SNAPSHOT_FILE_BYTES) return undefined;
    if (buffer.bytes.length < info.size + 1) buffer.bytes = Buffer.allocUnsafe(Math.min(MAX_SNAPSHOT_FILE_BYTES + 1, Math.max(info.size + 1, buffer.bytes.length * 2)));
    let length = 0;
    for (;;) {
      if (length === buffer.bytes.length) {
        if (length > MAX_SNAPSHOT_FILE_BYTES) return undefined;
        const grown = Buffer.allocUnsafe(Math.min(MAX_SNAPSHOT_FILE_BYTES + 1, length * 2));
        buffer.bytes.copy(grown, 0, 0, length);
        buffer.bytes = grown;
      }
      const { bytesRead } = await handle.read(buffer.bytes, length, buffer.bytes.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return length > MAX_SNAPSHOT_FILE_BYTES ? undefined : length;
  } finally {
    await handle.close();
  }
}

/**
 * Every snapshot taken within `range` (inclusive), file by file in date order and, within
 * a day, by host name; at most one file is held in memory at a time. Bad files and lines
 * are skipped and reported to `options.onProblem` as `file:line` (never thrown).
 */
export async function* readSnapshots(root: string, range: SnapshotRange = {}, options: { onProblem?: (p: SnapshotProblem) => void } = {}): AsyncIterable<FactSnapshot> {
  for await (const day of readSnapshotDays(root, range, options)) yield* day;
}

/**
 * The same snapshots as {@link readSnapshots}, one day (one file) at a time: a report
 * loops over each day's lines synchronously, without an await per line (365,000 of
 * them in a year of a thousand hosts). Days with no line in the range are not yielded.
 */
export async function* readSnapshotDays(root: string, range: SnapshotRange = {}, options: { onProblem?: (p: SnapshotProblem) => void } = {}): AsyncIterable<FactSnapshot[]> {
  yield* snapshotDaysOf(root, range, options, readSnapshotFile);
}

/**
 * A reader of one snapshot file's good lines (as {@link readSnapshotFile} reads them,
 * or a projection of them): path, name relative to the root, the file's day, where
 * problems go, the buffer to reuse.
 */
export type SnapshotFileReader<T> = (path: string, file: string, day: string, onProblem: ((p: SnapshotProblem) => void) | undefined, buffer: SnapshotReadBuffer) => Promise<T[]>;

/**
 * The day loop {@link readSnapshotDays} and the projections of the same lines share:
 * the files of `range`'s days in date order, each read by `read`, the lines of a day at
 * an end of the range kept only when taken within it. Days with no line kept are not yielded.
 */
export async function* snapshotDaysOf<T extends { takenAt: string }>(root: string, range: SnapshotRange, options: { onProblem?: (p: SnapshotProblem) => void }, read: SnapshotFileReader<T>): AsyncIterable<T[]> {
  const since = range.since?.getTime() ?? -Infinity;
  const until = range.until?.getTime() ?? Infinity;
  const firstDay = range.since === undefined ? "" : utcDay(range.since);
  const lastDay = range.until === undefined ? "9999-99-99" : utcDay(range.until);
  const buffer = new SnapshotReadBuffer();
  for (const f of await snapshotFiles(root, options.onProblem)) {
    if (f.day < firstDay || f.day > lastDay) continue;
    let lines = await read(f.path, f.file, f.day, options.onProblem, buffer);
    // Every line is taken on the file's day (checked), so only a day at an end of the range needs its times compared.
    if (f.day === firstDay || f.day === lastDay) {
      lines = lines.filter((s) => {
        const at = Date.parse(s.takenAt);
        return at >= since && at <= until;
      });
    }
    if (lines.length > 0) yield lines;
  }
}
