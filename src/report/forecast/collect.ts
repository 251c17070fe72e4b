/**
 * The series a forecast fits, gathered from facts snapshots as they stream by (core's
 * readSnapshots): per host, each mount's disk usage, memory in use and load.
 *
 * Memory is bounded by the series, never by the snapshots: each series keeps at most one
 * point per UTC day — the median of that day's readings (snapshots are daily, so this is
 * normally the one reading of the day; a hand-edited file with two lines of a host gives
 * their median) — in two growable Float64Arrays (time in ms, level) and its capacity, one
 * number while it does not change (a third column from the first point where it does):
 * 16 bytes a day, about 23 MB for 1,000 hosts × 4 series × 365 days, and no object per
 * reading. Columns are cut from shared chunks (ColumnRoom), not allocated one by one.
 * A reading that cannot be fitted (trend.ts, readingProblem: a zero capacity, more used
 * than the size, available above the total…) is not kept: it is counted by reason, and
 * the fit reports those counts like its own. Unreachable days are gaps: counted, never
 * readings.
 */
import { readSnapshotResources, type ResourceSink } from "../history/snapshot-columns.ts";
import type { FactSnapshot, SnapshotProblem, SnapshotRange } from "../history/snapshots.ts";
import { loadCapacity, memoryInUse, type ResourceKind } from "./resources.ts";
import { readingProblem, type TrendPoint } from "./trend.ts";

const DAY_MS = 86_400_000;
/** Most points a series makes room for before its first reading (16 bytes each). */
const MAX_INITIAL_POINTS = 400;

/**
 * One series: at most one point per UTC day, in time order, as columns. Readings must
 * come in time order (readSnapshots streams day by day); a reading older than the last
 * kept day is counted as rejected rather than reordering the columns.
 */
export class DailySeries {
  readonly kind: ResourceKind;
  t: Float64Array<ArrayBuffer>;
  value: Float64Array<ArrayBuffer>;
  /**
   * The capacity of each point: one number while every point kept has the same (a
   * disk's size, the memory total, the CPUs rarely change: no column is written for
   * them), a column like `t` once a point's differs; NaN before the first point.
   */
  capacity: Float64Array<ArrayBuffer> | number = Number.NaN;
  /** Points kept (completed days, plus the open day's readings until it is closed). */
  length = 0;
  /** Readings not kept, by reason (see readingProblem). */
  readonly rejected = new Map<string, number>();
  /**
   * The capacity of the latest reading whose capacity is a positive finite number, kept
   * or not (0 when none): the real size of a disk whose every reading was refused, so the
   * report shows that size rather than a capacity of 0.
   */
  lastCapacity = 0;
  #lastCapacityAt = Number.NEGATIVE_INFINITY;
  /** Index of the first reading of the open (latest) day; its day number. */
  #dayStart = 0;
  #day = Number.NEGATIVE_INFINITY;

  /**
   * @param capacity points room is made for at first (grown by doubling past it): the
   * days of the range read, so a series is allocated once rather than grown (each growth
   * is three new typed arrays, measured at a quarter of a second over 4,000 series); at
   * most {@link MAX_INITIAL_POINTS}, so a long range over sparse snapshots reserves no
   * more than a year and a month per series.
   * @param room where the first columns are cut from (a collector's, shared by its series); by default their own.
   */
  constructor(kind: ResourceKind, capacity = 64, room: ColumnRoom = new ColumnRoom(0)) {
    this.kind = kind;
    const size = Math.max(1, Math.min(Math.ceil(capacity), MAX_INITIAL_POINTS));
    this.t = room.take(size);
    this.value = room.take(size);
  }

  /** Adds one reading: `value` of `capacity` at `tMs` (ms since the epoch). */
  push(tMs: number, value: number, capacity: number): void {
    const problem = readingProblem(tMs, value, capacity, this.kind !== "load");
    if (Number.isFinite(capacity) && capacity > 0 && tMs >= this.#lastCapacityAt) {
      this.lastCapacity = capacity;
      this.#lastCapacityAt = tMs;
    }
    const day = Math.floor(tMs / DAY_MS);
    if (problem !== null || day < this.#day) {
      const reason = problem ?? "older than a reading already kept";
      this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
      return;
    }
    if (day !== this.#day) {
      this.#closeDay();
      this.#day = day;
      this.#dayStart = this.length;
    }
    if (this.length === this.t.length) this.#grow();
    this.t[this.length] = tMs;
    this.value[this.length] = value;
    const column = this.capacity;
    if (typeof column !== "number") column[this.length] = capacity;
    else if (this.length === 0 || capacity === column) this.capacity = capacity;
    else {
      // The first point of another capacity: from now on a column.
      const all = new Float64Array(this.t.length);
      all.fill(column, 0, this.length);
      all[this.length] = capacity;
      this.capacity = all;
    }
    this.length += 1;
  }

  /**
   * Closes the open day (its readings become one point) and returns the points kept:
   * then `t`, `value` and `capacity` (see {@link DailySeries.capacityAt}) up to that
   * length are the daily series, for fitting (trend.ts, fitTrendColumns) or charting
   * without an object per point.
   */
  settle(): number {
    this.#closeDay();
    return this.length;
  }

  /** The points for fitting (one per day), as TrendPoints; built on demand, not kept. */
  points(): TrendPoint[] {
    this.#closeDay();
    const out: TrendPoint[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = { t: new Date(this.t[i]!), value: this.value[i]!, capacity: this.capacityAt(i) };
    return out;
  }

  /** The capacity of point `i` (< length). */
  capacityAt(i: number): number {
    const column = this.capacity;
    return typeof column === "number" ? column : column[i]!;
  }

  /** The rejected readings as a fit reports them (reason, count). */
  rejections(): Array<{ reason: string; count: number }> {
    return [...this.rejected].map(([reason, count]) => ({ reason, count }));
  }

  /** Collapses the open day's readings into one point: median time and level, the last capacity. */
  #closeDay(): void {
    const n = this.length - this.#dayStart;
    if (n <= 1) return;
    const s = this.#dayStart;
    this.t[s] = median(this.t.subarray(s, this.length));
    this.value[s] = median(this.value.subarray(s, this.length));
    const column = this.capacity;
    if (typeof column !== "number") column[s] = column[this.length - 1]!;
    this.length = s + 1;
  }

  #grow(): void {
    const size = this.t.length * 2;
    const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.t = grow(this.t);
    this.value = grow(this.value);
    if (typeof this.capacity !== "number") this.capacity = grow(this.capacity);
  }
}

/**
 * Room the columns of many series are cut from: one ArrayBuffer for hundreds of series
 * rather than three each. Twelve thousand small typed arrays (a year of 1,000 hosts)
 * each cost an allocation of their own and a buffer for the collector to track, measured
 * at a tenth of a second; cut from shared chunks they cost a view each. Memory is the
 * same (a chunk is only touched where its columns are written).
 */
export class ColumnRoom {
  readonly #chunkValues: number;
  #chunk = new Float64Array(0);
  #used = 0;

  /** @param chunkValues values per shared chunk (0: every column its own buffer). */
  constructor(chunkValues = 1 << 18) {
    this.#chunkValues = chunkValues;
  }

  /** A zeroed column of `size` values. */
  take(size: number): Float64Array<ArrayBuffer> {
    if (size > this.#chunkValues) return new Float64Array(size);
    if (this.#used + size > this.#chunk.length) {
      this.#chunk = new Float64Array(this.#chunkValues);
      this.#used = 0;
    }
    const column = this.#chunk.subarray(this.#used, this.#used + size);
    this.#used += size;
    return column;
  }
}

function median(values: Float64Array): number {
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Everything recorded about one host in the range. */
export interface HostSeries {
  host: string;
  /** Groups from the latest snapshot. */
  groups: string[];
  /** Used bytes of each mount's size. */
  disks: Map<string, DailySeries>;
  /** Bytes in use (total − available) of the total. */
  memory: DailySeries;
  /** Fifteen-minute load of the CPU count. */
  load: DailySeries;
  /** Snapshots read, and those that said the host was unreachable. */
  snapshots: number;
  unreachable: number;
  /** ISO 8601 UTC of the latest reading (reachable), "" when none. */
  lastReading: string;
}

/** The series of every host, by host name, and how many snapshots were read. */
export interface CollectedSeries {
  hosts: Map<string, HostSeries>;
  snapshots: number;
  /** Distinct UTC days with a snapshot. */
  days: number;
}

/**
 * Reads every snapshot once (one at a time, or a day's at a time: readSnapshotDays),
 * keeping only the daily series forecasts fit (see the module comment). `spanDays`:
 * the days the snapshots span at most (the range read), the room each series is made with.
 */
export async function collectSeries(snapshots: AsyncIterable<FactSnapshot | readonly FactSnapshot[]>, spanDays = 64): Promise<CollectedSeries> {
  const collector = new SeriesCollector(spanDays);
  for await (const item of snapshots) for (const s of Array.isArray(item) ? (item as readonly FactSnapshot[]) : [item as FactSnapshot]) {
    collector.snapshot(s.host, s.takenAt, Date.parse(s.takenAt), s.groups, s.unreachable === true);
    if (s.unreachable === true) continue;
    for (const d of s.disks ?? []) collector.disk(d.mount, d.sizeBytes, d.usedBytes);
    if (s.memory !== undefined) collector.memory(s.memory.totalBytes, s.memory.availableBytes);
    if (s.load !== undefined) collector.load(s.load.one, s.load.five, s.load.fifteen, s.load.cpus);
  }
  return collector.collected();
}

/**
 * The series of every snapshot of `root` within `range`, read for their resources only
 * (readSnapshotResources: no record or object per reading on the way to the columns).
 * `spanDays` as for {@link collectSeries}; problems go to `onProblem`.
 */
export async function collectSnapshotSeries(root: string, range: SnapshotRange, spanDays: number, onProblem?: (p: SnapshotProblem) => void): Promise<CollectedSeries> {
  const collector = new SeriesCollector(spanDays);
  await readSnapshotResources(root, range, collector, onProblem === undefined ? {} : { onProblem });
  return collector.collected();
}

/**
 * Builds the series as snapshots are handed to it (a ResourceSink: each value once, in
 * time order). Each reading is turned into its level and capacity by the rules of
 * resources.ts (diskLevel, memoryInUse, loadCapacity) and pushed to its series.
 */
export class SeriesCollector implements ResourceSink {
  readonly #hosts = new Map<string, HostSeries>();
  readonly #spanDays: number;
  #snapshots = 0;
  readonly #days = new Set<string>();
  #day = "";
  /** The host of the snapshot being read, and its time in ms. */
  #host: HostSeries | undefined;
  #t = 0;
  /** The columns of every series, cut from shared chunks. */
  readonly #room = new ColumnRoom();

  constructor(spanDays = 64) {
    this.#spanDays = spanDays;
  }

  snapshot(host: string, takenAt: string, takenAtMs: number, groups: string[], unreachable: boolean): void {
    this.#snapshots++;
    if (this.#day === "" || !takenAt.startsWith(this.#day)) {
      this.#day = takenAt.slice(0, 10);
      this.#days.add(this.#day);
    }
    let h = this.#hosts.get(host);
    if (h === undefined) {
      h = { host, groups: [], disks: new Map(), memory: new DailySeries("memory", this.#spanDays, this.#room), load: new DailySeries("load", this.#spanDays, this.#room), snapshots: 0, unreachable: 0, lastReading: "" };
      this.#hosts.set(host, h);
    }
    this.#host = h;
    this.#t = takenAtMs;
    h.snapshots++;
    h.groups = groups;
    if (unreachable) h.unreachable++;
    else if (takenAt > h.lastReading) h.lastReading = takenAt;
  }

  disk(mount: string, sizeBytes: number, usedBytes: number): void {
    const h = this.#host!;
    let series = h.disks.get(mount);
    if (series === undefined) h.disks.set(mount, (series = new DailySeries("disk", this.#spanDays, this.#room)));
    series.push(this.#t, usedBytes, sizeBytes);
  }

  memory(totalBytes: number, availableBytes: number): void {
    this.#host!.memory.push(this.#t, memoryInUse(availableBytes, totalBytes), totalBytes);
  }

  load(_one: number, _five: number, fifteen: number, cpus: number): void {
    this.#host!.load.push(this.#t, fifteen, loadCapacity(cpus));
  }

  /** The series so far. */
  collected(): CollectedSeries {
    return { hosts: this.#hosts, snapshots: this.#snapshots, days: this.#days.size };
  }
}
