/**
 * One resource's trend: a series of readings of a level against a capacity (bytes used
 * on a mount of a given size, memory in use of the total, load against the CPUs),
 * fitted with Sen's slope (sen.ts) and projected to the time it crosses a threshold,
 * with an interval.
 *
 * The rules, each stated where it is applied:
 * - **Bad readings** (a time that is not a date, a value or capacity that is not a
 *   finite number, negative, a zero capacity, a level above the capacity where that is
 *   impossible) are left out and counted, never fitted.
 * - **Gaps**: time is the real time of each reading (days, fractional), so missing days
 *   and irregular spacing need no filling. Readings at the same instant count once,
 *   at their median.
 * - **Cleanups**: a fall of more than `dropFraction` of the capacity between two
 *   readings starts a new segment when the readings around it confirm it: the middle
 *   of the readings from it — at most {@link AFTER}, at least two, up to the next such
 *   fall (judged on its own) — must be that much below the middle of the
 *   {@link BEFORE} readings before it, at least three of the segment (the upper middle of an even count after, the
 *   lower middle before: a cleanup needs both), every reading taken to the fall's time
 *   along the growth before it (the median pairwise slope of up to {@link GROWTH}
 *   readings of the segment; none under five), so steep growth does not eat into the fall. The new segment starts at the first of
 *   those readings nearer the level after than the level before, so a wild reading
 *   just before the fall is not taken for its start. Only the last segment is fitted,
 *   and the trend says so. Wild readings are not a cleanup: the middles do not move for
 *   two low readings among five after a fall, nor three high ones among the seven
 *   before it (medians of three did: two outliers in three days made a cleanup). A
 *   fall at the very last reading is noted but not acted on until a later reading
 *   confirms it.
 * - **Outliers**: Theil–Sen's breakdown point is 29%: a few wild readings do not move it.
 * - **Long series**: a segment of more than {@link MAX_FIT_POINTS} readings is fitted on
 *   the medians of at most that many equal time bins (sen.ts, binMedians), so a year of
 *   daily readings costs the same as four months; the interval is then computed from
 *   those bins (the points actually fitted, `fit.fittedPoints`), never from the raw
 *   count, and the line's intercept from every reading of the segment.
 * - **Too little data**: fewer than `minPoints` readings, or a span under `minSpanDays`,
 *   in the fitted segment gives "insufficient data", never a number.
 * - **Flat or shrinking** usage has no fill date (the interval's pessimistic end may
 *   still give one: the earliest fill the data allows). A slope counts as growing or
 *   shrinking only when its interval leaves out zero — the data show a trend at the
 *   stated confidence, as Mann–Kendall's test at that level would (Gilbert 1987 §16.4–5:
 *   the interval is built from the same S statistic) — and it is more than a negligible
 *   {@link FLAT_SHARE_PER_DAY} of the capacity a day; otherwise it is flat. Without that,
 *   the noise of a level that does not move gives a small slope of either sign, and a
 *   fill date decades away from a series that is not growing at all.
 */
import { medianInPlace, Room } from "./select.ts";
import { binMediansInRoom, interceptFor, MAX_FIT_POINTS, senFit } from "./sen.ts";

/** One reading: `value` of `capacity` at time `t` (same unit for both). */
export interface TrendPoint {
  t: Date;
  value: number;
  capacity: number;
}

export interface TrendOptions {
  /** "Now": days until the threshold are counted from here. */
  now: Date;
  /** The share of the capacity at which the resource counts as exhausted (0 < fullAt; 1 = all of it). */
  fullAt: number;
  /** A confirmed fall of more than this share of the capacity starts a new segment (Infinity: never). */
  dropFraction: number;
  /** Fewest readings in the fitted segment (default 5). */
  minPoints?: number;
  /** Shortest span of the fitted segment, in days (default 2). */
  minSpanDays?: number;
  /** The interval's two-sided confidence (default 0.95). */
  confidence?: number;
  /** Refuse readings above their capacity (disks: df never shows more used than the size). */
  valueAtMostCapacity?: boolean;
  /** Readings already left out before `points` (e.g. by a collector, see readingProblem), reported with the fit's own. */
  rejected?: ReadonlyArray<{ reason: string; count: number }>;
}

export type TrendStatus = "insufficient-data" | "full" | "growing" | "flat" | "shrinking";

/** When the threshold is crossed: ISO 8601 UTC and days from `now` (0 when already past). null: not within 100 years. */
export interface Crossing {
  at: string | null;
  days: number | null;
}

export interface Trend {
  status: TrendStatus;
  /** One line for people: the finding, or why there is none ("insufficient data: 3 points, need 5"). */
  message: string;
  /** Readings accepted, over the whole series. */
  observed: number;
  /** Readings left out, and why (at most 5 distinct reasons, each with its count). */
  rejected: Array<{ reason: string; count: number }>;
  /** Cleanups found; only the readings after the last one are fitted. */
  cleanups: Array<{ at: string; from: number; to: number }>;
  /** A fall at the very last reading, not yet confirmed as a cleanup. */
  unconfirmedDrop?: { at: string; from: number; to: number };
  /** The fitted segment. */
  segment: { from: string; to: string; points: number } | null;
  /** The latest capacity, and the level at which the resource counts as exhausted. */
  capacity: number;
  threshold: number;
  /** A problem with the data itself, for people (e.g. a disk whose every reading is more used than its size); also listed in the report's problems. */
  note?: string;
  /** The fit, per day, and its level at the last reading; absent with insufficient data. */
  fit?: { slopePerDay: number; lowerPerDay: number; upperPerDay: number; confidence: number; levelAtLast: number; intercept: number; fittedPoints: number };
  /** The crossing by the fitted slope; at null for flat or shrinking usage. */
  full?: Crossing;
  /** The interval: the soonest crossing (upper slope) and the latest (lower slope; null when it may never cross). */
  soonest?: Crossing;
  latest?: Crossing;
  /**
   * The fitted line at each reading of the segment, for charts: the readings' times (ms
   * since the epoch) and the line's value at each, parallel. Computed on call: only the
   * series with a chart need it.
   */
  line?: () => { t: Float64Array; value: Float64Array };
}

const DAY_MS = 86_400_000;
/** Projections past this many days are "not within 100 years": beyond any planning, and beyond a Date's range for wild slopes. */
const HORIZON_DAYS = 36_525;
/** Below this share of the capacity per day, a slope counts as flat (0.0365% a year). */
const FLAT_SHARE_PER_DAY = 1e-6;
/** Readings before a fall, and from it, whose middles it is measured between (see the module comment). */
const BEFORE = 7;
const AFTER = 5;
/** Readings before a fall whose median pairwise slope (435 pairs at most) is the growth the levels around it are taken along. */
const GROWTH = 30;

/**
 * The trend of a series; pure, never throws for any input (bad readings are counted,
 * an unusable series is "insufficient data").
 */
export function fitTrend(points: readonly TrendPoint[], options: TrendOptions): Trend {
  const { clean, rejected } = cleanPoints(points, options.valueAtMostCapacity === true, options.rejected ?? []);
  return fitClean(clean, rejected, options);
}

/**
 * Readings as columns: the `i`-th reading is `value[i]` of `capacity[i]` at `t[i]` (ms
 * since the epoch), for `i < length`.
 */
export interface TrendColumns {
  t: ArrayLike<number>;
  value: ArrayLike<number>;
  capacity: ArrayLike<number>;
  length: number;
}

/**
 * The same trend as {@link fitTrend} of the same readings, from columns (a collected
 * daily series: collect.ts), with no object or Date per reading. Readings already in
 * time order at distinct instants, each fit to be fitted (the collector's case), are
 * used as they are; any other input is checked and ordered as fitTrend does. Pure,
 * never throws.
 */
export function fitTrendColumns(columns: TrendColumns, options: TrendOptions): Trend {
  const atMostCapacity = options.valueAtMostCapacity === true;
  const { t, value, capacity, length } = columns;
  for (let i = 0; i < length; i++) {
    if (readingProblem(t[i]!, value[i]!, capacity[i]!, atMostCapacity) !== null || (i > 0 && !(t[i]! > t[i - 1]!))) {
      const points: TrendPoint[] = [];
      for (let k = 0; k < length; k++) points.push({ t: new Date(t[k]!), value: value[k]!, capacity: capacity[k]! });
      return fitTrend(points, options);
    }
  }
  return fitClean(columns, rejectedList(new Map(), options.rejected ?? []), options);
}

/** Room for a fit's segment (days, levels): one fit at a time. */
const fitRoom = { x: new Room(), y: new Room() };

/** The fit of clean readings: in time order, distinct instants, each fit to be fitted. */
function fitClean(clean: TrendColumns, rejected: Trend["rejected"], options: TrendOptions): Trend {
  const minPoints = Math.max(2, options.minPoints ?? 5);
  const minSpanDays = options.minSpanDays ?? 2;
  const confidence = options.confidence ?? 0.95;
  const n = clean.length;
  const { t, value } = clean;
  const capacity = n > 0 ? clean.capacity[n - 1]! : 0;
  const threshold = capacity * options.fullAt;
  const base: Trend = { status: "insufficient-data", message: "", observed: n, rejected, cleanups: [], segment: null, capacity, threshold };
  if (n === 0) return { ...base, message: `insufficient data: 0 points, need ${minPoints}${rejected.length > 0 ? ` (${rejectedText(rejected)})` : ""}` };
  const { start, cleanups, unconfirmed } = segments(clean, options.dropFraction);
  const m = n - start;
  const t0 = t[start]!;
  const tLast = t[n - 1]!;
  const trend: Trend = { ...base, cleanups, segment: { from: iso(t0), to: iso(tLast), points: m }, ...(unconfirmed ? { unconfirmedDrop: unconfirmed } : {}) };
  const since = cleanups.length > 0 ? ` since the cleanup on ${day(cleanups.at(-1)!.at)}` : "";
  const spanDays = (tLast - t0) / DAY_MS;
  if (m < minPoints) return { ...trend, message: `insufficient data: ${m} point${m === 1 ? "" : "s"}${since}, need ${minPoints}` };
  if (spanDays < minSpanDays) return { ...trend, message: `insufficient data: ${m} points${since} over ${round(spanDays, 2)} days, need at least ${minSpanDays} days` };

  // The segment in days from its start, in room reused by every fit (read only within this call).
  const x = fitRoom.x.take(m);
  const y = fitRoom.y.take(m);
  for (let i = 0; i < m; i++) {
    x[i] = (t[start + i]! - t0) / DAY_MS;
    y[i] = value[start + i]!;
  }
  // Long segments: Sen's slope and its interval over bin medians (see the module comment).
  const binned = m > MAX_FIT_POINTS ? binMediansInRoom(x, y, MAX_FIT_POINTS) : undefined;
  const sen = binned === undefined ? senFit(x, y, confidence) : senFit(binned.x, binned.y, confidence);
  const fit = { ...sen, intercept: binned === undefined ? sen.intercept : interceptFor(x, y, sen.slope) };
  const xLast = x[m - 1]!;
  const levelAtLast = fit.intercept + fit.slope * xLast;
  const cross = (slope: number, intercept: number): Crossing => crossing(t0, slope, intercept, threshold, options.now);
  trend.fit = { slopePerDay: fit.slope, lowerPerDay: fit.lower, upperPerDay: fit.upper, confidence, levelAtLast, intercept: fit.intercept, fittedPoints: binned === undefined ? m : binned.x.length };
  trend.line = () => {
    const line = { t: new Float64Array(m), value: new Float64Array(m) };
    for (let i = 0; i < m; i++) {
      line.t[i] = t[start + i]!;
      line.value[i] = fit.intercept + fit.slope * ((t[start + i]! - t0) / DAY_MS);
    }
    return line;
  };
  const flat = FLAT_SHARE_PER_DAY * capacity;
  trend.soonest = fit.upper > 0 ? cross(fit.upper, interceptFor(x, y, fit.upper)) : { at: null, days: null };
  trend.latest = fit.lower > 0 ? cross(fit.lower, interceptFor(x, y, fit.lower)) : { at: null, days: null };
  if (levelAtLast >= threshold) {
    trend.status = "full";
    trend.full = { at: iso(tLast), days: 0 };
    trend.soonest = trend.full;
    trend.message = `at or over the threshold: ${pct(levelAtLast, capacity)} of capacity at the last reading`;
    return trend;
  }
  if (fit.slope > flat && fit.lower > 0) {
    trend.status = "growing";
    trend.full = cross(fit.slope, fit.intercept);
    trend.message = trend.full.days === null ? "growing, but not reaching the threshold within 100 years" : `reaches the threshold in ${round(trend.full.days, 1)} days (${day(trend.full.at!)}); ${Math.round(confidence * 100)}% interval ${intervalText(trend)}`;
  } else {
    trend.status = fit.slope < -flat && fit.upper < 0 ? "shrinking" : "flat";
    trend.full = { at: null, days: null };
    trend.message = `${trend.status}: no fill date${trend.soonest.days !== null ? `; at the interval's pessimistic end it would reach the threshold in ${round(trend.soonest.days, 1)} days` : ""}`;
  }
  if (cleanups.length > 0) trend.message += `; fitted only the ${m} readings${since}`;
  return trend;
}

/**
 * Why a reading cannot be fitted, or null: a time that is not a date, a value or
 * capacity that is not finite, negative, a zero capacity, or (with `atMostCapacity`) a
 * level above the capacity. `tMs` in ms since the epoch.
 */
export function readingProblem(tMs: number, value: number, capacity: number, atMostCapacity: boolean): string | null {
  if (!Number.isFinite(tMs)) return "time is not a valid date";
  if (!Number.isFinite(value) || !Number.isFinite(capacity)) return "not a finite number";
  if (value < 0 || capacity < 0) return "negative";
  if (capacity === 0) return "capacity is zero";
  if (atMostCapacity && value > capacity) return "more used than the capacity";
  return null;
}

/** The reasons readings were left out, most frequent first, at most five; `before` counted first. */
function rejectedList(reasons: Map<string, number>, before: ReadonlyArray<{ reason: string; count: number }>): Trend["rejected"] {
  const all = new Map<string, number>();
  for (const r of before) all.set(r.reason, (all.get(r.reason) ?? 0) + r.count);
  for (const [reason, count] of reasons) all.set(reason, (all.get(reason) ?? 0) + count);
  return [...all].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([reason, count]) => ({ reason, count }));
}

function cleanPoints(points: readonly TrendPoint[], atMostCapacity: boolean, before: ReadonlyArray<{ reason: string; count: number }>): { clean: TrendColumns; rejected: Trend["rejected"] } {
  const reasons = new Map<string, number>();
  const ok: Array<{ t: number; value: number; capacity: number }> = [];
  let ordered = true;
  for (const p of points) {
    const tMs = p?.t instanceof Date ? p.t.getTime() : Number.NaN;
    const problem = readingProblem(tMs, p?.value, p?.capacity, atMostCapacity);
    if (problem !== null) reasons.set(problem, (reasons.get(problem) ?? 0) + 1);
    else {
      if (ordered && ok.length > 0 && ok[ok.length - 1]!.t > tMs) ordered = false;
      ok.push({ t: tMs, value: p.value, capacity: p.capacity });
    }
  }
  if (!ordered) ok.sort((a, b) => a.t - b.t);
  // Readings at the same instant count once, at their median (and the last capacity).
  const t: number[] = [];
  const value: number[] = [];
  const capacity: number[] = [];
  for (let i = 0; i < ok.length; ) {
    const at = ok[i]!.t;
    let j = i + 1;
    while (j < ok.length && ok[j]!.t === at) j++;
    t.push(at);
    value.push(j === i + 1 ? ok[i]!.value : median(ok.slice(i, j).map((p) => p.value)));
    capacity.push(ok[j - 1]!.capacity);
    i = j;
  }
  return { clean: { t, value, capacity, length: t.length }, rejected: rejectedList(reasons, before) };
}

/** The start of the last segment after confirmed cleanups (see the module comment). */
function segments(points: TrendColumns, dropFraction: number): { start: number; cleanups: Trend["cleanups"]; unconfirmed?: { at: string; from: number; to: number } } {
  const cleanups: Trend["cleanups"] = [];
  let start = 0;
  let unconfirmed: { at: string; from: number; to: number } | undefined;
  if (!(dropFraction < Number.POSITIVE_INFINITY)) return { start, cleanups };
  const { t, value: v, capacity: c, length: n } = points;
  for (let i = Math.max(1, start + 1); i < n; i++) {
    const limit = dropFraction * c[i]!;
    if (v[i - 1]! - v[i]! <= limit) continue;
    const windowStart = Math.max(start, i - BEFORE);
    if (i - windowStart < 3) continue; // no level to fall from yet: one or two readings may be wild
    // The readings from the fall up to the next one (a second fall within them is judged on its own): i..afterEnd−1.
    let afterEnd = i + 1;
    while (afterEnd < Math.min(n, i + AFTER) && v[afterEnd - 1]! - v[afterEnd]! <= limit) afterEnd++;
    if (afterEnd - i < 2) {
      if (i === n - 1) unconfirmed = { at: iso(t[i]!), from: v[i - 1]!, to: v[i]! };
      continue;
    }
    // Every level is taken at the fall's time along the growth before it, so steady growth does not eat into the fall.
    const growthStart = Math.max(start, i - GROWTH);
    const b = i - growthStart >= 5 ? medianSlope(points, growthStart, i) : 0; // fewer: one wild reading would be a third of the slopes
    const at = t[i]!;
    const before = levelRoom.before;
    for (let k = windowStart; k < i; k++) before[k - windowStart] = level(v[k]!, b, at, t[k]!);
    const after = levelRoom.after;
    for (let k = i; k < afterEnd; k++) after[k - i] = level(v[k]!, b, at, t[k]!);
    // The level most readings agree on: the lower middle before (a cleanup needs it high), the upper middle after (it needs that low).
    const from = middle(before, i - windowStart, "lower");
    const to = middle(after, afterEnd - i, "upper");
    if (from - to <= limit) continue;
    // The new segment starts at the first reading nearer the level after than the one before: a wild reading just before the fall is not its start.
    let j = i;
    while (j < afterEnd - 1 && level(v[j]!, b, at, t[j]!) >= (from + to) / 2) j++;
    cleanups.push({ at: iso(t[j]!), from, to });
    start = j;
    i = j;
  }
  return { start, cleanups, ...(unconfirmed ? { unconfirmed } : {}) };
}

/** When the line `intercept + slope·x` (x in days from t0, ms) crosses `threshold`, counted from `now`. */
function crossing(t0: number, slope: number, intercept: number, threshold: number, now: Date): Crossing {
  if (!(slope > 0)) return { at: null, days: null };
  const xFill = (threshold - intercept) / slope;
  const atMs = t0 + xFill * DAY_MS;
  const days = (atMs - now.getTime()) / DAY_MS;
  if (!Number.isFinite(days) || days > HORIZON_DAYS) return { at: null, days: null };
  if (days <= 0) return { at: iso(Math.max(atMs, -8.64e15)), days: 0 };
  return { at: iso(atMs), days };
}

/** Room for the pairwise slopes of GROWTH readings, reused by every {@link medianSlope} (it is called at each candidate fall). */
const growthSlopes = new Float64Array((GROWTH * (GROWTH - 1)) / 2);

/** The median of the pairwise slopes of the readings `from` to `to` (exclusive, at most GROWTH of them), per day (0 for fewer than two distinct times). */
function medianSlope(points: TrendColumns, from: number, to: number): number {
  const { t, value } = points;
  const slopes = growthSlopes;
  let k = 0;
  for (let i = from; i < to; i++) for (let j = i + 1; j < to; j++) {
    const dt = (t[j]! - t[i]!) / DAY_MS;
    if (dt > 0) slopes[k++] = (value[j]! - value[i]!) / dt;
  }
  return k === 0 ? 0 : medianInPlace(slopes, 0, k - 1);
}

/** A reading `value` taken at `tMs`, carried to `at` (ms) along a growth of `perDay`. */
function level(value: number, perDay: number, at: number, tMs: number): number {
  return value + (perDay * (at - tMs)) / DAY_MS;
}

/** Room for the levels around one fall (at most BEFORE before it, AFTER from it), reused at every candidate fall. */
const levelRoom = { before: new Float64Array(BEFORE), after: new Float64Array(AFTER) };

/**
 * The middle of the first `count` values, the lower or upper of the two middle ones for
 * an even count. Sorts those values in place (an insertion sort: there are at most seven).
 */
function middle(values: Float64Array, count: number, which: "lower" | "upper"): number {
  for (let i = 1; i < count; i++) {
    const v = values[i]!;
    let j = i - 1;
    while (j >= 0 && values[j]! > v) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = v;
  }
  return values[which === "lower" ? (count - 1) >> 1 : count >> 1]!;
}

function median(values: readonly number[]): number {
  return medianInPlace(Float64Array.from(values));
}

function intervalText(t: Trend): string {
  const soon = t.soonest?.days;
  const late = t.latest?.days;
  return `${soon === null || soon === undefined ? "?" : round(soon, 1)}–${late === null || late === undefined ? "never" : round(late, 1)} days`;
}

function rejectedText(rejected: Trend["rejected"]): string {
  return rejected.map((r) => `${r.count} left out: ${r.reason}`).join("; ");
}

const iso = (ms: number): string => new Date(ms).toISOString();
const day = (isoTime: string): string => isoTime.slice(0, 10);
const round = (n: number, digits: number): number => Number(n.toFixed(digits));
const pct = (v: number, c: number): string => `${round((100 * v) / c, 1)}%`;
