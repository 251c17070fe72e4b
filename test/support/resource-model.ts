/**
 * The resource part of the history model (history-model.ts): what each host's daily
 * facts snapshot says about its disks, memory and load, from a stated generating
 * model, and the truth a forecast is checked against — computed from the model's
 * parameters and its own events (cleanups, which days a host was read), never by
 * fitting the readings.
 *
 * The generating model. Its draws come from a stream of their own (mulberry32 seeded
 * from the history's seed), so the runs and updates the rest of the history draws do
 * not depend on it. N(0, σ) is a normal draw (Box–Muller), U(a, b) a uniform one.
 *
 * - **Disks**: each host has `/` (50 GiB) and `/var` (200 GiB). Each mount has a profile:
 *   - `growing` (probability 0.6): starts at U(20%, 40%) of its size and grows at
 *     s = U(0.2%, 0.8%) of its size per day. When the true usage passes 90% a cleanup
 *     drops it to 45% (the work a forecast asks for, done); with probability
 *     `cleanupRate` there is also one operator cleanup on a day drawn from U{1, days−1}
 *     that halves the usage (a fall of at least 10% of the size: usage is never under 20%).
 *   - `flat` (0.2): stays at U(20%, 40%).
 *   - `shrinking` (0.2): starts at U(30%, 40%) and falls at U(0.25, 0.75)·(start − 10%)/days
 *     of the size per day, so it never falls under 10% within the history.
 *   A reading is the true usage plus N(0, `diskNoise` × size); with probability
 *   `outlierRate` it is then multiplied by U(0.7, 1.3); clipped to [0, size], whole bytes.
 * - **Memory**: 8 GiB; in use starts at U(30%, 50%) of the total. `flat` (0.7) stays
 *   there; `growing` (0.3, a leak) grows at U(0.3%, 1%) of the total per day and, when
 *   it passes 85%, the service restarts: back to its starting level (a fall of at least
 *   35%). A reading is in use + N(0, `memoryNoise` × total), clipped to [0, total];
 *   the snapshot records available = total − in use.
 * - **Load**: 2 CPUs; the fifteen-minute load per CPU starts at U(0.2, 0.5): `flat`
 *   (0.8) stays there, `growing` (0.2) rises U(0.002, 0.006) per CPU per day, with no
 *   cleanups. A reading is the level + N(0, `loadNoise` per CPU), at least 0, to 0.01.
 * - **Gaps**: on top of the history's independent `gapRate`, with probability
 *   `outageRate` a host has one outage of U{3, 10} days starting on a day drawn from
 *   U{0, days−1}: it is unreachable throughout (no readings, its runs `unreachable`).
 *
 * The truth of each series ({@link ResourceTruth}): its profile, the true slope of the
 * current segment (the one since the last cleanup), the true level at the last reading,
 * the time the current segment's line reaches the threshold (95% of a disk's size or
 * of the memory total, a load of one per CPU: the thresholds the README states), and
 * the readings of the segment (count, span, Σ(x − x̄)²), from which a test derives the
 * standard error a fit of that segment can have.
 */
import type { FactSnapshot } from "../../src/report/history/snapshots.ts";

export type ResourceKindTruth = "disk" | "memory" | "load";
export type Profile = "growing" | "flat" | "shrinking";

/** What the model says of one series (a mount, a host's memory or its load). */
export interface ResourceTruth {
  kind: ResourceKindTruth;
  host: string;
  mount?: string;
  profile: Profile;
  /** Size in bytes, total memory in bytes, or the CPU count. */
  capacity: number;
  /** The level the resource counts as exhausted at (units of capacity). */
  threshold: number;
  /** The true slope of the current segment, in units of capacity per day. */
  slopePerDay: number;
  /** σ of a reading's noise, in units of capacity. */
  noiseSd: number;
  /** Every cleanup the model made: the snapshot time of its day, the true level before and after, and the readings of the segment before it and of the one after. */
  cleanups: Array<{ at: string; from: number; to: number; readingsBefore: number; readingsAfter: number }>;
  /** ISO time of the last reading (reachable snapshot); null when never read. */
  lastReadingAt: string | null;
  /** The true (noise-free) level at the last reading. */
  levelAtLast: number;
  /** The current segment's readings: count, first, span in days, Σ(x − x̄)² and x_last − x̄ (x in days). */
  segment: { readings: number; from: string | null; spanDays: number; sxx: number; lastMinusMean: number };
  /** When the current segment's line reaches the threshold (the last reading when already past); null when it does not grow. */
  fillsAt: string | null;
}

export interface ResourceModelOptions {
  days: number;
  outlierRate: number;
  /** Probability of one operator cleanup on a growing mount (default 0.3). */
  cleanupRate?: number;
  /** Probability of a host's multi-day outage (default 0). */
  outageRate?: number;
  /** σ of a disk reading, share of the size (default 0.002). */
  diskNoise?: number;
  /** σ of a memory reading, share of the total (default 0.01). */
  memoryNoise?: number;
  /** σ of a load reading per CPU (default 0.05). */
  loadNoise?: number;
}

const GIB = 1024 ** 3;
const DAY = 86_400_000;
const CPUS = 2;
const MEMORY = 8 * GIB;

interface Series {
  truth: ResourceTruth;
  level: number;
  /** The day of an operator cleanup (−1 none), the level a restart returns to, the level a cleanup triggers at. */
  cleanupDay: number;
  resetTo: number;
  triggerAt: number;
  /** Running sums of the segment's x (days since its first reading). */
  t0: number;
  sx: number;
  sxx: number;
}

/** The resource model of a fleet; call {@link advance} once per day before the snapshots, then {@link reading} per reachable host. */
export class ResourceModel {
  readonly truth: ResourceTruth[] = [];
  readonly #hosts: Array<{ disks: Series[]; memory: Series; load: Series; outage: [number, number] | null }>;
  readonly #rnd: () => number;
  readonly #o: Required<ResourceModelOptions>;

  constructor(names: readonly string[], options: ResourceModelOptions, rnd: () => number) {
    this.#rnd = rnd;
    const o = (this.#o = { cleanupRate: 0.3, outageRate: 0, diskNoise: 0.002, memoryNoise: 0.01, loadNoise: 0.05, ...options });
    const u = (a: number, b: number): number => a + (b - a) * rnd();
    this.#hosts = names.map((host) => {
      const disks = (
        [
          ["/", 50 * GIB],
          ["/var", 200 * GIB],
        ] as const
      ).map(([mount, size]) => {
        const p = rnd();
        const profile: Profile = p < 0.6 ? "growing" : p < 0.8 ? "flat" : "shrinking";
        const start = profile === "shrinking" ? u(0.3, 0.4) : u(0.2, 0.4);
        const slope = profile === "growing" ? u(0.002, 0.008) : profile === "shrinking" ? (-u(0.25, 0.75) * (start - 0.1)) / Math.max(1, o.days) : 0;
        const cleanupDay = profile === "growing" && rnd() < o.cleanupRate ? 1 + Math.floor(rnd() * Math.max(1, o.days - 1)) : -1;
        return this.#series({ kind: "disk", host, mount, profile, capacity: size, threshold: 0.95 * size, slopePerDay: slope * size, noiseSd: o.diskNoise * size }, start * size, cleanupDay, 0.45 * size, 0.9 * size);
      });
      const leak = rnd() < 0.3;
      const inUse = u(0.3, 0.5) * MEMORY;
      const memory = this.#series({ kind: "memory", host, profile: leak ? "growing" : "flat", capacity: MEMORY, threshold: 0.95 * MEMORY, slopePerDay: leak ? u(0.003, 0.01) * MEMORY : 0, noiseSd: o.memoryNoise * MEMORY }, inUse, -1, inUse, 0.85 * MEMORY);
      const ramp = rnd() < 0.2;
      const load = this.#series({ kind: "load", host, profile: ramp ? "growing" : "flat", capacity: CPUS, threshold: CPUS, slopePerDay: ramp ? u(0.002, 0.006) * CPUS : 0, noiseSd: o.loadNoise * CPUS }, u(0.2, 0.5) * CPUS, -1, 0, Number.POSITIVE_INFINITY);
      let outage: [number, number] | null = null;
      if (rnd() < o.outageRate) {
        const from = Math.floor(rnd() * o.days);
        outage = [from, from + 3 + Math.floor(rnd() * 8)];
      }
      return { disks, memory, load, outage };
    });
  }

  /** Whether host i is in its outage on `day` (the history's own gaps come on top). */
  inOutage(i: number, day: number): boolean {
    const out = this.#hosts[i]!.outage;
    return out !== null && day >= out[0] && day < out[1];
  }

  /** Day `day`'s true levels of host i at its snapshot time: growth, then any cleanup or restart. */
  advance(i: number, day: number, takenAt: number): void {
    const h = this.#hosts[i]!;
    for (const s of [...h.disks, h.memory, h.load]) {
      if (day > 0) s.level += s.truth.slopePerDay;
      const cleanup = s.level > s.triggerAt ? s.resetTo : day === s.cleanupDay ? s.level / 2 : undefined;
      if (cleanup !== undefined) {
        s.truth.cleanups.push({ at: new Date(takenAt).toISOString(), from: s.level, to: cleanup, readingsBefore: s.truth.segment.readings, readingsAfter: 0 });
        s.level = cleanup;
        s.truth.segment = { readings: 0, from: null, spanDays: 0, sxx: 0, lastMinusMean: 0 };
        s.sx = s.sxx = 0;
      }
    }
  }

  /** The readings of a reachable host i at `takenAt` (after {@link advance} for the day): the snapshot's disks, memory and load. */
  reading(i: number, takenAt: number): Required<Pick<FactSnapshot, "disks" | "memory" | "load">> {
    const h = this.#hosts[i]!;
    const o = this.#o;
    const disks = h.disks.map((s) => {
      let used = s.level + this.#normal() * s.truth.noiseSd;
      if (this.#rnd() < o.outlierRate) used *= 0.7 + 0.6 * this.#rnd();
      this.#read(s, takenAt);
      return { mount: s.truth.mount!, sizeBytes: s.truth.capacity, usedBytes: Math.round(Math.min(s.truth.capacity, Math.max(0, used))) };
    });
    const inUse = Math.min(MEMORY, Math.max(0, h.memory.level + this.#normal() * h.memory.truth.noiseSd));
    this.#read(h.memory, takenAt);
    const level = (s: number): number => Math.max(0, Math.round(s * 100) / 100);
    const fifteen = level(h.load.level + this.#normal() * h.load.truth.noiseSd);
    this.#read(h.load, takenAt);
    return {
      disks,
      memory: { totalBytes: MEMORY, availableBytes: MEMORY - Math.round(inUse) },
      load: { one: level(fifteen + this.#normal() * 0.2), five: level(fifteen + this.#normal() * 0.1), fifteen, cpus: CPUS },
    };
  }

  /** The truth of every series, final: each current segment's fill time from its true line. */
  finish(): ResourceTruth[] {
    for (const t of this.truth) {
      const last = t.lastReadingAt === null ? Number.NaN : Date.parse(t.lastReadingAt);
      if (t.lastReadingAt === null) t.fillsAt = null;
      else if (t.levelAtLast >= t.threshold) t.fillsAt = t.lastReadingAt;
      else if (t.slopePerDay > 0) t.fillsAt = new Date(last + ((t.threshold - t.levelAtLast) / t.slopePerDay) * DAY).toISOString();
      else t.fillsAt = null;
    }
    return this.truth;
  }

  #series(t: Omit<ResourceTruth, "cleanups" | "lastReadingAt" | "levelAtLast" | "segment" | "fillsAt">, level: number, cleanupDay: number, resetTo: number, triggerAt: number): Series {
    const truth: ResourceTruth = { ...t, cleanups: [], lastReadingAt: null, levelAtLast: level, segment: { readings: 0, from: null, spanDays: 0, sxx: 0, lastMinusMean: 0 }, fillsAt: null };
    this.truth.push(truth);
    return { truth, level, cleanupDay, resetTo, triggerAt, t0: 0, sx: 0, sxx: 0 };
  }

  /** Records a reading of series s at `takenAt`: the segment's sums, the last reading's time and true level. */
  #read(s: Series, takenAt: number): void {
    const seg = s.truth.segment;
    if (seg.readings === 0) {
      seg.from = new Date(takenAt).toISOString();
      s.t0 = takenAt;
    }
    const x = (takenAt - s.t0) / DAY;
    seg.readings += 1;
    s.sx += x;
    s.sxx += x * x;
    const mean = s.sx / seg.readings;
    seg.spanDays = x;
    seg.sxx = s.sxx - seg.readings * mean * mean;
    seg.lastMinusMean = x - mean;
    s.truth.lastReadingAt = new Date(takenAt).toISOString();
    s.truth.levelAtLast = s.level;
    const c = s.truth.cleanups.at(-1);
    if (c !== undefined) c.readingsAfter += 1;
  }

  /** A standard normal draw (Box–Muller). */
  #normal(): number {
    const u = 1 - this.#rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.#rnd());
  }
}
