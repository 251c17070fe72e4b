/**
 * Facts snapshots read for their resources only: a reader mode for reports that use a
 * host's identity (host, takenAt, groups) and its disks, memory and load, and nothing
 * else of a line (the forecast). Where {@link readSnapshotDays} turns every line into a
 * record ({@link FactSnapshot}: a disk object per mount, an update object per pending
 * package, most of which such a report never looks at), this hands each value of a line
 * to a {@link ResourceSink} as it stands in the parsed row: no record, no object per
 * reading, times as epoch milliseconds.
 *
 * Every line is checked whole, under the full reader's rules and messages: the row's
 * length, identity and resources (snapshot-grammar.ts, resourceRowProblem), then its
 * other values (factsRowProblem: os, uptimeSeconds, bootId, rebootRequired, each
 * upgradable entry — an os, bootId or entry equal to the host's previous good line's is
 * not checked again); a row that breaks one is a problem named `file:line` and nothing
 * of it reaches the sink, so the forecast skips and names exactly the lines status and
 * trends do. A format-1 line (the record as an object: history written before format 2)
 * is checked whole, as the full reader checks it. Every other rule of the full reader
 * holds (./snapshots.ts): one file at a time in date order, lines of another day and a
 * second line of a host skipped and named, the range's ends compared to the instant.
 */
import { factsRowProblem, resourceRowProblem, type CheckedFacts } from "./snapshot-grammar.ts";
import { scanSnapshotFile, snapshotFiles, snapshotProblem, SnapshotLines, SnapshotReadBuffer, utcDay, type FactSnapshot, type SnapshotProblem, type SnapshotRange } from "./snapshots.ts";

/**
 * Receives the resources of each snapshot taken, in file (day) order, within a file by
 * line. For one snapshot, {@link ResourceSink.snapshot} comes first, then (when the
 * host was reachable) each disk in the line's order, then memory, then load. Sizes in
 * bytes; every value already checked (snapshot-grammar.ts).
 */
export interface ResourceSink {
  /**
   * A snapshot of `host` at `takenAt` (ISO 8601 UTC; `takenAtMs` the same instant in ms
   * since the epoch), its groups (the parsed array, not copied: the sink may keep it),
   * and whether the host could not be read (then no resource follows).
   */
  snapshot(host: string, takenAt: string, takenAtMs: number, groups: string[], unreachable: boolean): void;
  disk(mount: string, sizeBytes: number, usedBytes: number): void;
  memory(totalBytes: number, availableBytes: number): void;
  /** The load averages over one, five and fifteen minutes, and the CPU count. */
  load(one: number, five: number, fifteen: number, cpus: number): void;
}

/**
 * Reads every snapshot taken within `range` (inclusive) into `sink` (see the module
 * comment), at most one file in memory at a time. Bad files and lines are skipped and
 * reported to `options.onProblem` as `file:line`, never thrown.
 * @returns the files read (those with a day in the range).
 * @throws only what reading the folder or a file throws (a permission error).
 */
export async function readSnapshotResources(root: string, range: SnapshotRange, sink: ResourceSink, options: { onProblem?: (p: SnapshotProblem) => void } = {}): Promise<number> {
  const since = range.since?.getTime() ?? -Infinity;
  const until = range.until?.getTime() ?? Infinity;
  const firstDay = range.since === undefined ? "" : utcDay(range.since);
  const lastDay = range.until === undefined ? "9999-99-99" : utcDay(range.until);
  const buffer = new SnapshotReadBuffer();
  // Each host's last row that passed: its os, bootId and most update entries recur from day to day.
  const checked = new Map<string, CheckedFacts>();
  let files = 0;
  for (const f of await snapshotFiles(root, options.onProblem)) {
    if (f.day < firstDay || f.day > lastDay) continue;
    files++;
    const lines = new SnapshotLines(f.file, f.day, options.onProblem);
    // Every line is taken on the file's day (checked), so only a day at an end of the range needs its times compared.
    const ends = f.day === firstDay || f.day === lastDay;
    await scanSnapshotFile(f.path, lines, buffer, {
      row(row, n) {
        const reachable = row.length > 3;
        const before = reachable ? checked.get(row[0] as string) : undefined;
        const problem = resourceRowProblem(row) ?? (reachable ? factsRowProblem(row, before) : null);
        if (problem !== null) return lines.report(n, `${problem}; skipped`);
        if (reachable) {
          if (before === undefined) checked.set(row[0] as string, { os: row[3], bootId: row[8], upgradable: row[10] as unknown[] });
          else {
            before.os = row[3];
            before.bootId = row[8];
            before.upgradable = row[10] as unknown[];
          }
        }
        const host = row[0] as string;
        const takenAt = row[1] as string;
        const at = Date.parse(takenAt);
        if (!lines.admit(host, takenAt, n) || (ends && (at < since || at > until))) return;
        sink.snapshot(host, takenAt, at, row[2] as string[], !reachable);
        if (!reachable) return;
        const disks = row[4] as Array<[string, number, number]>;
        for (let i = 0; i < disks.length; i++) {
          const d = disks[i]!;
          sink.disk(d[0], d[1], d[2]);
        }
        const memory = row[5] as [number, number];
        sink.memory(memory[0], memory[1]);
        const load = row[6] as [number, number, number, number];
        sink.load(load[0], load[1], load[2], load[3]);
      },
      record(value, n) {
        const problem = snapshotProblem(value);
        if (problem !== null) return lines.report(n, `${problem}; skipped`);
        const s = value as FactSnapshot;
        const at = Date.parse(s.takenAt);
        if (!lines.admit(s.host, s.takenAt, n) || (ends && (at < since || at > until))) return;
        sink.snapshot(s.host, s.takenAt, at, s.groups, s.unreachable === true);
        if (s.unreachable === true) return;
        for (const d of s.disks ?? []) sink.disk(d.mount, d.sizeBytes, d.usedBytes);
        if (s.memory !== undefined) sink.memory(s.memory.totalBytes, s.memory.availableBytes);
        if (s.load !== undefined) sink.load(s.load.one, s.load.five, s.load.fifteen, s.load.cpus);
      },
    });
  }
  return files;
}
