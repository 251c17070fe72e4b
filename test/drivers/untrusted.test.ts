import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drivers } from "../../src/drivers/registry.ts";
import { shown, UntrustedValueError } from "../../src/drivers/untrusted.ts";
import { UnparsableError } from "../../src/facts/parsers.ts";

const fixture = (path: string): string => readFileSync(join(import.meta.dirname, "../fixtures/drivers", path), "utf8");
const { apt, dnf, apk } = drivers;

/** Captured output with one line replaced or added, as a lying host would print it. */
const withLine = (text: string, line: string, at = 1): string => {
  const lines = text.split("\n");
  lines.splice(at, 0, line);
  return lines.join("\n");
};

const refusal = (parse: () => unknown): UntrustedValueError => {
  try {
    parse();
  } catch (error) {
    if (error instanceof UntrustedValueError) return error;
    throw error;
  }
  throw new Error("parsed without refusing");
};

describe("dpkg's grammar (apt)", () => {
  it("accepts every value of the captured bookworm listings", () => {
    for (const p of apt.parseUpgradable(fixture("apt/apt-list-upgradable-all.txt"), [])) {
      expect(apt.validName(p.name) && apt.validVersion(p.from) && apt.validVersion(p.to), p.name).toBe(true);
    }
    for (const v of ["1:2.66-4+deb12u3+b1", "2024a-0+deb12u1", "1.0~rc1", "3.0.13-1~deb12u1", "2:1.0:3-1", "0.16.1-2+b1"]) expect(apt.validVersion(v), v).toBe(true);
  });

  it("refuses what dpkg would not take", () => {
    for (const name of ["--config-file", "-x", "a", "Upper", "na me", "x;y", "pkg/evil"]) expect(apt.validName(name), name).toBe(false);
    for (const v of ["/tmp/1.0.1", "a1.0", "1.0-", "x:1.0", "1.0:2", "1.0-a_b", "-1", "1.0 2", ""]) expect(apt.validVersion(v), v).toBe(false);
    expect(apt.validArch("amd64") && apt.validArch("all") && !apt.validArch("-x") && !apt.validArch("AMD64")).toBe(true);
    expect(() => apt.install([{ name: `lib${"x".repeat(300)}`, version: "1.0" }])).toThrow(/apt package name "libx{77}…" is not valid \(longer than 256 characters\)/);
  });

  it("refuses a forged package in real apt list output, naming section, line and rule", () => {
    const text = withLine(fixture("apt/apt-list-upgradable.txt"), "--config-file/bookworm-security /tmp/evil/1.0.1 amd64 [upgradable from: 1.0.0]");
    const error = refusal(() => apt.parseUpgradable(text, []));
    expect(error).toBeInstanceOf(UnparsableError);
    expect(error.section).toBe("upgradable");
    expect(error.line).toBe(2);
    expect(error.message).toBe('upgradable: line 2: apt package name "--config-file" is not valid (Debian Policy 5.6.1: at least two of a-z 0-9 + . -, starting with a letter or digit); the host\'s package facts are not trusted');
    // A good name with a path for a version, in the other versions of --all-versions.
    const version = refusal(() => apt.parseUpgradable(withLine(fixture("apt/apt-list-upgradable-all.txt"), "apt/oldstable /etc/apt/apt.conf.d/99evil amd64", 3), []));
    expect(version.message).toMatch(/^upgradable: line 4: apt package version "\/etc\/apt\/apt\.conf\.d\/99evil" is not valid/);
    expect(refusal(() => apt.parseUpgradable("jq/bookworm$(id) 1.6-2 amd64 [upgradable from: 1.6-1]\n", [])).message).toMatch(/^upgradable: line 1: apt package source "bookworm\$\(id\)"/);
  });

  it("refuses control characters anywhere, shown escaped", () => {
    const error = refusal(() => apt.parseUpgradable("Listing...\njq/stable 1.6-2 amd64 [upgradable from: 1.6-1]\u001b[2J\n", []));
    expect(error.message).toBe('upgradable: line 2: control character "\\u001b" in "jq/stable 1.6-2 amd64 [upgradable from: 1.6-1]\\u001b[2J"; the host\'s package facts are not trusted');
    expect(error.message).not.toMatch(/[\u0000-\u001f]/);
  });

  it("checks installed, held and simulated packages too", () => {
    expect(refusal(() => apt.parseInstalled("bash\t5.2.15-2+b8\tamd64\tinstall ok installed\n-oDpkg::Pre-Invoke=x\t1.0\tamd64\tinstall ok installed\n")).message).toMatch(/^installed: line 2: dpkg package name "-oDpkg::Pre-Invoke=x"/);
    expect(refusal(() => apt.parseInstalled("bash\t5.2\n")).message).toMatch(/^installed: line 1: unexpected line "bash\\t5.2", expected package, version/);
    expect(apt.parseHeld("openssl\nlibc6:i386\n")).toEqual(["libc6", "openssl"]);
    expect(refusal(() => apt.parseHeld("openssl\n--force-yes\n")).message).toMatch(/^held: line 2: apt package name "--force-yes"/);
    const sim = withLine(fixture("apt/apt-get-s-install.txt"), "Inst --reinstall [1.0] (2.0 Debian:12/stable [amd64])", 10);
    expect(refusal(() => apt.parseSimulation({ stdout: sim, stderr: "", exitCode: 0 })).message).toMatch(/^simulation: line 11: apt package name "--reinstall"/);
  });

  it("puts packages after -- in every command, and refuses to build one for a bad value", () => {
    const req = [{ name: "openssl", version: "3.0.13-1~deb12u1" }];
    expect(apt.install(req).command).toMatch(/=--force-confold -- 'openssl=3\.0\.13-1~deb12u1'$/);
    expect(apt.simulateInstall(req).command).toBe("LC_ALL=C apt-get -s -q install -- 'openssl=3.0.13-1~deb12u1'");
    expect(apt.hold(req).command).toBe("LC_ALL=C apt-mark hold -- openssl");
    expect(() => apt.install([{ name: "--config-file", version: "1.0" }])).toThrow('apt-get install: apt package name "--config-file" is not valid');
    expect(() => apt.hold([{ name: "openssl", version: "1", arch: "-x" }])).toThrow("apt-mark hold: apt package arch");
  });
});

describe("rpm's grammar (dnf)", () => {
  it("accepts every row of the captured listings", () => {
    expect(dnf.parseInstalled(fixture("dnf/list-installed.fedora39.txt")).length).toBeGreaterThan(100);
    for (const v of ["12:4.4.2-11.b1.fc34", "2.40.4-1.fc39", "1.0~rc1-1.el8", "1.0^git1-2.fc40"]) expect(dnf.validVersion(v), v).toBe(true);
  });

  it("refuses a forged row in real check-update output", () => {
    const text = withLine(fixture("dnf/check-update.fedora39.txt"), "--setopt=tsflags=noscripts.x86_64   1.0-1.fc39   updates", 3);
    expect(refusal(() => dnf.parseUpgradable(text, [])).message).toMatch(/^upgradable: line 4: dnf package name "--setopt=tsflags=noscripts" is not valid \(an rpm name/);
    const version = withLine(fixture("dnf/check-update.fedora39.txt"), "curl.x86_64   1.0$(id)-1.fc39   updates", 3);
    expect(refusal(() => dnf.parseUpgradable(version, [])).message).toMatch(/^upgradable: line 4: dnf package version "1\.0\$\(id\)-1\.fc39"/);
    expect(refusal(() => dnf.parseHeld("--disablerepo=*-0:1.0-1.*\n")).message).toMatch(/^held: line 1: dnf package name "--disablerepo=\*"/);
  });

  it("refuses to build a command for a name that could be an option", () => {
    expect(() => dnf.install([{ name: "-x", version: "1.0-1" }])).toThrow('dnf install: dnf package name "-x" is not valid');
  });
});

describe("apk-tools' grammar (apk)", () => {
  it("accepts every entry of the captured listings", () => {
    expect(apk.parseInstalled(fixture("apk/info-v.alpine3.12.txt"))).toHaveLength(30);
    for (const v of ["6.2_p20200523-r0", "1.1.1g-r0", "2.39.0_rc1-r0", "1.0_alpha2_pre1-r3", "1.2.3~abc123-r0", "20250911-r0"]) expect(apk.validVersion(v), v).toBe(true);
    for (const v of ["1.0-r", "v1.0-r0", "1.0_evil-r0", "1.0$(id)-r0", "/tmp/1.0-r0"]) expect(apk.validVersion(v), v).toBe(false);
  });

  it("refuses a forged entry in real apk version output", () => {
    const text = withLine(fixture("apk/version-l-lt.alpine3.18-to-3.21.txt"), "musl-1.2.4-r2    < 1.2.5$(reboot)-r0", 2);
    expect(refusal(() => apk.parseUpgradable(text, [])).message).toMatch(/^upgradable: line 3: apk package version "1\.2\.5\$\(reboot\)-r0" is not valid/);
    expect(refusal(() => apk.parseHeld("alpine-base\n--allow-untrusted=1.0-r0\n")).message).toMatch(/^held: line 2: apk package name "--allow-untrusted"/);
  });

  it("puts packages after -- and refuses bad ones", () => {
    expect(apk.install([{ name: "musl", version: "1.2.4-r2" }]).command).toBe("apk add -- musl=1.2.4-r2");
    expect(apk.simulateInstall([{ name: "musl", version: "1.2.4-r2" }]).command).toBe("apk add --simulate -- musl=1.2.4-r2");
    expect(() => apk.install([{ name: "musl", version: "--force-broken-world" }])).toThrow('apk add: apk package version "--force-broken-world" is not valid');
  });
});

describe("shown", () => {
  it("escapes everything outside printable ASCII and cuts long values", () => {
    expect(shown("a\u202eb\u0000")).toBe('"a\\u202eb\\u0000"');
    expect(shown("x".repeat(100))).toBe(`"${"x".repeat(80)}…"`);
  });
});
