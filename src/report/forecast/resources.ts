/**
 * What is forecast, per host: each mount's disk usage, memory, and load, with the
 * threshold each counts as exhausted at and the rule that sets it.
 *
 * - **Disk**: `usedBytes` of `sizeBytes` as df reports them; full at 95% of the size,
 *   because ext4 reserves 5% of blocks for root by default (mke2fs(8) `-m`), so
 *   ordinary writes fail near there. A confirmed fall of more than 5% of the size is a
 *   cleanup (a new segment).
 * - **Memory**: in use = total − available (`MemAvailable`, proc(5)); exhausted when
 *   available falls under 5% of the total, where the kernel starts reclaiming hard
 *   and the OOM killer is near. A confirmed fall of more than 10% (a reboot, a restarted
 *   service) starts a new segment.
 * - **Load**: the fifteen-minute load average against the CPU count; saturated at one
 *   runnable task per CPU (load ≥ cpus). Load is not cumulative: no segments.
 */
import type { DailySeries } from "./collect.ts";
import { Room } from "./select.ts";
import { fitTrend, fitTrendColumns, type Trend, type TrendPoint } from "./trend.ts";

export type ResourceKind = "disk" | "memory" | "load";

/** A disk reading of one mount. */
export interface DiskSample {
  t: Date;
  usedBytes: number;
  sizeBytes: number;
}

/** A memory reading. */
export interface MemorySample {
  t: Date;
  availableBytes: number;
  totalBytes: number;
}

/** A load reading: the fifteen-minute load average and the CPU count. */
export interface LoadSample {
  t: Date;
  fifteen: number;
  cpus: number;
}

/** The stated rules per kind (see the module comment). */
export const RESOURCE_RULES: Readonly<Record<ResourceKind, { fullAt: number; dropFraction: number; what: string }>> = {
  disk: { fullAt: 0.95, dropFraction: 0.05, what: "95% of the filesystem's size (ext4 reserves 5% for root)" },
  memory: { fullAt: 0.95, dropFraction: 0.1, what: "available memory under 5% of the total" },
  load: { fullAt: 1, dropFraction: Number.POSITIVE_INFINITY, what: "a fifteen-minute load of one per CPU" },
};

/** Common knobs: the clock, and the fit's minimums and confidence (trend.ts). */
export interface ForecastOptions {
  now: Date;
  minPoints?: number;
  minSpanDays?: number;
  confidence?: number;
}

/** A disk reading as a level of a capacity: used bytes of the size. */
export function diskLevel(s: { usedBytes: number; sizeBytes: number }): { value: number; capacity: number } {
  return { value: s.usedBytes, capacity: s.sizeBytes };
}

/** A memory reading as a level: bytes in use (total − available; NaN, so refused, when available exceeds the total). */
export function memoryLevel(s: { availableBytes: number; totalBytes: number }): { value: number; capacity: number } {
  return { value: memoryInUse(s.availableBytes, s.totalBytes), capacity: s.totalBytes };
}

/** Bytes of memory in use: total − available; NaN (so refused) when available exceeds the total. */
export function memoryInUse(availableBytes: number, totalBytes: number): number {
  return availableBytes > totalBytes ? Number.NaN : totalBytes - availableBytes;
}

/** A load reading as a level: the fifteen-minute load of the CPU count (NaN, so refused, for a count that is not whole). */
export function loadLevel(s: { fifteen: number; cpus: number }): { value: number; capacity: number } {
  return { value: s.fifteen, capacity: loadCapacity(s.cpus) };
}

/** The capacity of a load reading: the CPU count, NaN (so refused) when it is not whole. */
export function loadCapacity(cpus: number): number {
  return Number.isInteger(cpus) ? cpus : Number.NaN;
}

const point = (t: Date, l: { value: number; capacity: number }): TrendPoint => ({ t, value: l.value, capacity: l.capacity });

/** The trend of one mount's usage. */
export function forecastDisk(samples: readonly DiskSample[], options: ForecastOptions): Trend {
  return fitTrend(samples.map((s) => point(s.t, diskLevel(s))), { ...options, ...RESOURCE_RULES.disk, valueAtMostCapacity: true });
}

/** The trend of memory in use (total − available). */
export function forecastMemory(samples: readonly MemorySample[], options: ForecastOptions): Trend {
  return fitTrend(samples.map((s) => point(s.t, memoryLevel(s))), { ...options, ...RESOURCE_RULES.memory, valueAtMostCapacity: true });
}

/** The trend of the fifteen-minute load against the CPU count. */
export function forecastLoad(samples: readonly LoadSample[], options: ForecastOptions): Trend {
  return fitTrend(samples.map((s) => point(s.t, loadLevel(s))), { ...options, ...RESOURCE_RULES.load });
}

/**
 * The trend of a collected daily series (collect.ts) under its kind's rules: the same
 * fit as forecastDisk/Memory/Load, with the readings the collector refused counted.
 */
export function forecastSeries(series: DailySeries, options: ForecastOptions): Trend {
  const rules = RESOURCE_RULES[series.kind];
  const length = series.settle();
  // A capacity that never changed is one number: the fit reads it as a column, filled in reused room.
  const capacity = typeof series.capacity === "number" ? constantRoom.take(length).fill(series.capacity) : series.capacity;
  const trend = fitTrendColumns({ t: series.t, value: series.value, capacity, length }, { ...options, ...rules, valueAtMostCapacity: series.kind !== "load", rejected: series.rejections() });
  if (trend.observed > 0 || series.lastCapacity <= 0) return trend;
  // No reading was kept: the capacity is still the one the host reported, never 0.
  const known = { ...trend, capacity: series.lastCapacity, threshold: series.lastCapacity * rules.fullAt };
  const overfull = trend.rejected.find((r) => r.reason === OVER_CAPACITY);
  if (series.kind === "disk" && overfull !== undefined && trend.rejected.length === 1) known.note = DISK_OVER_SIZE;
  return known;
}

/** Room for the capacity column of a series that has one capacity (one series is fitted at a time; the trend keeps no reference to it). */
const constantRoom = new Room();

/** The reason readingProblem gives for a level above its capacity. */
const OVER_CAPACITY = "more used than the capacity";

/**
 * The note of a disk whose every reading says more is used than its size: df cannot
 * show that for a real filesystem (used ≤ size, df(1)), so the host's df output is
 * wrong (a broken mount, an overlay or FUSE filesystem misreporting) and no forecast
 * can be made until it is fixed.
 */
export const DISK_OVER_SIZE = "every reading reports more used than its size: the host's df output is wrong";
