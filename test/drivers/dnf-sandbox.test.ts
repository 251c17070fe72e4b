import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drivers } from "../../src/drivers/registry.ts";
import { simulationNeedsRoot, unplannedChanges } from "../../src/steps/packages/execute.ts";

// Real dnf 4.14 output captured on the sandbox's dnf hosts (test/fixtures/drivers/README.md).
const fixture = (path: string): string => readFileSync(join(import.meta.dirname, "../fixtures/drivers/dnf", path), "utf8");
const { dnf } = drivers;

describe("dnf 4.14 on a sandbox dnf host, captured", () => {
  it("reads the installed list with its @System-style origins", () => {
    expect(dnf.parseInstalled(fixture("list-installed.sandbox.txt")).map((p) => `${p.name} ${p.version} ${p.arch}`)).toEqual([
      "steward-broken 1.0.0-1 noarch",
      "steward-demo-app 1.0.0-1 noarch",
      "steward-kernel-sim 5.10.1-1 noarch",
      "steward-lib 1.0.0-1 noarch",
      "steward-release 40-1 noarch",
    ]);
  });

  it("lists every newer version from repoquery --upgrades, not only check-update's candidate, with the advisory's security", () => {
    const installed = dnf.parseInstalled(fixture("list-installed.sandbox.txt"));
    const upgradable = dnf.parseUpgradable(fixture("list-upgradable.sandbox.txt"), installed);
    const sandbox = (version: string, security = false) => ({ version, source: "steward-sandbox", security });
    expect(upgradable).toEqual([
      { name: "steward-broken", from: "1.0.0-1", to: "1.0.1-1", source: "steward-sandbox", security: false },
      { name: "steward-demo-app", from: "1.0.0-1", to: "2.0.0-1", source: "steward-sandbox", security: false, versions: [sandbox("2.0.0-1"), sandbox("1.1.0-1"), sandbox("1.0.1-1")] },
      { name: "steward-kernel-sim", from: "5.10.1-1", to: "6.1.0-1", source: "steward-sandbox", security: false, versions: [sandbox("6.1.0-1"), sandbox("5.10.2-1")] },
      // STEWARD-2026-0001 names steward-lib 1.0.1: that version and every later one carry the fix.
      { name: "steward-lib", from: "1.0.0-1", to: "2.0.0-1", source: "steward-sandbox", security: true, versions: [sandbox("2.0.0-1", true), sandbox("1.1.0-1", true), sandbox("1.0.1-1", true)] },
    ]);
    // Installed past the advisory's version, no version of steward-lib is a security update.
    const past = installed.map((p) => (p.name === "steward-lib" ? { ...p, version: "1.0.1-1" } : p));
    const lib = dnf.parseUpgradable(fixture("list-upgradable.sandbox.txt"), past).find((p) => p.name === "steward-lib");
    expect(lib?.versions).toEqual([sandbox("2.0.0-1"), sandbox("1.1.0-1")]);
    // check-update's table alone (the marker sections absent) still reads as before.
    expect(dnf.parseUpgradable(fixture("check-update.sandbox.txt"), installed).map((p) => `${p.name} ${p.to} ${p.versions === undefined}`)).toEqual([
      "steward-broken 1.0.1-1 true",
      "steward-demo-app 2.0.0-1 true",
      "steward-kernel-sim 6.1.0-1 true",
      "steward-lib 2.0.0-1 true",
    ]);
  });

  it("simulates through root: dnf 4 refuses install --assumeno to the login user", () => {
    const refused = dnf.parseSimulation({ stdout: "", stderr: fixture("install-assumeno-nonroot.sandbox.txt"), exitCode: 1 });
    expect(refused.ok).toBe(false);
    expect(refused.errors).toEqual(["Error: This command has to be run with superuser privileges (under the root user on most systems)."]);
    const requests = [{ name: "steward-demo-app", version: "1.1.0-1" }];
    expect(dnf.simulateInstall(requests).become).toBe(true);
    expect(simulationNeedsRoot(dnf, { requests, unpinned: [], removals: [] })).toBe(true);
    expect(simulationNeedsRoot(drivers.apt, { requests: [{ name: "jq", version: "1.6-2.1" }], unpinned: [], removals: [] })).toBe(false);
  });

  it("reads a dependency dnf pulls to its newest version, which the plan refuses", () => {
    const sim = dnf.parseSimulation({ stdout: fixture("install-assumeno-dependency.sandbox.txt"), stderr: "", exitCode: 1 });
    expect(sim).toEqual({
      ok: true,
      errors: [],
      changes: [
        { name: "steward-demo-app", action: "upgrade", to: "1.1.0-1", source: "steward-sandbox" },
        { name: "steward-lib", action: "upgrade", to: "2.0.0-1", source: "steward-sandbox" },
      ],
    });
    expect(unplannedChanges(sim.changes, [{ name: "steward-demo-app", version: "1.1.0-1" }], [])).toEqual(["would upgrade steward-lib → 2.0.0-1, which the plan does not name"]);
  });

  it("reports a version the repository does not have, from both streams", () => {
    const sim = dnf.parseSimulation({ stdout: fixture("install-assumeno-nomatch.sandbox.stdout.txt"), stderr: fixture("install-assumeno-nomatch.sandbox.stderr.txt"), exitCode: 1 });
    expect(sim).toEqual({ ok: false, changes: [], errors: ["No match for argument: steward-lib-9.9.9-1", "Error: Unable to find a match: steward-lib-9.9.9-1"] });
  });

  it("finds the failing %post in a transaction dnf calls Complete! (exit 0)", () => {
    const output = { stdout: fixture("install-scriptlet-failed.sandbox.stdout.txt"), stderr: fixture("install-scriptlet-failed.sandbox.stderr.txt"), exitCode: 0 };
    expect(output.stdout).toContain("Complete!");
    expect(dnf.scriptletFailures?.(output)).toEqual(["%post(steward-broken-1.0.1-1.noarch) scriptlet failed, exit status 1"]);
    // dnf's own line alone (rpm's warning lost) still names the package.
    expect(dnf.scriptletFailures?.({ stdout: "", stderr: output.stderr, exitCode: 0 })).toEqual(["POSTIN scriptlet of steward-broken failed"]);
    expect(dnf.scriptletFailures?.({ stdout: fixture("install-assumeno-dependency.sandbox.txt"), stderr: "", exitCode: 0 })).toEqual([]);
    // A scriptlet's own output is not read, whatever it prints.
    expect(dnf.scriptletFailures?.({ stdout: "warning: %post(x\u001b[1m-1-1.noarch) scriptlet failed, exit status 1\n", stderr: "", exitCode: 0 })).toEqual([]);
  });

  it("reads dnf 4.14's versionlock list (epoch always printed)", () => {
    expect(fixture("versionlock-list.sandbox.txt").trim()).toBe("steward-lib-0:1.1.0-1.*");
    expect(dnf.parseHeld(fixture("versionlock-list.sandbox.txt"))).toEqual(["steward-lib"]);
  });
});
