import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drivers } from "../../src/drivers/registry.ts";

// Fixtures are captured output; test/fixtures/drivers/README.md names the source and distribution of each.
const fixture = (path: string): string => readFileSync(join(import.meta.dirname, "../fixtures/drivers/apk", path), "utf8");
const { apk } = drivers;

describe("apk info -v", () => {
  it("splits name and version of Alpine 3.12's installed packages", () => {
    const installed = apk.parseInstalled(fixture("info-v.alpine3.12.txt"));
    expect(installed).toHaveLength(30);
    expect(installed.find((p) => p.name === "tzdata")).toEqual({ name: "tzdata", version: "2020a-r0" });
    expect(installed.find((p) => p.name === "ncurses-terminfo-base")?.version).toBe("6.2_p20200523-r0");
    expect(installed.find((p) => p.name === "libcrypto1.1")?.version).toBe("1.1.1g-r0");
    expect(installed.find((p) => p.name === "libtls-standalone")?.version).toBe("2.9.1-r1");
    expect(installed.filter((p) => p.name.startsWith("ca-certificates")).map((p) => p.name)).toEqual(["ca-certificates", "ca-certificates-bundle"]);
  });
});

describe("apk version -l '<'", () => {
  it("lists the updates of an Alpine 3.18 system reading Alpine 3.21's index", () => {
    const upgradable = apk.parseUpgradable(fixture("version-l-lt.alpine3.18-to-3.21.txt"), []);
    expect(upgradable).toHaveLength(14);
    expect(upgradable.find((p) => p.name === "apk-tools")).toEqual({ name: "apk-tools", from: "2.14.4-r0", to: "2.14.6-r3", security: false });
    expect(upgradable.find((p) => p.name === "ca-certificates-bundle")).toEqual({ name: "ca-certificates-bundle", from: "20241121-r1", to: "20250911-r0", security: false });
    expect(upgradable.find((p) => p.name === "busybox-binsh")).toMatchObject({ from: "1.36.1-r7", to: "1.37.0-r14" });
  });

  it("reads a repository tag and apk-tools 3's padding (reproductions, see the README)", () => {
    const tagged = "Installed:                                Available:\nmusl-1.2.4_git20230717-r4               < 1.2.4_git20230717-r5 @edge\n";
    expect(apk.parseUpgradable(tagged, [])).toEqual([{ name: "musl", from: "1.2.4_git20230717-r4", to: "1.2.4_git20230717-r5", source: "@edge", security: false }]);
    expect(apk.parseUpgradable(fixture("version-l-lt.apk3.txt"), []).map((p) => `${p.name} ${p.from} ${p.to}`)).toEqual(["busybox 1.37.0-r12 1.37.0-r13", "libcrypto3 3.5.0-r0 3.5.1-r0"]);
  });
});

describe("/etc/apk/world", () => {
  it("takes Alpine 3.10's checksum pins as holds and bare names as free", () => {
    expect(apk.parseHeld(fixture("world.alpine3.10.txt"))).toEqual(["lua5.3-libs", "vim"]);
  });

  it("takes exact version pins, tagged or not, and leaves ranges free (apk-world(5) syntax)", () => {
    expect(apk.parseHeld("musl=1.2.4_git20230717-r4\nopenssl@edge=3.1.4-r2\nzlib>1.3\ncurl>=8\nbusybox~1.36\n")).toEqual(["musl", "openssl"]);
  });
});

describe("apk add --simulate", () => {
  it("reads Alpine 3.18's simulated install", () => {
    const sim = apk.parseSimulation({ stdout: fixture("add-simulate.alpine3.18.txt"), stderr: "", exitCode: 0 });
    expect(sim.ok).toBe(true);
    expect(sim.errors).toEqual([]);
    expect(sim.changes).toHaveLength(15);
    expect(sim.changes.every((c) => c.action === "install")).toBe(true);
    expect(sim.changes.find((c) => c.name === "git")).toEqual({ name: "git", action: "install", to: "2.40.4-r0" });
    expect(sim.changes.find((c) => c.name === "libpanelw")?.to).toBe("6.4_p20230506-r0");
    expect(sim.changes[14]).toEqual({ name: "python3-pyc", action: "install", to: "3.11.12-r1" });
  });

  it("reads Alpine 3.18's simulated removal", () => {
    const sim = apk.parseSimulation({ stdout: fixture("del-simulate.alpine3.18.txt"), stderr: "", exitCode: 0 });
    expect(sim.changes).toEqual([
      { name: "vim", action: "remove", from: "9.0.2073-r0" },
      { name: "vim-common", action: "remove", from: "9.0.2073-r0" },
      { name: "xxd", action: "remove", from: "9.0.2073-r0" },
      { name: "libncursesw", action: "remove", from: "6.4_p20230506-r0" },
      { name: "ncurses-terminfo-base", action: "remove", from: "6.4_p20230506-r0" },
    ]);
  });

  it("reads upgrade steps (constructed in the step format of the captures above)", () => {
    const sim = apk.parseSimulation({ stdout: "(1/1) Upgrading libssl3 (3.1.4-r2 -> 3.1.4-r5)\nOK: 8 MiB in 17 packages\n", stderr: "", exitCode: 0 });
    expect(sim.changes).toEqual([{ name: "libssl3", action: "upgrade", from: "3.1.4-r2", to: "3.1.4-r5" }]);
  });

  it("reports a package Alpine 3.18 does not have", () => {
    const sim = apk.parseSimulation({ stdout: fixture("add-nosuchpackage.alpine3.18.txt"), stderr: "", exitCode: 1 });
    expect(sim).toEqual({ ok: false, changes: [], errors: ["ERROR: unable to select packages:", "nonexistentpackage (no such package):"] });
  });
});
