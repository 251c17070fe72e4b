import { parseDuration } from "../core/duration.ts";
import type { Weekday, Window } from "./types.ts";

/**
 * Maintenance windows in IANA time zones, DST-safe. A window opens at `start` local
 * time on each listed day and stays open for `duration` of real elapsed time.
 * Local times that do not exist (the hour skipped when clocks go forward) move later
 * by the length of the gap; local times that happen twice (clocks go back) mean the
 * first occurrence. These are the "compatible" rules of ECMAScript Temporal and cron.
 */
export interface Opening {
  opens: Date;
  closes: Date;
}

const WEEKDAYS: readonly Weekday[] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_MS = 86_400_000;

/**
 * The last instant steward plans for: 9999-12-31T23:59:59.999Z. Plans and journals
 * write times as RFC 3339 date-times, whose year has exactly four digits, so a window
 * that would first open after this never opens, and an opening that would last past
 * it closes here.
 */
export const LAST_PLANNABLE_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** The first instant steward plans for (a plan's clock): 2000-01-01T00:00:00.000Z. */
export const FIRST_PLANNABLE_INSTANT = Date.UTC(2000, 0, 1);
/** The first instant a window's dates are read exactly from; earlier `not_before`/`not_after` dates mean this day (every clock steward uses is later). */
const EARLIEST_DATE_INSTANT = Date.UTC(1970, 0, 1);
/** ECMAScript's largest time value (±8.64e15 ms from the epoch); past it a Date is invalid. */
const MAX_TIME_VALUE = 8.64e15;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** The range of a JavaScript Date (ECMA-262 §21.4.1.1): ±8.64e15 ms around 1970. */
const DATE_LIMIT_MS = 8.64e15;
/** Longest opening computed; validation refuses longer durations, this keeps every date in range regardless. */
const MAX_OPENING_MS = 366 * DAY_MS;

function localParts(timeZone: string, instant: number): LocalTime & { second: number } {
  const parts: Record<string, number> = {};
  // An instant outside a Date's range would throw RangeError from the formatter; clamp so no input can.
  const inRange = Math.max(-DATE_LIMIT_MS, Math.min(DATE_LIMIT_MS, Number.isNaN(instant) ? 0 : instant));
  for (const p of formatter(timeZone).formatToParts(new Date(inRange))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** Date.UTC without its quirk of reading years 0–99 as 1900–1999. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** Milliseconds the zone is ahead of UTC at an instant. */
function offsetAt(timeZone: string, instant: number): number {
  const p = localParts(timeZone, instant);
  return utc(p.year, p.month, p.day, p.hour, p.minute, p.second) - Math.floor(instant / 1000) * 1000;
}

/** The instant a local wall-clock time happens in a zone (see the module comment for gaps and overlaps). */
export function zonedInstant(timeZone: string, t: LocalTime): number {
  const wall = utc(t.year, t.month, t.day, t.hour, t.minute);
  const before = wall - offsetAt(timeZone, wall - DAY_MS);
  const after = wall - offsetAt(timeZone, wall + DAY_MS);
  const matches = (instant: number): boolean => {
    const p = localParts(timeZone, instant);
    return p.year === t.year && p.month === t.month && p.day === t.day && p.hour === t.hour && p.minute === t.minute;
  };
  const valid = [before, after].filter(matches);
  if (valid.length > 0) return Math.min(...valid);
  return before;
}

/**
 * The instant a `YYYY-MM-DD` date begins (or, with `endOfDay`, ends) in the zone.
 * The schema allows years 0000–9999; dates before 1970 all mean 1970-01-01, which is
 * as much in the past for every clock steward accepts and keeps the zone arithmetic
 * away from years the calendar formatter writes with an era.
 */
function dateOnly(text: string, timeZone: string, endOfDay: boolean): number {
  const [y, m, d] = text.split("-").map(Number) as [number, number, number];
  if (utc(y, m, d) < EARLIEST_DATE_INSTANT) return EARLIEST_DATE_INSTANT;
  const start = zonedInstant(timeZone, { year: y, month: m, day: d, hour: 0, minute: 0 });
  return endOfDay ? zonedInstant(timeZone, { year: y, month: m, day: d + 1, hour: 0, minute: 0 }) : start;
}

/** Why `openings` stopped: it searched all the days it was asked to, or the next opening would be after LAST_PLANNABLE_INSTANT. */
type OpeningsEnd = "searched" | "after-last-plannable";

/**
 * How far back the search starts, in days, at most. An opening that began earlier and
 * is still open means the window lasts longer than this, so a later opening inside
 * these days is open too (the week repeats); the answer "open or not" is the same, and
 * a duration of any size costs at most this many days of search.
 */
const MAX_BACK_DAYS = 366;

/**
 * The window's openings in order, beginning with the one that may still be open at
 * `from` (or the first on or after `not_before`, when that is later), over `days` days
 * from there. Bounded by `not_before`/`not_after` and by LAST_PLANNABLE_INSTANT: an
 * opening that would begin after it ends the search ("after-last-plannable"), one
 * that would last past it is cut there. Any duration and any `from` are safe.
 */
function* openings(window: Window, from: number, days: number): Generator<Opening, OpeningsEnd> {
  const durationMs = Math.min(parseDuration(window.duration) ?? 0, MAX_OPENING_MS);
  if (durationMs <= 0 || !Number.isFinite(from)) return "searched";
  const [hour, minute] = window.start.split(":").map(Number) as [number, number];
  const notBefore = window.not_before ? dateOnly(window.not_before, window.timezone, false) : -Infinity;
  const notAfter = window.not_after ? dateOnly(window.not_after, window.timezone, true) : Infinity;
  // Start far enough back to catch an opening that began before `from` and is still open;
  // openings before not_before do not count, so a far-off not_before is jumped to directly.
  const back = Math.min(Math.ceil(durationMs / DAY_MS) + 1, MAX_BACK_DAYS);
  const searchFrom = Math.max(from, notBefore) - back * DAY_MS;
  if (searchFrom > LAST_PLANNABLE_INSTANT) return "after-last-plannable";
  if (searchFrom < -MAX_TIME_VALUE) return "searched";
  const first = localParts(window.timezone, searchFrom);
  for (let i = 0; i <= days + back; i++) {
    const civil = new Date(Date.UTC(first.year, first.month - 1, first.day + i));
    const weekday = WEEKDAYS[civil.getUTCDay()]!;
    if (!window.days.includes(weekday)) continue;
    const opens = zonedInstant(window.timezone, { year: civil.getUTCFullYear(), month: civil.getUTCMonth() + 1, day: civil.getUTCDate(), hour, minute });
    if (opens < notBefore) continue;
    if (opens >= notAfter) return "searched";
    if (opens > LAST_PLANNABLE_INSTANT) return "after-last-plannable";
    const closes = Math.min(opens + durationMs, notAfter, LAST_PLANNABLE_INSTANT);
    if (closes <= from) continue;
    yield { opens: new Date(opens), closes: new Date(closes) };
  }
  return "searched";
}

/** The opening in effect at `at`, if the window is open then. */
export function openingAt(window: Window, at: Date): Opening | undefined {
  for (const o of openings(window, at.getTime(), 0)) if (o.opens.getTime() <= at.getTime()) return o;
  return undefined;
}

/**
 * Days searched from the later of `from` and `not_before`: the week repeats, so if no
 * listed day opens within a week (plus a day for the zone's offset and a start moved by
 * a DST gap) before `not_after`, none ever will. The answer is exact, not a horizon.
 */
const SEARCH_DAYS = 9;

/** The current opening if the window is open at `from`, else the next one; undefined when it never opens again. */
export function nextOpening(window: Window, from: Date): Opening | undefined {
  const next = openings(window, from.getTime(), SEARCH_DAYS).next();
  return next.done ? undefined : next.value;
}

/** Why a window never opens: the reason, the setting that causes it, and how to fix it. */
export interface NeverOpens {
  reason: string;
  field: "duration" | "not_before" | "not_after" | "days";
  hint: string;
}

const LAST_PLANNABLE_DAY = "9999-12-31";

/**
 * Why a window can never open from `from` on, and the setting that causes it; undefined
 * when it can. Safe for every window the schema accepts: a duration of any length
 * (the window is then open from its first opening on), dates in years 0000–9999, and
 * any valid `from`. A window whose first opening would be after 9999-12-31 (UTC)
 * never opens: no plan can name that time.
 */
export function whyNeverOpens(window: Window, from: Date): NeverOpens | undefined {
  if ((parseDuration(window.duration) ?? 0) <= 0) return { reason: "its duration is zero", field: "duration", hint: "give the window a length, e.g. '2h'" };
  if (window.not_before && window.not_after && window.not_after < window.not_before) return { reason: `not_after (${window.not_after}) is before not_before (${window.not_before})`, field: "not_after", hint: "not_after must be on or after not_before; are the two dates swapped?" };
  const start = window.not_before ? Math.min(from.getTime(), dateOnly(window.not_before, window.timezone, false)) : from.getTime();
  const search = openings(window, start, SEARCH_DAYS);
  const next = search.next();
  if (!next.done) return undefined;
  if (next.value === "after-last-plannable") {
    return { reason: `it would first open after ${LAST_PLANNABLE_DAY} (UTC), the last day a plan can name`, field: window.not_before ? "not_before" : "days", hint: `use a not_before on or before ${LAST_PLANNABLE_DAY}, with a listed day that opens by then` };
  }
  const hint = "list a day that falls between not_before and not_after, or widen the dates";
  if (window.not_after) return { reason: `no ${window.days.join("/")} between ${window.not_before ?? "now"} and ${window.not_after}`, field: "days", hint };
  return { reason: "no listed day occurs", field: "days", hint };
}

/** Why a window can never open from `from` on, or undefined when it can. */
export function neverOpensReason(window: Window, from: Date): string | undefined {
  return whyNeverOpens(window, from)?.reason;
}
