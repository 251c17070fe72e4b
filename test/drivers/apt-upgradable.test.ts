import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drivers } from "../../src/drivers/registry.ts";

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, "../fixtures/drivers/apt", name), "utf8");
const { apt } = drivers;

describe("apt list --upgradable --all-versions on real bookworm output", () => {
  const all = apt.parseUpgradable(fixture("apt-list-upgradable-all.txt"), []);
  const plain = apt.parseUpgradable(fixture("apt-list-upgradable.txt"), []);

  it("lists one entry per upgradable package, each with its candidate", () => {
    const text = fixture("apt-list-upgradable-all.txt");
    expect(all).toHaveLength(text.split("\n").filter((l) => l.includes("[upgradable from: ")).length);
    expect(all.find((p) => p.name === "apt")).toEqual({ name: "apt", arch: "amd64", from: "2.6.1", to: "2.6.2", source: "oldstable-security", security: true });
  });

  it("offers the versions between installed and candidate, newest first, with their sources", () => {
    expect(all.find((p) => p.name === "jq")).toEqual({
      name: "jq", arch: "amd64", from: "1.6-2.1+deb12u1", to: "1.6-2.1+deb12u3", source: "oldstable-security", security: true,
      versions: [
        { version: "1.6-2.1+deb12u3", source: "oldstable-security", security: true },
        { version: "1.6-2.1+deb12u2", source: "oldstable", security: false },
      ],
    });
  });

  it("ignores versions older than the installed one", () => {
    // curl's security archive still carries 7.88.1-10+deb12u5, below the installed deb12u14.
    const curl = all.find((p) => p.name === "curl");
    expect(curl).toEqual({ name: "curl", arch: "amd64", from: "7.88.1-10+deb12u14", to: "7.88.1-10+deb12u15", source: "oldstable", security: false });
  });

  it("ignores versions newer than the candidate (pinned down by apt preferences)", () => {
    const out = apt.parseUpgradable(
      ["Listing...", "pkg/stable 1.2-1 amd64 [upgradable from: 1.0-1]", "pkg/backports 2.0-1~bpo12+1 amd64", "pkg/stable 1.1-1 amd64", "pkg/now 1.0-1 amd64 [installed,upgradable to: 1.2-1]", ""].join("\n"),
      [],
    );
    expect(out).toEqual([{ name: "pkg", arch: "amd64", from: "1.0-1", to: "1.2-1", source: "stable", security: false, versions: [
      { version: "1.2-1", source: "stable", security: false },
      { version: "1.1-1", source: "stable", security: false },
    ] }]);
  });

  it("keeps architectures apart", () => {
    const out = apt.parseUpgradable(
      ["libx/stable 2-1 amd64 [upgradable from: 1-1]", "libx/stable 2-1 i386 [upgradable from: 1-1]", "libx/stable 1.5-1 i386", ""].join("\n"),
      [],
    );
    expect(out.map((p) => p.versions?.map((v) => v.version))).toEqual([undefined, ["2-1", "1.5-1"]]);
  });

  it("offers no versions when the listing has only candidates", () => {
    expect(plain.length).toBeGreaterThan(10);
    expect(plain.filter((p) => p.versions !== undefined)).toEqual([]);
  });
});
