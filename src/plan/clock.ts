import { UsageError } from "../core/errors.ts";
import { FIRST_PLANNABLE_INSTANT, LAST_PLANNABLE_INSTANT } from "../model/window.ts";

/**
 * A plan's clock (`--now`). Plans name times as RFC 3339 date-times (`createdAt`, the
 * window) and their id carries `yyyymmddThhmm`, all with four-digit years; and the
 * clock must mean the same instant on every machine. So it is an ISO 8601 / RFC 3339
 * date-time with seconds optional and fractions to the millisecond, and a zone (`Z` or
 * `±hh:mm`), between 2000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const EXAMPLE = "use an ISO 8601 date-time with a four-digit year and a zone, e.g. 2026-11-24T01:30:00Z";

/**
 * Reads `--now`.
 * @throws UsageError (exit 2) naming what is wrong: not a date-time, no zone, a field
 * out of range (month 13, 25:00, February 30), or an instant outside 2000–9999 (UTC).
 */
export function parsePlanTime(text: string): Date {
  const m = DATE_TIME.exec(text);
  if (m === null) {
    const why = /^[+-]\d{5,}/.test(text) ? "has a year of more than four digits" : /^\d{4}-\d{2}-\d{2}$/.test(text) ? "is a date without a time" : /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? "has no zone, so it would mean another instant on a machine in another zone" : "is not an ISO 8601 date-time";
    throw new UsageError(`--now '${text}' ${why}`, EXAMPLE);
  }
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const wall = new Date(0);
  wall.setUTCFullYear(year, month - 1, day);
  wall.setUTCHours(hour, minute, second, Number((m[7] ?? "0").padEnd(3, "0")));
  if (wall.getUTCFullYear() !== year || wall.getUTCMonth() !== month - 1 || wall.getUTCDate() !== day || wall.getUTCHours() !== hour || wall.getUTCMinutes() !== minute || wall.getUTCSeconds() !== second) {
    throw new UsageError(`--now '${text}' is not a date-time that exists (month 01–12, a day of that month, hours 00–23, minutes and seconds 00–59)`, EXAMPLE);
  }
  const offsetMinutes = m[9] === undefined ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (Math.abs(offsetMinutes) >= 24 * 60 || Number(m[11] ?? 0) > 59) throw new UsageError(`--now '${text}' has a zone offset out of range`, "offsets run from -23:59 to +23:59");
  const now = new Date(wall.getTime() - offsetMinutes * 60_000);
  checkPlanTime(now, `--now '${text}'`);
  return now;
}

/**
 * Refuses a plan clock outside 2000-01-01T00:00:00Z – 9999-12-31T23:59:59.999Z, or an
 * invalid Date: a plan made then could not be written in the form parsePlan accepts.
 * @throws UsageError (exit 2).
 */
export function checkPlanTime(now: Date, what = "the plan's time"): void {
  const t = now.getTime();
  if (Number.isNaN(t)) throw new UsageError(`${what} is not a date`, EXAMPLE);
  if (t < FIRST_PLANNABLE_INSTANT || t > LAST_PLANNABLE_INSTANT) throw new UsageError(`${what} is outside the years 2000–9999 (UTC) a plan can name`, EXAMPLE);
}
