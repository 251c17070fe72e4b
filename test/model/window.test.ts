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
