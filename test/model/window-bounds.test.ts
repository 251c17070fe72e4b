import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Window } from "../../src/model/types.ts";
import { LAST_PLANNABLE_INSTANT, nextOpening, openingAt, whyNeverOpens } from "../../src/model/window.ts";

// RFC 3339 date-times as plans write them: a four-digit year.
const FOUR_DIGIT_YEAR = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const now = new Date("2026-11-22T12:00:00Z");
const daily: Window = { timezone: "Europe/Berlin", days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], start: "02:00", duration: "2h" };

describe("windows with durations of any length", () => {
  for (const duration of ["3000000000h", "200000000d", `${"9".repeat(400)}d`, "8d"]) {
    it(`answers for duration ${duration.length > 20 ? "10^400 days" : duration}: open, closing no later than 9999-12-31`, () => {
      const w = { ...daily, duration };
      expect(whyNeverOpens(w, now)).toBeUndefined();
      const o = nextOpening(w, now)!;
      expect(o.opens.getTime()).toBeLessThanOrEqual(now.getTime());
      expect(o.closes.getTime()).toBeLessThanOrEqual(LAST_PLANNABLE_INSTANT);
      expect(o.closes.toISOString()).toMatch(FOUR_DIGIT_YEAR);
      expect(openingAt(w, now)).toEqual(o);
    });
  }

  it("caps an opening at 366 days (validate refuses longer ones) and keeps it inside not_after", () => {
    const o = nextOpening({ ...daily, duration: "3000000000h", not_after: "2026-11-30" }, now)!;
    expect(o.closes.getTime()).toBeLessThanOrEqual(Date.parse("2026-11-30T23:00:00.000Z"));
    expect(o.closes.getTime() - o.opens.getTime()).toBeLessThanOrEqual(366 * 86_400_000);
    expect(o.opens.getTime()).toBeLessThanOrEqual(now.getTime());
  });
});

describe("windows at the ends of the calendar", () => {
  it("never opens when the first opening would be after 9999-12-31, and says so", () => {
    // 9999-12-31 is a Friday; the next Monday is in the year 10000.
    const w: Window = { ...daily, days: ["mon"], not_before: "9999-12-31" };
    expect(nextOpening(w, now)).toBeUndefined();
    const never = whyNeverOpens(w, now)!;
    expect(never.field).toBe("not_before");
    expect(never.reason).toBe("it would first open after 9999-12-31 (UTC), the last day a plan can name");
  });

  it("opens on 9999-12-31 and closes at the last instant a plan can name", () => {
    const w: Window = { timezone: "UTC", days: ["fri"], start: "22:00", duration: "4h", not_before: "9999-12-31" };
    const o = nextOpening(w, now)!;
    expect(o.opens.toISOString()).toBe("9999-12-31T22:00:00.000Z");
    expect(o.closes.toISOString()).toBe("9999-12-31T23:59:59.999Z");
  });

  it("never opens at all when the zone puts 9999-12-31's local opening in UTC year 10000", () => {
    const w: Window = { timezone: "America/New_York", days: ["fri"], start: "22:00", duration: "2h", not_before: "9999-12-31" };
    expect(nextOpening(w, now)).toBeUndefined();
    expect(whyNeverOpens(w, now)?.reason).toContain("after 9999-12-31");
  });

  it("reads dates in the years 0000–0099 as long past, not as 1900–1999", () => {
    const w: Window = { ...daily, not_before: "0000-01-01", not_after: "0099-12-31" };
    expect(nextOpening(w, now)).toBeUndefined();
    expect(whyNeverOpens(w, now)?.field).toBe("days");
    expect(nextOpening({ ...daily, not_before: "0001-01-01" }, now)).toBeDefined();
  });

  it("never throws, and every opening it gives has four-digit years, for any schema-valid window and clock", () => {
    const date = fc.record({ y: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 99, 1999, 2000, 9998, 9999)), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }) }).map(({ y, m, d }) => `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`);
    const window = fc.record(
      {
        timezone: fc.constantFrom("UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"),
        days: fc.subarray(["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const, { minLength: 1 }),
        start: fc.constantFrom("00:00", "02:30", "23:59"),
        duration: fc.constantFrom("0m", "1m", "2h", "8d", "3000000000h", "200000000d", `${"9".repeat(30)}d`),
        not_before: date,
        not_after: date,
      },
      { requiredKeys: ["timezone", "days", "start", "duration"] },
    ) as fc.Arbitrary<Window>;
    const clock = fc.integer({ min: Date.UTC(2000, 0, 1), max: LAST_PLANNABLE_INSTANT }).map((t) => new Date(t));
    fc.assert(
      fc.property(window, clock, (w, at) => {
        const o = nextOpening(w, at);
        const never = whyNeverOpens(w, at);
        openingAt(w, at);
        if (o !== undefined) {
          expect(o.opens.toISOString()).toMatch(FOUR_DIGIT_YEAR);
          expect(o.closes.toISOString()).toMatch(FOUR_DIGIT_YEAR);
          expect(o.closes.getTime()).toBeGreaterThan(at.getTime());
        }
        if (never !== undefined) expect(never.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
