import { describe, expect, it } from "vitest";
import { neverOpensReason, nextOpening, openingAt } from "../../src/model/window.ts";
import type { Window } from "../../src/model/types.ts";

const berlin: Window = { timezone: "Europe/Berlin", days: ["sun"], start: "02:30", duration: "2h" };

describe("maintenance windows", () => {
  it("opens at local time in winter and summer", () => {
    expect(nextOpening(berlin, new Date("2026-01-05T00:00:00Z"))!.opens.toISOString()).toBe("2026-01-11T01:30:00.000Z");
    expect(nextOpening(berlin, new Date("2026-07-01T00:00:00Z"))!.opens.toISOString()).toBe("2026-07-05T00:30:00.000Z");
  });

  it("moves a start inside the skipped spring-forward hour later by the gap", () => {
    // 2026-03-29 02:30 does not exist in Berlin; it opens at 03:30 CEST.
    const o = nextOpening(berlin, new Date("2026-03-28T00:00:00Z"))!;
    expect(o.opens.toISOString()).toBe("2026-03-29T01:30:00.000Z");
    expect(o.closes.getTime() - o.opens.getTime()).toBe(2 * 3600_000);
  });

  it("uses the first of two repeated fall-back times", () => {
    // 2026-10-25 02:30 happens twice in Berlin: first at CEST (00:30Z).
    expect(nextOpening(berlin, new Date("2026-10-24T00:00:00Z"))!.opens.toISOString()).toBe("2026-10-25T00:30:00.000Z");
  });

  it("knows whether it is open at an instant, including windows past midnight", () => {
    const night: Window = { timezone: "America/New_York", days: ["fri"], start: "23:00", duration: "3h" };
    // Friday 2026-11-20 23:00 EST = Sat 04:00Z; still open Sat 01:30 EST = 06:30Z.
    expect(openingAt(night, new Date("2026-11-21T06:30:00Z"))?.opens.toISOString()).toBe("2026-11-21T04:00:00.000Z");
    expect(openingAt(night, new Date("2026-11-21T07:00:00Z"))).toBeUndefined();
    expect(openingAt(night, new Date("2026-11-21T03:59:00Z"))).toBeUndefined();
  });

  it("respects not_before and not_after", () => {
    const w: Window = { ...berlin, not_before: "2026-12-01", not_after: "2026-12-31" };
    expect(nextOpening(w, new Date("2026-11-22T00:00:00Z"))!.opens.toISOString()).toBe("2026-12-06T01:30:00.000Z");
    expect(nextOpening(w, new Date("2027-01-01T00:00:00Z"))).toBeUndefined();
  });

  it("explains why a window never opens", () => {
    const now = new Date("2026-11-22T00:00:00Z");
    expect(neverOpensReason({ ...berlin, duration: "0m" }, now)).toContain("zero");
    expect(neverOpensReason({ ...berlin, not_before: "2026-12-10", not_after: "2026-12-01" }, now)).toContain("before");
    expect(neverOpensReason({ ...berlin, not_before: "2026-12-01", not_after: "2026-12-03" }, now)).toContain("no sun");
    expect(neverOpensReason(berlin, now)).toBeUndefined();
  });
});

describe("windows far in the future", () => {
  // Saturday 2028-01-15 is the first day of the range; 22:00 CET is 21:00Z.
  const later: Window = { timezone: "Europe/Berlin", days: ["sat"], start: "22:00", duration: "2h", not_before: "2028-01-15", not_after: "2028-02-15" };
  const now = new Date("2026-11-22T12:00:00Z");

  it("opens on the first listed day of a range more than a year ahead", () => {
    expect(nextOpening(later, now)?.opens.toISOString()).toBe("2028-01-15T21:00:00.000Z");
    expect(neverOpensReason(later, now)).toBeUndefined();
  });

  it("opens in a range decades ahead, and says never only when no listed day is in the range", () => {
    expect(nextOpening({ ...later, not_before: "2090-06-01", not_after: "2090-06-30" }, now)?.opens.toISOString()).toBe("2090-06-03T20:00:00.000Z");
    // 2028-01-17 (Mon) to 2028-01-21 (Fri) holds no Saturday.
    expect(neverOpensReason({ ...later, not_before: "2028-01-17", not_after: "2028-01-21" }, now)).toContain("no sat between 2028-01-17 and 2028-01-21");
  });
});
