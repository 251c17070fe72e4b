import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drivers } from "../../src/drivers/registry.ts";

const fixture = (path: string): string => readFileSync(join(import.meta.dirname, "../fixtures/drivers", path), "utf8");
const { apt, dnf, apk } = drivers;

describe("apt parsers on real bookworm output", () => {
  it("lists upgradable packages with candidates and flags security suites", () => {
    const upgradable = apt.parseUpgradable(fixture("apt/apt-list-upgradable.txt"), []);
    const lines = fixture("apt/apt-list-upgradable.txt").trim().split("\n");
    expect(upgradable).toHaveLength(lines.length - 1); // "Listing..." is the one non-package line
    expect(upgradable.find((p) => p.name === "apt")).toEqual({ name: "apt", from: "2.6.1", to: "2.6.2", source: "oldstable-security", security: true });
    expect(upgradable.find((p) => p.name === "appstream")).toEqual({ name: "appstream", from: "0.16.1-2", to: "0.16.1-2+b1", source: "oldstable", security: false });
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
    const out = "a\t1.0\tall\tinstall ok installed\nb\t2.0\tamd64\tinstall ok half-configured\nc\t3\tall\thold ok installed\nd\t4\tall\tdeinstall ok config-files\ne\t5\tall\tinstall reinstreq half-installed\n";
    expect(apt.parseInstalled(out)).toEqual([
      { name: "a", version: "1.0", arch: "all" },
      { name: "b", version: "2.0", arch: "amd64", status: "half-configured" },
      { name: "c", version: "3", arch: "all", held: true },
      { name: "e", version: "5", arch: "all", status: "reinstreq" },
    ]);
  });

  it("quotes every version it puts in a command", () => {
    expect(apt.install([{ name: "lib", version: "1:2.0~rc1" }]).command).toContain("lib=1:2.0~rc1");
    expect(apt.simulateInstall([{ name: "x", version: "1;rm -rf /" }]).command).toContain("'x=1;rm -rf /'");
  });
});

describe("dnf parsers (documented format, see the fixture README)", () => {
  const installed = dnf.parseInstalled(fixture("dnf/list-installed.rhel9.txt"));

  it("lists installed packages, every arch and kernel kept", () => {
    expect(installed).toHaveLength(10);
    expect(installed.filter((p) => p.name === "glibc").map((p) => p.arch)).toEqual(["i686", "x86_64"]);
    expect(installed.find((p) => p.name === "NetworkManager")).toEqual({ name: "NetworkManager", version: "1:1.44.0-3.el9", arch: "x86_64" });
    expect(installed.find((p) => p.name === "python3-dnf-plugin-versionlock")?.version).toBe("4.3.0-11.el9_3");
  });

  it("reads dnf 5's listing", () => {
    expect(dnf.parseInstalled(fixture("dnf/list-installed.fedora40-dnf5.txt")).map((p) => `${p.name} ${p.version}`)).toEqual([
      "bash 5.2.26-3.fc40",
      "dnf5 5.1.17-1.fc40",
      "fedora-release-common 40-39",
      "openssl-libs 1:3.2.1-2.fc40",
    ]);
  });

  it("lists updates with from-versions, rejoins wrapped rows and skips obsoletes", () => {
    const upgradable = dnf.parseUpgradable(fixture("dnf/check-update.rhel9.txt"), installed);
    expect(upgradable.map((p) => p.name)).toEqual(["curl", "kernel", "libcurl", "python3-dnf-plugin-versionlock", "tzdata"]);
    expect(upgradable.find((p) => p.name === "curl")).toEqual({ name: "curl", from: "7.76.1-26.el9_3.2", to: "7.76.1-26.el9_3.3", source: "baseos", security: false });
    expect(upgradable.find((p) => p.name === "python3-dnf-plugin-versionlock")).toMatchObject({ from: "4.3.0-11.el9_3", to: "4.3.0-11.el9_3.1", source: "appstream" });
    expect(upgradable.find((p) => p.name === "tzdata")?.security).toBe(true);
  });

  it("reads version locks and a transaction", () => {
    expect(dnf.parseHeld(fixture("dnf/versionlock-list.rhel9.txt"))).toEqual(["curl", "tzdata"]);
    expect(dnf.parseHeld("# Added by 'versionlock add' command on 2024-05-01\nPackage name: curl\nevr = 7.76.1\n")).toEqual(["curl"]);
    const sim = dnf.parseSimulation({ stdout: fixture("dnf/install-assumeno.rhel9.txt"), stderr: "", exitCode: 1 });
    expect(sim.ok).toBe(true);
    expect(sim.changes).toEqual([
      { name: "curl", action: "upgrade", to: "7.76.1-26.el9_3.3", source: "baseos" },
      { name: "libcurl", action: "upgrade", to: "7.76.1-26.el9_3.3", source: "baseos" },
      { name: "kernel", action: "install", to: "5.14.0-362.24.1.el9_3", source: "baseos" },
      { name: "kernel-core", action: "install", to: "5.14.0-362.24.1.el9_3", source: "baseos" },
      { name: "kernel", action: "remove", from: "5.14.0-362.8.1.el9_3" },
    ]);
    expect(dnf.listUpgradable.okExitCodes).toContain(100);
  });
});

describe("apk parsers (documented format, see the fixture README)", () => {
  it("splits name and version of installed packages", () => {
    const installed = apk.parseInstalled(fixture("apk/info-v.alpine3.19.txt"));
    expect(installed).toHaveLength(16);
    expect(installed.find((p) => p.name === "musl-utils")).toEqual({ name: "musl-utils", version: "1.2.4_git20230717-r4" });
    expect(installed.find((p) => p.name === "ca-certificates-bundle")?.version).toBe("20230506-r0");
    expect(installed.find((p) => p.name === "py3-six-pyc")?.version).toBe("1.16.0-r8");
  });

  it("lists upgradable packages with the repository tag, apk 2 and 3 layouts", () => {
    const upgradable = apk.parseUpgradable(fixture("apk/version-l-lt.alpine3.19.txt"), []);
    expect(upgradable).toHaveLength(6);
    expect(upgradable.find((p) => p.name === "libssl3")).toEqual({ name: "libssl3", from: "3.1.4-r2", to: "3.1.4-r5", security: false });
    expect(upgradable.find((p) => p.name === "musl")).toEqual({ name: "musl", from: "1.2.4_git20230717-r4", to: "1.2.4_git20230717-r5", source: "@edge", security: false });
    expect(apk.parseUpgradable(fixture("apk/version-l-lt.apk3.txt"), []).map((p) => `${p.name} ${p.from} ${p.to}`)).toEqual(["busybox 1.37.0-r12 1.37.0-r13", "libcrypto3 3.5.0-r0 3.5.1-r0"]);
  });

  it("reads world pins and a simulated add", () => {
    expect(apk.parseHeld(fixture("apk/world.alpine3.19.txt"))).toEqual(["musl", "openssl"]);
    const sim = apk.parseSimulation({ stdout: fixture("apk/add-simulate.alpine3.19.txt"), stderr: "", exitCode: 0 });
    expect(sim.changes).toEqual([
      { name: "libcrypto3", action: "upgrade", from: "3.1.4-r2", to: "3.1.4-r5" },
      { name: "libssl3", action: "upgrade", from: "3.1.4-r2", to: "3.1.4-r5" },
      { name: "curl", action: "install", to: "8.5.0-r0" },
    ]);
  });
});
