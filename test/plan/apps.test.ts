import { describe, expect, it } from "vitest";
import { decideApp } from "../../src/steps/app-upgrade/decide.ts";

const decide = (current: string, available: string[] | undefined, range = "^2.4", error?: string) =>
  decideApp("shop-api", range, { current, ...(available ? { available } : {}), ...(error ? { error } : {}) }, "app-release");

describe("app-upgrade decisions", () => {
  it("picks the newest available version inside the range", () => {
    expect(decide("2.4.1", ["2.4.0", "2.4.1", "2.6.3", "2.5.0", "3.0.0"])).toEqual({
      app: "shop-api", range: "^2.4", current: "2.4.1", to: "2.6.3", status: "upgrade", updateType: "minor", detail: "newest of 5 available in ^2.4",
    });
    expect(decide("1.2.0", ["1.2.0", "1.9.9", "2.0.0"], ">=1.2 <2")).toMatchObject({ to: "1.9.9", updateType: "minor" });
    // A range that crosses a major is the runbook's explicit say-so.
    expect(decide("1.9.0", ["2.4.0", "2.5.0"])).toMatchObject({ to: "2.5.0", updateType: "major", status: "upgrade" });
  });

  it("reads the version out of current_version's text and drops a leading v, giving install the strict form", () => {
    const d = decide("shop-api version 2.4.1 (build 77)", ["v2.4.1", "v2.5.0"]);
    expect(d).toMatchObject({ current: "2.4.1", to: "2.5.0", updateType: "minor" });
    expect(d.detail).toBe("newest of 2 available in ^2.4; read 'v2.5.0' as 2.5.0");
    expect(decide("v2.4.1", ["2.4.2"])).toMatchObject({ current: "2.4.1", to: "2.4.2", detail: "newest of 1 available in ^2.4; read 'v2.4.1' as 2.4.1" });
    // Already strict: compared as it is, build metadata kept for install.
    expect(decide("2.4.1", ["2.4.2+build.7"])).toMatchObject({ to: "2.4.2+build.7", detail: "newest of 1 available in ^2.4" });
  });

  it("refuses versions that are not strict semver instead of coercing them", () => {
    expect(decide("2.4.1", ["2.4.3", "--extra-index-url=https://evil.example/simple/2.6.0"])).toEqual({
      app: "shop-api", range: "^2.4", current: "2.4.1", to: null, status: "unknown",
      detail: 'available_versions printed "--extra-index-url=https://evil.example/simple/2.6.0", which is not a strict semver version (MAJOR.MINOR.PATCH, optionally after a v); nothing from this probe is trusted',
    });
    expect(decide("2.4.1", ["2.5.0$(touch /tmp/pwned)"])).toMatchObject({ status: "unknown", to: null, detail: expect.stringMatching(/^available_versions printed "2\.5\.0\$\(touch \/tmp\/pwned\)", which is not a strict semver/) });
    // Loose forms semver.coerce used to read: a missing patch, a fourth part, a leading zero.
    for (const loose of ["2.5", "2.5.0.1", "02.5.0", "2.5.0-01"]) expect(decide("2.4.1", [loose]).status, loose).toBe("unknown");
    expect(decide("shop-api 2.5.0$(id)", ["2.5.1"])).toMatchObject({ status: "unknown", current: null, detail: 'current_version printed "shop-api 2.5.0$(id)", whose version "2.5.0$(id)" is not strict semver (MAJOR.MINOR.PATCH)' });
    // Control characters are shown escaped, never echoed.
    expect(decide("2.4.1", ["2.5.0\u001b[2J"]).detail).toContain('"2.5.0\\u001b[2J"');
  });

  it("keeps pre-releases out of a range that names none", () => {
    expect(decide("2.4.1", ["2.4.1", "2.4.3", "2.5.0-rc.1"])).toMatchObject({ status: "upgrade", to: "2.4.3", updateType: "patch" });
    expect(decide("2.4.1", ["2.5.0-rc.1"])).toMatchObject({ status: "unknown", detail: "none of the 1 available versions (2.5.0-rc.1) is in ^2.4" });
    // A range naming a pre-release of the same MAJOR.MINOR.PATCH admits it.
    expect(decide("2.4.1", ["2.4.3", "2.5.0-rc.1"], ">=2.5.0-rc.0 <2.6")).toMatchObject({ to: "2.5.0-rc.1", updateType: "minor" });
  });

  it("changes nothing when the newest in range is installed, and never downgrades", () => {
    expect(decide("2.6.3", ["2.5.0", "2.6.3"])).toMatchObject({ status: "current", to: null, detail: "2.6.3 is the newest version in ^2.4" });
    expect(decide("2.7.0", ["2.5.0", "2.6.3"])).toMatchObject({ status: "current", to: null, detail: "2.7.0 is newer than every available version in ^2.4 (newest 2.6.3); not downgraded" });
  });

  it("explains every case it cannot decide", () => {
    expect(decideApp("shop-api", "^2.4", undefined, "app-release")).toMatchObject({ status: "unknown", detail: "no version facts for shop-api: gather them with `steward plan app-release --gather`" });
    expect(decide("", undefined, "^2.4", "current_version: exit 127: sh: shop-api: not found")).toMatchObject({ status: "unknown", current: null, detail: "current_version: exit 127: sh: shop-api: not found" });
    expect(decide("unknown build", ["2.5.0"])).toMatchObject({ status: "unknown", detail: 'current_version printed "unknown build", which holds no version' });
    expect(decide("version 2.4 (build 7)", ["2.5.0"])).toMatchObject({ status: "unknown", detail: 'current_version printed "version 2.4 (build 7)", whose version "2.4" is not strict semver (MAJOR.MINOR.PATCH)' });
    expect(decide("2.4.1", undefined)).toMatchObject({ status: "unknown", current: "2.4.1", detail: "the step has no available_versions command, so no version can be chosen; add one" });
    expect(decide("2.4.1", ["1.0.0", "3.0.0"])).toMatchObject({ status: "unknown", detail: "none of the 2 available versions (1.0.0, 3.0.0) is in ^2.4" });
    expect(decide("2.4.1", [])).toMatchObject({ status: "unknown", detail: "available_versions printed no version" });
  });
});
