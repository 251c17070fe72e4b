import { describe, expect, it } from "vitest";
import { nextOpening, openingAt, whyNeverOpens } from "../../src/model/window.ts";
import type { Window } from "../../src/model/types.ts";
import { cronError } from "../../src/validate/cron.ts";

describe("window arithmetic never leaves a Date's range", () => {
  const from = new Date("2026-11-22T12:00:00Z");
  for (const duration of ["3000000000h", "200000000d", "99999999999999999999999d"]) {
    it(`answers for a window of ${duration} instead of throwing RangeError`, () => {
      const window: Window = { timezone: "Europe/Berlin", days: ["tue"], start: "02:00", duration };
      expect(whyNeverOpens(window, from)).toBeUndefined();
      const next = nextOpening(window, from)!;
      expect(Number.isFinite(next.closes.getTime())).toBe(true);
      expect(() => openingAt(window, from)).not.toThrow();
    });
  }
});

describe("cronError (POSIX crontab(5) fields)", () => {
  it.each([
    "0 2 * * tue",
    "*/15 * * * *",
    "0 0-23/2 1,15 jan-jun mon-fri",
    "5/10 * * * 7",
    "0 2 * DEC SUN",
    "@weekly",
  ])("accepts %s", (expression) => expect(cronError(expression)).toBeUndefined());

  it.each([
    ["99 99 * * funday", "minute 99 is out of range 0–59"],
    ["0 24 * * *", "hour 24 is out of range 0–23"],
    ["0 2 0 * *", "day of month 0 is out of range 1–31"],
    ["0 2 * 13 *", "month 13 is out of range 1–12"],
    ["0 2 * * 8", "day of week 8 is out of range 0–7"],
    ["0 2 * * funday", "`funday` is not a day of week: use 0–7 or sun–sat"],
    ["0 2 * * fri-mon", "the range `fri-mon` runs backwards"],
    ["*/0 * * * *", "the step in `*/0` must be a number from 1 to 59"],
    ["0 2 * * 1-", "`1-` is not a value or a range a-b"],
    ["0 2 * *", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), not 4"],
  ])("refuses %s: %s", (expression, message) => expect(cronError(expression)).toBe(message));
});
