import { describe, expect, it } from "vitest";
import { FactsChecker } from "../../src/drivers/check-facts.ts";
import { facts } from "../plan/fixtures.ts";

describe("FactsChecker: cached facts against the drivers' grammars", () => {
  it("accepts facts as the drivers parse them", () => {
    const checker = new FactsChecker();
    const good = facts({
      installed: [{ name: "libc6", version: "2.36-9+deb12u9", arch: "i386" }],
      upgradable: [{ name: "libc6", arch: "i386", from: "2.36-9+deb12u9", to: "2.36-9+deb12u10", source: "bookworm,bookworm-security", security: true, versions: [{ version: "2.36-9+deb12u10", security: true }, { version: "2.36-9+deb12u9.1", security: false }] }],
    });
    expect(checker.problem(good)).toBeUndefined();
    // Remembered values are accepted again without a second check.
    expect(checker.problem(good)).toBeUndefined();
    expect(checker.problem(facts({ packageManager: null, installed: [{ name: "--x", version: "?" }] }))).toBeUndefined();
  });

  it("names the first value its manager's grammar refuses", () => {
    const checker = new FactsChecker();
    const forged = facts({ upgradable: [{ name: "--config-file", from: "1.0.0", to: "/tmp/evil/1.0.1", source: "bookworm-security", security: true }] });
    expect(checker.problem(forged)).toBe('upgradable: apt package name "--config-file" is not valid (Debian Policy 5.6.1: at least two of a-z 0-9 + . -, starting with a letter or digit); the host\'s package facts are not trusted');
    const version = facts({ upgradable: [{ name: "openssl", from: "3.0.11-1", to: "3.0.13-1", security: false, versions: [{ version: "3.0.13-1", security: false }, { version: "3.0.12$(id)", security: false }] }] });
    expect(checker.problem(version)).toMatch(/^upgradable: apt package version "3\.0\.12\$\(id\)" is not valid/);
    expect(checker.problem(facts({ packageManager: "dnf", installed: [{ name: "bash", version: "5.2.26-1.fc39", arch: "x86_64\u0000" }] }))).toMatch(/^installed: dnf package arch "x86_64\\u0000" is not valid/);
  });
});
