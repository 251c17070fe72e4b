import { describe, expect, it } from "vitest";
import { compareApkVersions } from "../../src/drivers/apk/version.ts";
import { compareDebianVersions } from "../../src/drivers/apt/version.ts";
import { compareRpmVersions, rpmvercmp } from "../../src/drivers/dnf/version.ts";
import { drivers } from "../../src/drivers/registry.ts";

/** Each row is [a, b, expected sign], checked both ways round. */
function table(compare: (a: string, b: string) => number, rows: ReadonlyArray<[string, string, -1 | 0 | 1]>): void {
  for (const [a, b, sign] of rows) {
    expect(Math.sign(compare(a, b)), `${a} vs ${b}`).toBe(sign);
    expect(Math.sign(compare(b, a)), `${b} vs ${a}`).toBe(-sign || 0);
  }
}

describe("rpmvercmp", () => {
  it("orders as rpm's own test table (tests/rpmvercmp.at) says", () => {
    table(rpmvercmp, [
      ["1.0", "1.0", 0],
      ["1.0", "2.0", -1],
      ["2.0.1", "2.0", 1],
      ["2.0.1a", "2.0.1", 1],
      ["5.5p1", "5.5p2", -1],
      ["5.5p10", "5.5p1", 1],
      ["10xyz", "10.1xyz", -1],
      ["xyz10", "xyz10.1", -1],
      ["xyz.4", "8", -1],
      ["5.5p1", "5.6p1", -1],
      ["1.0aa", "1.0a", 1],
      ["10.0001", "10.1", 0],
      ["10.0001", "10.0039", -1],
      ["4.999.9", "5.0", -1],
      ["20101121", "20101122", -1],
      ["2_0", "2_0", 0],
      ["2.0", "2_0", 0],
      ["a", "b", -1],
      ["a+", "a_", 0],
      ["+a", "_a", 0],
      ["+_", "_+", 0],
      ["1.0~rc1", "1.0", -1],
      ["1.0~rc1", "1.0~rc2", -1],
      ["1.0~rc1~git123", "1.0~rc1", -1],
      ["1.0^", "1.0", 1],
      ["1.0^git1", "1.0", 1],
      ["1.0^git1", "1.01", -1],
      ["1.0^20160101", "1.0.1", -1],
      ["1.0^20160101^git1", "1.0^20160101", 1],
      ["1.0~rc1^git1", "1.0~rc1", 1],
      ["1.0^git1~pre", "1.0^git1", -1],
    ]);
  });

  it("orders kernel EVRs: a RHEL z-stream build is newer than the GA build", () => {
    table(compareRpmVersions, [
      ["4.18.0-348.7.1.el8_5", "4.18.0-348.el8", 1],
      ["4.18.0-372.9.1.el8", "4.18.0-348.7.1.el8_5", 1],
      ["1:1.0-1", "2.0-1", 1],
      ["4.18.0", "4.18.0-348.el8", 0],
    ]);
    // dpkg's rules order the same pair the other way round: the bug this driver fixes.
    expect(compareDebianVersions("4.18.0-348.7.1.el8_5", "4.18.0-348.el8")).toBeLessThan(0);
  });
});

describe("apk version order", () => {
  it("orders as apk-tools' version.c does", () => {
    table(compareApkVersions, [
      ["1.0", "1.0", 0],
      ["1.0", "1.0.0", -1],
      ["1.0_alpha", "1.0", -1],
      ["1.0_beta", "1.0_alpha", 1],
      ["1.0_rc1", "1.0", -1],
      ["1.0_rc9", "1.0_rc10", -1],
      ["1.0_p1", "1.0", 1],
      ["1.0_git20240101", "1.0", 1],
      ["1.0-r1", "1.0", 1],
      ["1.0-r1", "1.0-r2", -1],
      ["1.0-r9", "1.0-r10", -1],
      ["1.0-r1", "1.0.1", -1],
      ["1.0a", "1.0", 1],
      ["1.0a", "1.0b", -1],
      ["1.01", "1.1", -1],
      ["2.34", "0.1.0_alpha", 1],
      ["6.6.14-r0", "6.6.20-r0", -1],
      ["6.6.14-r1", "6.6.14-r0", 1],
      ["1.0~abc123", "1.0", 1],
      ["1.0~abc123-r1", "1.0~abc123-r0", 1],
      ["1.0_pre1", "1.0_rc1", -1],
    ]);
  });
});

describe("drivers", () => {
  it("each compare versions in its own manager's order", () => {
    expect(drivers.apt.compareVersions("1.0~rc1", "1.0")).toBeLessThan(0);
    expect(drivers.dnf.compareVersions("4.18.0-348.7.1.el8_5", "4.18.0-348.el8")).toBeGreaterThan(0);
    expect(drivers.apk.compareVersions("1.0_rc1", "1.0")).toBeLessThan(0);
  });
});
