import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drivers } from "../../src/drivers/registry.ts";

const fixture = (path: string): string => readFileSync(join(import.meta.dirname, "../fixtures/drivers", path), "utf8");
const { apt } = drivers;
// dnf and apk: test/drivers/dnf.test.ts and test/drivers/apk.test.ts.

describe("apt parsers on real bookworm output", () => {
  it("lists upgradable packages with candidates and flags security suites", () => {
    const upgradable = apt.parseUpgradable(fixture("apt/apt-list-upgradable.txt"), []);
    const lines = fixture("apt/apt-list-upgradable.txt").trim().split("\n");
    expect(upgradable).toHaveLength(lines.length - 1); // "Listing..." is the one non-package line
    expect(upgradable.find((p) => p.name === "apt")).toEqual({ name: "apt", arch: "amd64", from: "2.6.1", to: "2.6.2", source: "oldstable-security", security: true });
    expect(upgradable.find((p) => p.name === "appstream")).toEqual({ name: "appstream", arch: "amd64", from: "0.16.1-2", to: "0.16.1-2+b1", source: "oldstable", security: false });
    // In both a point release and the security archive: still a security update.
    expect(upgradable.find((p) => p.name === "krb5-locales")).toMatchObject({ source: "oldstable,oldstable-security", security: true });
    expect(upgradable.find((p) => p.name === "libcap2")).toMatchObject({ from: "1:2.66-4+deb12u2+b2", to: "1:2.66-4+deb12u3+b1" });
    expect(upgradable.filter((p) => p.security).length).toBe(lines.filter((l) => l.includes("security")).length);
  });

  it("parses a simulated install: upgrades with versions and origins", () => {
    const result = apt.parseSimulation({ stdout: fixture("apt/apt-get-s-install.txt"), stderr: "", exitCode: 0 });
    expect(result.ok).toBe(true);
    expect(result.errors).toEqual([]);
    expect(result.changes).toHaveLength(8);
    expect(result.changes.find((c) => c.name === "jq")).toEqual({ name: "jq", action: "upgrade", from: "1.6-2.1+deb12u1", to: "1.6-2.1+deb12u3", source: "Debian-Security:12/oldstable-security" });
  });

  it("reports a version apt cannot find", () => {
    const result = apt.parseSimulation({ stdout: fixture("apt/apt-get-s-install-bad-version.txt"), stderr: "", exitCode: 100 });
    expect(result).toEqual({ ok: false, changes: [], errors: ["E: Version '9.9' for 'jq' was not found"] });
  });

  it("flags packages dpkg has not finished installing and holds", () => {
    const out = "aa\t1.0\tall\tinstall ok installed\nbb\t2.0\tamd64\tinstall ok half-configured\ncc\t3\tall\thold ok installed\ndd\t4\tall\tdeinstall ok config-files\nee\t5\tall\tinstall reinstreq half-installed\n";
    expect(apt.parseInstalled(out)).toEqual([
      { name: "aa", version: "1.0", arch: "all" },
      { name: "bb", version: "2.0", arch: "amd64", status: "half-configured" },
      { name: "cc", version: "3", arch: "all", held: true },
      { name: "ee", version: "5", arch: "all", status: "reinstreq" },
    ]);
  });

  it("quotes every version it puts in a command, after --, and refuses what dpkg would not", () => {
    expect(apt.install([{ name: "lib", version: "1:2.0~rc1" }]).command).toMatch(/ -- 'lib=1:2\.0~rc1'$/);
    expect(() => apt.simulateInstall([{ name: "xx", version: "1;rm -rf /" }])).toThrow('apt-get -s install: apt package version "1;rm -rf /" is not valid');
  });
});
