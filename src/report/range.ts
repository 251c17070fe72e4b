/**
 * The time flags every `steward report` shares (`--since`, `--until`, `--now`,
 * `--stale-after`): one grammar, one error per flag, so status, trends and forecast
 * read a range the same way.
 */
import { StewardError } from "../core/errors.ts";

/** Milliseconds in a day. */
export const DAY = 86_400_000;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const invalid = (flag: string, value: string, what: string): StewardError => new StewardError("invalid-input", `${flag} ${JSON.stringify(value.slice(0, 60))} is not ${what}`, `write ${flag} as ${flag === "--since" ? "a span back from --until (90d, 12w) or " : ""}a date (2026-12-01) or an ISO 8601 time with a zone (2026-12-01T00:00:00Z)`);

/** An absolute time: YYYY-MM-DD (00:00 UTC) or ISO 8601 with a zone. @throws StewardError invalid-input naming the flag. */
export function parseInstant(flag: string, value: string): Date {
  if (!ISO_DATE.test(value) && !ISO_TIME.test(value)) throw invalid(flag, value, "a date or an ISO 8601 time with a zone");
  const t = Date.parse(ISO_DATE.test(value) ? `${value}T00:00:00Z` : value);
  // Date.parse rolls 2026-02-30 over to March: a day the month does not have is refused.
  const [y, m, d] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  if (m < 1 || m > 12 || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) throw invalid(flag, value, "a real date (that month has no such day)");
  if (Number.isNaN(t) || new Date(t).getUTCFullYear() < 2000 || new Date(t).getUTCFullYear() > 9999) throw invalid(flag, value, "a real date between the years 2000 and 9999");
  return new Date(t);
}

/** --since: `<N>d` or `<N>w` back from `until`, or an absolute time. @throws StewardError invalid-input naming the flag. */
export function parseSince(value: string, until: Date): Date {
  const m = /^(\d{1,5})([dw])$/.exec(value);
  if (m === null) return parseInstant("--since", value);
  const n = Number(m[1]) * (m[2] === "w" ? 7 : 1);
  if (n === 0) throw invalid("--since", value, "a span of at least one day");
  return new Date(until.getTime() - n * DAY);
}

/** --stale-after: `<N>d` or `<N>h`, in milliseconds. @throws StewardError invalid-input naming the flag. */
export function parseStale(value: string): number {
  const m = /^(\d{1,4})([dh])$/.exec(value);
  if (m === null || Number(m[1]) === 0) throw new StewardError("invalid-input", `--stale-after ${JSON.stringify(value.slice(0, 60))} is not a span like 8d or 36h`, "write --stale-after as days (8d) or hours (36h)");
  return Number(m[1]) * (m[2] === "d" ? DAY : 3_600_000);
}

