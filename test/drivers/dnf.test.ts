import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ADVISORIES_MARKER } from "../../src/drivers/dnf/index.ts";
import { advisoryPackages, splitNevra } from "../../src/drivers/dnf/table.ts";
import { drivers } from "../../src/drivers/registry.ts";

// Fixtures are captured output; test/fixtures/drivers/README.md names the source and distribution of each.
const fixturePath = (path: string): string => join(import.meta.dirname, "../fixtures/drivers/dnf", path);
const fixture = (path: string): string => readFileSync(fixturePath(path), "utf8");
const { dnf } = drivers;

describe("dnf list --installed", () => {
  it("reads Fedora 39's listing (dnf 4.21), epochs and all", () => {
    const installed = dnf.parseInstalled(fixture("list-installed.fedora39.txt"));
    expect(installed).toHaveLength(142);
    expect(installed.find((p) => p.name === "openssl-libs")).toEqual({ name: "openssl-libs", version: "1:3.1.4-4.fc39", arch: "x86_64" });
    expect(installed.find((p) => p.name === "fedora-release-identity-container")).toEqual({ name: "fedora-release-identity-container", version: "39-36", arch: "noarch" });
    // The version fills its column and meets the repository with a single space.
    expect(installed.find((p) => p.name === "ca-certificates")?.version).toBe("2024.2.69_v8.0.401-1.0.fc39");
    expect(installed.find((p) => p.name === "ncurses-libs")?.version).toBe("6.4-7.20230520.fc39.1");
    expect(installed.find((p) => p.name === "libstdc++")?.arch).toBe("x86_64");
  });

  it("reads Rocky Linux 8's listing (yum, that is dnf 4.7)", () => {
    const installed = dnf.parseInstalled(fixture("list-installed.rocky8.txt"));
    expect(installed).toHaveLength(19);
    expect(installed.find((p) => p.name === "dbus-common")).toEqual({ name: "dbus-common", version: "1:1.12.8-26.el8", arch: "noarch" });
    expect(installed.find((p) => p.name === "bash")?.version).toBe("4.4.20-4.el8_6");
  });

  it("reads dnf 5's title (reproduction, see the README)", () => {
    expect(dnf.parseInstalled(fixture("list-installed.fedora40-dnf5.txt")).map((p) => `${p.name} ${p.version}`)).toEqual([
      "bash 5.2.26-3.fc40",
      "dnf5 5.1.17-1.fc40",
      "fedora-release-common 40-39",
      "openssl-libs 1:3.2.1-2.fc40",
    ]);
  });
});

describe("dnf check-update / check-upgrade", () => {
  it("lists Rocky Linux 8's updates with the installed versions, skipping the repository download lines", () => {
    const upgradable = dnf.parseUpgradable(fixture("check-update.rocky8.txt"), dnf.parseInstalled(fixture("list-installed.rocky8.txt")));
    expect(upgradable).toHaveLength(70);
    expect(upgradable.find((p) => p.name === "bash")).toEqual({ name: "bash", from: "4.4.20-4.el8_6", to: "4.4.20-5.el8", source: "baseos", security: false });
    expect(upgradable.find((p) => p.name === "device-mapper")).toEqual({ name: "device-mapper", from: "", to: "8:1.02.181-15.el8_10", source: "baseos", security: false });
    expect(upgradable.find((p) => p.name === "ca-certificates")?.to).toBe("2024.2.69_v8.0.303-80.0.el8_10");
    expect(upgradable.some((p) => p.name === "Rocky")).toBe(false);
  });

  it("lists Fedora 39's updates against its installed packages", () => {
    const upgradable = dnf.parseUpgradable(fixture("check-update.fedora39.txt"), dnf.parseInstalled(fixture("list-installed.fedora39.txt")));
    expect(upgradable).toEqual([
      { name: "elfutils-default-yama-scope", from: "0.191-2.fc39", to: "0.192-4.fc39", source: "updates", security: false },
      { name: "krb5-libs", from: "1.21.3-1.fc39", to: "1.21.3-2.fc39", source: "updates", security: false },
      { name: "librepo", from: "1.18.1-1.fc39", to: "1.19.0-1.fc39", source: "updates", security: false },
      { name: "libtirpc", from: "1.3.5-0.fc39", to: "1.3.6-0.fc39", source: "updates", security: false },
    ]);
  });

  it("reads dnf 5's 'Upgrades' title and stops at 'Obsoleting packages' (Fedora 44)", () => {
    const upgradable = dnf.parseUpgradable(fixture("check-upgrade.fedora44-dnf5.txt"), []);
    expect(upgradable.map((p) => p.name)).toEqual(["apparmor-libs", "proton-vpn-daemon", "proton-vpn-gtk-app", "python3-proton-vpn-api-core"]);
    expect(upgradable.find((p) => p.name === "apparmor-libs")).toEqual({ name: "apparmor-libs", from: "", to: "6.0.0~alpha1-1.fc44", source: "terra", security: false });
    expect(upgradable.find((p) => p.name === "python3-proton-vpn-api-core")).toMatchObject({ to: "5.6.10-1.fc44", source: "protonvpn-fedora-stable" });
  });

  it("takes nothing from dnf 4's 'Obsoleting Packages' section (Fedora 36)", () => {
    expect(dnf.parseUpgradable(fixture("check-update-obsoleting.fedora36.txt"), [])).toEqual([]);
  });

  it("rejoins a row dnf 4 wrapped after a long name (constructed in the documented layout)", () => {
    const wrapped = "python3-dnf-plugin-versionlock.noarch\n                                      4.3.0-11.el9_3.1                 appstream\ntzdata.noarch                         2024a-1.el9                      baseos\n";
    expect(dnf.parseUpgradable(wrapped, []).map((p) => `${p.name} ${p.to} ${p.source ?? ""}`)).toEqual(["python3-dnf-plugin-versionlock 4.3.0-11.el9_3.1 appstream", "tzdata 2024a-1.el9 baseos"]);
  });
});

describe("dnf security advisories", () => {
  it("reads the packages of Fedora 34's `dnf updateinfo list --security`", () => {
    const packages = advisoryPackages(fixture("updateinfo-list-security.fedora34.txt"));
    expect(packages.size).toBe(16);
    for (const p of ["curl.x86_64", "dhcp-client.x86_64", "dhcp-common.noarch", "kernel-core.x86_64", "polkit-libs.x86_64", "linux-firmware-whence.noarch"]) expect(packages.has(p)).toBe(true);
    expect(splitNevra("dhcp-client-12:4.4.2-11.b1.fc34.x86_64")).toEqual({ name: "dhcp-client", version: "12:4.4.2-11.b1.fc34", arch: "x86_64" });
    expect(splitNevra("FEDORA-2021-08cdb4dc34")).toBeUndefined();
  });

  it("marks the updates an advisory names (table rows constructed, advisories captured)", () => {
    const table = "curl.x86_64            7.76.1-7.fc34        updates\nkernel-core.x86_64     5.13.4-200.fc34      updates\nbash.x86_64            5.1.8-1.fc34         updates\n";
    const out = `${table}${ADVISORIES_MARKER}\n${fixture("updateinfo-list-security.fedora34.txt")}`;
    expect(dnf.parseUpgradable(out, []).map((p) => `${p.name} ${p.security}`)).toEqual(["bash false", "curl true", "kernel-core true"]);
    // Without the advisory list only a repository named for security marks an update.
    expect(dnf.parseUpgradable(table, []).some((p) => p.security)).toBe(false);
  });

  it("keeps check-update's exit status and prints the advisories after the marker", () => {
    const bin = mkdtempSync(join(tmpdir(), "steward-dnf-"));
    try {
      const fake = [
        "#!/bin/sh",
        `case "$*" in`,
        `*check-update*) cat '${fixturePath("check-update.fedora39.txt")}'; exit 100 ;;`,
        `*updateinfo*) cat '${fixturePath("updateinfo-list-security.fedora34.txt")}'; echo noise >&2; exit 0 ;;`,
        "esac",
        "exit 2",
      ].join("\n");
      writeFileSync(join(bin, "dnf"), `${fake}\n`);
      chmodSync(join(bin, "dnf"), 0o755);
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` };
      let status = 0;
      let stdout = "";
      try {
        stdout = execFileSync("/bin/sh", ["-c", dnf.listUpgradable.command], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      } catch (error) {
        const failed = error as { status: number; stdout: string };
        status = failed.status;
        stdout = failed.stdout;
      }
      expect(status).toBe(100);
      expect(dnf.listUpgradable.okExitCodes).toContain(status);
      expect(stdout.split("\n")).toContain(ADVISORIES_MARKER);
      expect(dnf.parseUpgradable(stdout, [])).toHaveLength(4);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe("dnf versionlock and transactions", () => {
  it("reads Fedora 33's versionlock list (dnf 4) and dnf 5's blocks", () => {
    expect(dnf.parseHeld(fixture("versionlock-list.fedora33.txt"))).toEqual(["tcsh"]);
    // dnf 5's layout, constructed: no capture of it was found.
    expect(dnf.parseHeld("# Added by 'versionlock add' command on 2024-05-01\nPackage name: curl\nevr = 7.76.1\n")).toEqual(["curl"]);
  });

  it("reads `dnf install --assumeno` on Fedora 39: every install section, epochs, sizes", () => {
    const sim = dnf.parseSimulation({ stdout: fixture("install-assumeno.fedora39.txt"), stderr: "", exitCode: 1 });
    expect(sim.ok).toBe(true);
    expect(sim.errors).toEqual([]);
    expect(sim.changes).toHaveLength(89); // "Install  89 Packages"
    expect(sim.changes.every((c) => c.action === "install")).toBe(true);
    expect(sim.changes[0]).toEqual({ name: "git", action: "install", to: "2.47.0-1.fc39", source: "updates" });
    expect(sim.changes.find((c) => c.name === "nginx")).toEqual({ name: "nginx", action: "install", to: "2:1.26.2-1.fc39", source: "updates" });
    expect(sim.changes.find((c) => c.name === "perl-Text-Tabs+Wrap")?.to).toBe("2023.0511-3.fc39");
    expect(sim.changes[sim.changes.length - 1]).toEqual({ name: "perl-NDBM_File", action: "install", to: "1.16-502.fc39", source: "updates" });
  });

  it("reads upgrades and removals from Fedora 39's --assumeno transactions", () => {
    const up = dnf.parseSimulation({ stdout: fixture("upgrade-assumeno.fedora39.txt"), stderr: "", exitCode: 1 });
    expect(up.changes).toEqual([
      { name: "elfutils-default-yama-scope", action: "upgrade", to: "0.192-4.fc39", source: "updates" },
      { name: "krb5-libs", action: "upgrade", to: "1.21.3-2.fc39", source: "updates" },
      { name: "librepo", action: "upgrade", to: "1.19.0-1.fc39", source: "updates" },
      { name: "libtirpc", action: "upgrade", to: "1.3.6-0.fc39", source: "updates" },
    ]);
    const rm = dnf.parseSimulation({ stdout: fixture("remove-assumeno.fedora39.txt"), stderr: "", exitCode: 1 });
    expect(rm.changes).toHaveLength(7);
    expect(rm.changes[0]).toEqual({ name: "vim-enhanced", action: "remove", from: "2:9.1.825-1.fc39" });
    // A size printed without a unit ("40") still ends its row.
    expect(rm.changes.find((c) => c.name === "vim-filesystem")).toEqual({ name: "vim-filesystem", action: "remove", from: "2:9.1.825-1.fc39" });
    expect(rm.changes[6]).toEqual({ name: "xxd", action: "remove", from: "2:9.1.825-1.fc39" });
  });

  it("reports a package Rocky Linux 8 cannot find", () => {
    const sim = dnf.parseSimulation({ stdout: fixture("install-assumeno-nomatch.rocky8.txt"), stderr: "", exitCode: 1 });
    expect(sim).toEqual({ ok: false, changes: [], errors: ["No match for argument: htop", "Error: Unable to find a match: htop"] });
  });

  it("refuses a version rpm would not take, and builds specs without --", () => {
    expect(() => dnf.simulateInstall([{ name: "x", version: "1;rm -rf /" }])).toThrow('dnf install --assumeno: dnf package version "1;rm -rf /" is not valid');
    expect(dnf.install([{ name: "tzdata", version: "2024a-1.fc39" }]).command).toBe("LC_ALL=C dnf -y install tzdata-2024a-1.fc39");
    expect(dnf.listUpgradable.okExitCodes).toEqual([0, 100]);
  });
});
