/**
 * Facts snapshots read for pending updates: a reader mode for the reports that use a
 * host's identity (host, takenAt, groups), its reboot flag and the updates it lists as
 * upgradable, and nothing else of a line (`steward report status` and `trends`). Where
 * {@link readSnapshotDays} turns every line into a whole record (a disk object per
 * mount, memory, load…), this checks a format-2 row from its bytes (./json-row.ts,
 * ./row-bytes.ts) and decodes only those values, and reads a host's upgradable list once
 * for as long as its bytes stay the same from line to line: the same list object is
 * handed on (a pending set changes on about half of the days in a fleet's year; a
 * tracker can take an unchanged one without looking into it).
 *
 * Every line is checked whole, under exactly the full reader's rules: the bytes path
 * accepts only rows in the writer's plain form whose every value keeps its grammar, and
 * hands any other row to the full reader's check (decodeRow, ./snapshot-grammar.ts), so
 * the lines taken and the problems named (`file:line`) are the full reader's. A format-1
 * line (the record as an object) is checked as the full reader checks it. Every other
 * rule of the full reader holds (./snapshots.ts): one file at a time in date order, a
 * line of another day and a second line of a host skipped and named, the range's ends
 * compared to the instant.
 */
import { RowSlices } from "./json-row.ts";
import { splitWriterRow } from "./row-bytes.ts";
import { decodeRow, decodeUpdates, groupsProblem, identityProblem, isBootId, isOs, ROW_LENGTH, UNREACHABLE_ROW_LENGTH, type PendingRow } from "./snapshot-grammar.ts";
import { scanSnapshotFile, snapshotDaysOf, snapshotProblem, SnapshotLines, SnapshotReadBuffer, type FactSnapshot, type SnapshotProblem, type SnapshotRange, type SnapshotUpdate } from "./snapshots.ts";

/**
 * One snapshot as these reports take it. `upgradable` (reachable hosts only) is shared:
 * the same array as the host's previous line's when its bytes were the same, so it must
 * not be changed. A {@link FactSnapshot} is one too.
 */
export type PendingSnapshot = Readonly<PendingRow>;

/**
 * The state one read keeps across files: each host's last groups and upgradable list
 * with their bytes, so a value unchanged since the host's previous line is neither
 * decoded nor checked again (compared byte for byte, without making a string of it).
 */
class PendingReadState {
  readonly slices = new RowSlices();
  readonly hosts = new Map<string, KeptHost>();
}

/** What a read remembers of a host's last good row: values with the bytes they were read from. */
interface KeptHost {
  groupBytes: Buffer;
  groups: string[];
  updateBytes: Buffer;
  upgradable: SnapshotUpdate[];
  /** The os and bootId values' bytes (quotes included), which passed their rules. */
  osBytes: Buffer;
  bootIdBytes: Buffer;
}

/**
 * Whether `bytes[start, end)` holds exactly the bytes of `kept`. A loop: the values
 * compared are tens of bytes, where Buffer#compare's argument checks cost more than the
 * comparison.
 */
function sameBytes(kept: Buffer, bytes: Buffer, start: number, end: number): boolean {
  const length = kept.length;
  if (length !== end - start) return false;
  for (let i = 0; i < length; i++) if (kept[i] !== bytes[start + i]) return false;
  return true;
}

/** A copy of `bytes[start, end)` to keep (the read buffer is reused for the next file). */
function copyOf(bytes: Buffer, start: number, end: number): Buffer {
  return Buffer.from(bytes.subarray(start, end));
}

/** What these reports take of a whole (checked) record. */
function pendingOf(s: FactSnapshot): PendingSnapshot {
  return s.unreachable === true ? { host: s.host, takenAt: s.takenAt, groups: s.groups, unreachable: true } : { host: s.host, takenAt: s.takenAt, groups: s.groups, rebootRequired: s.rebootRequired!, upgradable: s.upgradable! };
}

/**
 * Reads one file's lines as {@link PendingSnapshot}s (see the module comment); problems
 * go to `onProblem` as `file:line`, never thrown.
 */
async function readPendingFile(state: PendingReadState, path: string, file: string, day: string, onProblem: ((p: SnapshotProblem) => void) | undefined, buffer: SnapshotReadBuffer): Promise<PendingSnapshot[]> {
  const out: PendingSnapshot[] = [];
  const lines = new SnapshotLines(file, day, onProblem);
  const take = (s: PendingSnapshot, n: number): void => {
    if (lines.admit(s.host, s.takenAt, n)) out.push(s);
  };
  await scanSnapshotFile(path, lines, buffer, {
    rawRow(bytes, start, end, n) {
      const s = fastRow(state, bytes, start, end);
      if (s === undefined) return false;
      take(s, n);
      return true;
    },
    row(value, n) {
      const s = decodeRow(value);
      if (typeof s === "string") lines.report(n, `${s}; skipped`);
      else take(pendingOf(s), n);
    },
    record(value, n) {
      const problem = snapshotProblem(value);
      if (problem !== null) return lines.report(n, `${problem}; skipped`);
      take(pendingOf(value as FactSnapshot), n);
    },
  });
  return out;
}

/**
 * The row at `bytes[start, end)` read from its bytes, or undefined when it is anything
 * but a good row of the writer's plain form (not split as JSON, a name or time with an
 * escape or a non-ASCII byte, a value that breaks its rule): the caller then parses it
 * and {@link pendingRow} judges it, naming the problem. Changes nothing of `state` but
 * its memories of values that passed.
 */
function fastRow(state: PendingReadState, bytes: Buffer, start: number, end: number): PendingSnapshot | undefined {
  const v = state.slices;
  // The writer's plain form, split and its disks, memory, load and uptime checked in one pass; any other row is judged in full by the caller.
  if (!splitWriterRow(bytes, start, end, v)) return undefined;
  const count = v.count;
  if ((count !== ROW_LENGTH && count !== UNREACHABLE_ROW_LENGTH) || !v.isPlain(0) || !v.isPlain(1)) return undefined;
  const host = bytes.toString("latin1", v.starts[0]! + 1, v.ends[0]! - 1);
  const takenAt = bytes.toString("latin1", v.starts[1]! + 1, v.ends[1]! - 1);
  if (identityProblem(host, takenAt, []) !== null) return undefined;
  const kept = state.hosts.get(host);
  let groups = kept?.groups;
  const groupStart = v.starts[2]!;
  const groupEnd = v.ends[2]!;
  const sameGroups = kept !== undefined && sameBytes(kept.groupBytes, bytes, groupStart, groupEnd);
  if (!sameGroups) {
    const parsed: unknown = JSON.parse(bytes.toString("utf8", groupStart, groupEnd));
    if (groupsProblem(parsed) !== null) return undefined;
    groups = parsed as string[];
  }
  if (count === UNREACHABLE_ROW_LENGTH) {
    if (kept !== undefined && !sameGroups) {
      kept.groupBytes = copyOf(bytes, groupStart, groupEnd);
      kept.groups = groups!;
    }
    return { host, takenAt, groups: groups!, unreachable: true };
  }
  // os and bootId: plain strings, unchanged since the host's last good row or keeping their rules.
  const osStart = v.starts[3]!;
  const osEnd = v.ends[3]!;
  const sameOs = kept !== undefined && sameBytes(kept.osBytes, bytes, osStart, osEnd);
  if (!sameOs && (!v.isPlain(3) || !isOs(bytes.toString("latin1", osStart + 1, osEnd - 1)))) return undefined;
  const bootStart = v.starts[8]!;
  const bootEnd = v.ends[8]!;
  const sameBoot = kept !== undefined && sameBytes(kept.bootIdBytes, bytes, bootStart, bootEnd);
  if (!sameBoot && (!v.isPlain(8) || !isBootId(bytes.toString("latin1", bootStart + 1, bootEnd - 1)))) return undefined;
  // rebootRequired: the literal true or false (the split checked it is JSON).
  const rebootStart = v.starts[9]!;
  const rebootLength = v.ends[9]! - rebootStart;
  const reboot = rebootLength === 4 && bytes[rebootStart] === 0x74;
  if (!reboot && !(rebootLength === 5 && bytes[rebootStart] === 0x66)) return undefined;
  const updateStart = v.starts[10]!;
  const updateEnd = v.ends[10]!;
  let upgradable = kept?.upgradable;
  const sameUpdates = kept !== undefined && sameBytes(kept.updateBytes, bytes, updateStart, updateEnd);
  if (!sameUpdates) {
    const decoded = decodeUpdates(JSON.parse(bytes.toString("utf8", updateStart, updateEnd)));
    if (typeof decoded === "string") return undefined;
    upgradable = decoded;
  }
  // Remembered only once the whole row passed: what is kept was checked.
  if (kept === undefined) state.hosts.set(host, { groupBytes: copyOf(bytes, groupStart, groupEnd), groups: groups!, updateBytes: copyOf(bytes, updateStart, updateEnd), upgradable: upgradable!, osBytes: copyOf(bytes, osStart, osEnd), bootIdBytes: copyOf(bytes, bootStart, bootEnd) });
  else {
    if (!sameGroups) {
      kept.groupBytes = copyOf(bytes, groupStart, groupEnd);
      kept.groups = groups!;
    }
    if (!sameUpdates) {
      kept.updateBytes = copyOf(bytes, updateStart, updateEnd);
      kept.upgradable = upgradable!;
    }
    if (!sameOs) kept.osBytes = copyOf(bytes, osStart, osEnd);
    if (!sameBoot) kept.bootIdBytes = copyOf(bytes, bootStart, bootEnd);
  }
  return { host, takenAt, groups: groups!, rebootRequired: reboot, upgradable: upgradable! };
}

/**
 * The snapshots taken within `range` (inclusive) as {@link PendingSnapshot}s, one day
 * (one file) at a time, oldest first, within a day by line (see the module comment);
 * at most one file in memory at a time. Bad files and lines are skipped and reported to
 * `options.onProblem` as `file:line`, never thrown.
 * @throws only what reading the folder or a file throws (a permission error).
 */
export function readPendingSnapshotDays(root: string, range: SnapshotRange = {}, options: { onProblem?: (p: SnapshotProblem) => void } = {}): AsyncIterable<PendingSnapshot[]> {
  const state = new PendingReadState();
  return snapshotDaysOf(root, range, options, (path, file, day, onProblem, buffer) => readPendingFile(state, path, file, day, onProblem, buffer));
}
