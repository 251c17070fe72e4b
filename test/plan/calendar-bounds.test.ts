import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exitCodeFor } from "../../src/cli/exit-codes.ts";
import type { Window } from "../../src/model/types.ts";
import { parsePlan, planJson } from "../../src/plan/artifact.ts";
import { checkPlanTime, parsePlanTime } from "../../src/plan/clock.ts";
import { plan } from "../../src/plan/planner.ts";
import { facts, host, INPUTS, inventory, ok, runbook, up, withUpgrades } from "./fixtures.ts";

const inv = inventory([host("db-01", ["db"]), host("web-01", ["web"])]);
const cache = new Map([
  ["db-01", ok("db-01", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1")]))],
  ["web-01", ok("web-01", facts())],
]);
const makePlan = (now: Date, window?: Window) => plan({ inventory: inv, runbook: runbook(window ? { window } : {}), facts: cache, now, toolVersion: "0.1.0", inputs: INPUTS });

/** Edge dates for the clock: the first and last instants a plan can name, and the days around year boundaries. */
const EDGE_CLOCKS = ["2000-01-01T00:00:00.000Z", "2000-01-01T00:00:00.001Z", "2026-11-24T01:30:00.000Z", "9998-12-31T23:59:00.000Z", "9999-12-25T00:00:00.000Z", "9999-12-31T00:00:00.000Z", "9999-12-31T23:59:59.999Z"];
const EDGE_DATES = ["0000-01-01", "0099-12-31", "1999-12-31", "2000-01-01", "2026-11-24", "9999-12-24", "9999-12-30", "9999-12-31"];

describe("every plan the planner writes is one parsePlan accepts", () => {
  it("holds for clocks and window dates at the ends of the calendar, any duration and zone", () => {
    const window = fc.record(
      {
        timezone: fc.constantFrom("UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"),
        days: fc.subarray(["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const, { minLength: 1 }),
        start: fc.constantFrom("00:00", "02:30", "23:59"),
        duration: fc.constantFrom("1m", "4h", "8d", "3000000000h", "200000000d"),
        not_before: fc.constantFrom(...EDGE_DATES),
        not_after: fc.constantFrom(...EDGE_DATES),
      },
      { requiredKeys: ["timezone", "days", "start", "duration"] },
    ) as fc.Arbitrary<Window>;
    const clock = fc.oneof(fc.constantFrom(...EDGE_CLOCKS), fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }).map((t) => new Date(t).toISOString())).map((t) => new Date(t));
    fc.assert(
      fc.property(clock, fc.option(window, { nil: undefined }), (now, w) => {
        const p = makePlan(now, w);
        expect(p.id).toMatch(/^[a-z0-9][a-z0-9-]*-[0-9]{8}T[0-9]{4}-[0-9a-f]{12}$/);
        expect(parsePlan(planJson(p), "plans/x.json").id).toBe(p.id);
      }),
      { numRuns: 250 },
    );
  });

  it("writes a window first opening after 9999-12-31 as never opening, with that reason, and skips the hosts", () => {
    const p = makePlan(new Date("2026-11-24T01:30:00Z"), { timezone: "Europe/Berlin", days: ["mon"], start: "02:00", duration: "2h", not_before: "9999-12-31" });
    expect(p.window).toMatchObject({ opens: null, closes: null, never: "it would first open after 9999-12-31 (UTC), the last day a plan can name" });
    expect(p.skipped.map((s) => s.reason)).toEqual(["window-never-opens", "window-never-opens"]);
    expect(parsePlan(planJson(p), "plans/x.json").window?.never).toBe(p.window?.never);
  });
});

describe("the plan's clock", () => {
  it("reads ISO 8601 date-times with a zone", () => {
    expect(parsePlanTime("2026-11-24T01:30:00Z").toISOString()).toBe("2026-11-24T01:30:00.000Z");
    expect(parsePlanTime("2026-11-24T02:30+01:00").toISOString()).toBe("2026-11-24T01:30:00.000Z");
    expect(parsePlanTime("9999-12-31T23:59:59.999Z").toISOString()).toBe("9999-12-31T23:59:59.999Z");
    expect(parsePlanTime("2000-01-01T00:00:00Z").toISOString()).toBe("2000-01-01T00:00:00.000Z");
  });

  for (const [text, why] of [
    ["+200000-09-13T00:00:00.000Z", "has a year of more than four digits"],
    ["+275760-09-13T00:00:00.000Z", "has a year of more than four digits"],
    ["1999-12-31T23:59:59Z", "outside the years 2000–9999"],
    ["9999-12-31T23:00:00-05:00", "outside the years 2000–9999"],
    ["2026-11-24T01:30:00", "has no zone"],
    ["2026-11-24", "is a date without a time"],
    ["2026-02-30T00:00:00Z", "is not a date-time that exists"],
    ["2026-11-24T24:00:00Z", "is not a date-time that exists"],
    ["2026-11-24T01:30:00+24:00", "zone offset out of range"],
    ["yesterday", "is not an ISO 8601 date-time"],
    ["Tue, 24 Nov 2026 01:30:00 GMT", "is not an ISO 8601 date-time"],
  ] as const) {
    it(`refuses '${text}' as a usage error: ${why}`, () => {
      let error: unknown;
      try {
        parsePlanTime(text);
      } catch (e) {
        error = e;
      }
      expect(exitCodeFor(error)).toBe(2);
      expect((error as Error).message).toContain(why);
    });
  }

  it("is checked by the planner itself, so no caller can write a plan it would refuse", () => {
    expect(() => makePlan(new Date("+010000-01-01T00:00:00Z"))).toThrow(/outside the years 2000–9999/);
    expect(() => makePlan(new Date(Number.NaN))).toThrow(/not a date/);
    expect(() => checkPlanTime(new Date("1970-01-01T00:00:00Z"))).toThrow(/outside/);
  });
});
