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

/** Milliseconds the zone is ahead of UTC at an instant. */
function offsetAt(timeZone: string, instant: number): number {
  const p = localParts(timeZone, instant);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(instant / 1000) * 1000;
}

/** The instant a local wall-clock time happens in a zone (see the module comment for gaps and overlaps). */
export function zonedInstant(timeZone: string, t: LocalTime): number {
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);
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

function dateOnly(text: string, timeZone: string, endOfDay: boolean): number {
  const [y, m, d] = text.split("-").map(Number) as [number, number, number];
  const start = zonedInstant(timeZone, { year: y, month: m, day: d, hour: 0, minute: 0 });
  return endOfDay ? zonedInstant(timeZone, { year: y, month: m, day: d + 1, hour: 0, minute: 0 }) : start;
}

/**
 * The window's openings in order, beginning with the one that may still be open at
 * `from` (or the first on or after `not_before`, when that is later), over `days` days
 * from there. Bounded by `not_before`/`not_after`.
 */
function* openings(window: Window, from: number, days: number): Generator<Opening> {
  const durationMs = Math.min(parseDuration(window.duration) ?? 0, MAX_OPENING_MS);
  if (durationMs <= 0) return;
  const [hour, minute] = window.start.split(":").map(Number) as [number, number];
  const notBefore = window.not_before ? dateOnly(window.not_before, window.timezone, false) : -Infinity;
  const notAfter = window.not_after ? dateOnly(window.not_after, window.timezone, true) : Infinity;
  // Start far enough back to catch an opening that began before `from` and is still open;
  // openings before not_before do not count, so a far-off not_before is jumped to directly.
  const back = Math.ceil(durationMs / DAY_MS) + 1;
  const first = localParts(window.timezone, Math.max(from, notBefore) - back * DAY_MS);
  for (let i = 0; i <= days + back; i++) {
    const civil = new Date(Date.UTC(first.year, first.month - 1, first.day + i));
    const weekday = WEEKDAYS[civil.getUTCDay()]!;
    if (!window.days.includes(weekday)) continue;
    const opens = zonedInstant(window.timezone, { year: civil.getUTCFullYear(), month: civil.getUTCMonth() + 1, day: civil.getUTCDate(), hour, minute });
    if (opens < notBefore) continue;
    if (opens >= notAfter) return;
    const closes = Math.min(opens + durationMs, notAfter);
    if (closes <= from) continue;
    yield { opens: new Date(opens), closes: new Date(closes) };
  }
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
  return openings(window, from.getTime(), SEARCH_DAYS).next().value ?? undefined;
}

/** Why a window can never open from `from` on, and the setting that causes it; undefined when it can. */
export function whyNeverOpens(window: Window, from: Date): { reason: string; field: "duration" | "not_after" | "days" } | undefined {
  if ((parseDuration(window.duration) ?? 0) <= 0) return { reason: "its duration is zero", field: "duration" };
  if (window.not_before && window.not_after && window.not_after < window.not_before) return { reason: `not_after (${window.not_after}) is before not_before (${window.not_before})`, field: "not_after" };
  const start = window.not_before ? Math.min(from.getTime(), dateOnly(window.not_before, window.timezone, false)) : from.getTime();
  if (nextOpening(window, new Date(start))) return undefined;
  if (window.not_after) return { reason: `no ${window.days.join("/")} between ${window.not_before ?? "now"} and ${window.not_after}`, field: "days" };
  return { reason: "no listed day occurs", field: "days" };
}

/** Why a window can never open from `from` on, or undefined when it can. */
export function neverOpensReason(window: Window, from: Date): string | undefined {
  return whyNeverOpens(window, from)?.reason;
}
