import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { errorKind } from "../../src/facts/gather.ts";
import { parseDf, parseKernels, parseMeminfo, parseOsRelease, parseServices, UnparsableError } from "../../src/facts/parsers.ts";
import { factsScript, ForgedOutputError, splitSections, startupOutput } from "../../src/facts/script.ts";
import { HostKeyMismatchError, HostUnreachableError, OutputTooLargeError } from "../../src/transport/errors.ts";

describe("facts script", () => {
  it("frames every section with its status when run by a real shell, stdout and stderr apart", () => {
    const { script, marker } = factsScript(["ssh"], "0123456789abcdef");
    // This machine is Debian too: the script runs as it would on a host.
    // Sent on standard input, as gathering does: `sh -s`.
    const { stdout, stderr } = spawnSync("sh", ["-s"], { input: script, encoding: "utf8" });
    const sections = splitSections(stdout, stderr, marker);
    expect([...sections.keys()]).toContain("boot-id");
    expect(sections.get("kernel")?.stdout).toBe(`${execFileSync("uname", ["-r"], { encoding: "utf8" })}`);
    expect(sections.get("manager")).toEqual({ stdout: "apt\n", stderr: "", exitCode: 0 });
    expect(sections.get("os")?.exitCode).toBe(0);
  });

  it("without package lists: every section still framed, the lists empty but for apk's installed list (its reboot flag reads it)", () => {
    const { script, marker } = factsScript([], "0123456789abcdef", { packageLists: false });
    expect(script).not.toContain("dpkg-query -W");
    expect(script).not.toContain("apt list");
    expect(script).not.toContain("apt-mark");
    expect(script).toContain("apk) apk info -v ;;");
    const { stdout, stderr } = spawnSync("sh", ["-s"], { input: script, encoding: "utf8" });
    const sections = splitSections(stdout, stderr, marker);
    for (const name of ["installed", "upgradable", "held"] as const) expect(sections.get(name)).toEqual({ stdout: "", stderr: "", exitCode: 0 });
    expect(sections.get("manager")?.stdout).toBe("apt\n");
    expect(sections.get("boot-id")?.exitCode).toBe(0);
  });

  it("keeps a section that printed no final newline, and text that merely resembles a marker is body text", () => {
    const marker = "@@steward-facts-x@@";
    const stdout = `${marker} begin os\nID=debian\n@@steward-facts-y@@ rc 0\n\n${marker} rc 0\n${marker} begin kernel\n6.1\n${marker} rc 3\n`;
    const sections = splitSections(stdout, `${marker} begin os\n${marker} begin kernel\noops\n`, marker);
    expect(sections.get("os")).toEqual({ stdout: "ID=debian\n@@steward-facts-y@@ rc 0\n", stderr: "", exitCode: 0 });
    expect(sections.get("kernel")).toEqual({ stdout: "6.1\n", stderr: "oops\n", exitCode: 3 });
  });
});

describe("facts parsers", () => {
  it("reads os-release quoting", () => {
    expect(parseOsRelease(`NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine \\"Linux\\" v3.19"\n`)).toEqual({ id: "alpine", versionId: "3.19.1", prettyName: 'Alpine "Linux" v3.19' });
    expect(() => parseOsRelease("garbage")).toThrow(UnparsableError);
  });

  it("reads df in kibibytes (busybox) and mount points with spaces", () => {
    const text = "Filesystem           1024-blocks    Used Available Capacity Mounted on\n/dev/sda1               1000       500       500  50% /mnt/my disk\n";
    expect(parseDf(text)).toEqual({ mounts: [{ mount: "/mnt/my disk", filesystem: "/dev/sda1", sizeBytes: 1024000, usedBytes: 512000, usedPercent: 50 }], warnings: [] });
  });

  it("estimates available memory on kernels without MemAvailable", () => {
    expect(parseMeminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 40 kB\n")).toEqual({ totalBytes: 1024000, availableBytes: 153600 });
  });

  it("maps service states and the absence of systemd", () => {
    expect(parseServices("active\nactivating\nfailed\n", ["a", "b", "c"])).toEqual({ a: "active", b: "unknown", c: "failed" });
    expect(parseServices("no-systemd\n", ["a"])).toEqual({ a: "unknown" });
  });

  it("maps the transport's errors to result kinds", () => {
    expect(errorKind(new HostUnreachableError("h", "refused"))).toBe("unreachable");
    expect(errorKind(new HostKeyMismatchError("h", "changed", { lookupName: "h", keyType: "ssh-ed25519", fingerprint: "SHA256:x", known: [] }))).toBe("host-key-mismatch");
    expect(errorKind(new UnparsableError("os", "x"))).toBe("unparsable");
  });
});

describe("facts framing refuses forged output", () => {
  const marker = "@@steward-facts-0123456789abcdef@@";
  /** The script's real output on this machine, as a host would send it. */
  const real = (() => {
    const { script } = factsScript([], "0123456789abcdef");
    return spawnSync("sh", ["-s"], { input: script, encoding: "utf8" });
  })();
  /** Real stdout with `text` printed by the command of `section`, as a hostile binary there would. */
  const injected = (section: string, text: string): string => real.stdout.replace(`${marker} begin ${section}\n`, `${marker} begin ${section}\n${text}`);
  const refusal = (stdout: string, stderr = real.stderr): string => {
    try {
      splitSections(stdout, stderr, marker);
    } catch (error) {
      expect(error).toBeInstanceOf(ForgedOutputError);
      expect(errorKind(error)).toBe("forged");
      return (error as Error).message;
    }
    throw new Error("the output was accepted");
  };

  it("accepts the untouched output", () => {
    expect(splitSections(real.stdout, real.stderr, marker).get("upgradable")?.exitCode).toBe(0);
  });

  it("refuses a second upgradable section instead of letting it replace the first", () => {
    const fake = `${marker} rc 0\n${marker} begin upgradable\nevil/stable 9.9 amd64 [upgradable from: 1.0]\n`;
    expect(refusal(injected("upgradable", fake))).toMatch(/facts stdout: line \d+: section 'upgradable' repeated; refusing the host's facts/);
  });

  it("refuses a section forged from inside an earlier one, out of order", () => {
    const fake = `${marker} rc 0\n${marker} begin held\n`;
    expect(refusal(injected("installed", fake))).toMatch(/section 'held' out of order \(expected 'upgradable'\)/);
  });

  it("refuses unknown sections, stray statuses, text outside sections and markers inside bodies", () => {
    expect(refusal(injected("os", `${marker} rc 0\n${marker} begin evil\n`))).toMatch(/unexpected section 'evil'/);
    expect(refusal(injected("os", `${marker} rc 0\n${marker} rc 0\n`))).toMatch(/a status line outside any section/);
    // Output before the first section is the login shell's own (a .bashrc banner, with or
    // without a final newline, on either stream): it never knew the nonce, and is never read as facts.
    const clean = splitSections(real.stdout, real.stderr, marker);
    for (const banner of ["Welcome to prod!\n", "no newline ", `hello\n${marker.slice(0, -2)} begin os\n`]) {
      const noisy = splitSections(`${banner}${real.stdout}`, `bash: pyenv: command not found\n${banner}${real.stderr}`, marker);
      expect(noisy, banner).toEqual(clean);
      expect(startupOutput(`${banner}${real.stdout}`, marker)).toBe(banner);
    }
    expect(startupOutput(real.stdout, marker)).toBe("");
    // From the first marker on, the framing is strict, and lines are counted in the whole stream.
    const stray = `banner\n${real.stdout.replace(`${marker} begin kernel\n`, `stray\n${marker} begin kernel\n`)}`;
    expect(refusal(stray)).toContain(`facts stdout: line ${stray.split("\n").indexOf("stray") + 1}: output outside any section`);
    expect(refusal(real.stdout, real.stderr.replace(`${marker} begin held\n`, `${marker} begin held\n${marker} rc 0\nstray\n`))).toMatch(/facts stderr: line \d+: the marker inside section 'held'/);
    expect(refusal(`${real.stdout}trailing\n`)).toMatch(/output outside any section/);
    expect(refusal(injected("kernel", `x ${marker} begin os\n`))).toMatch(/the marker inside section 'kernel'/);
    expect(refusal(injected("kernel", `${marker} begin os\n`))).toMatch(/section 'os' begins inside section 'kernel'/);
    expect(refusal(injected("os", `${marker} rc zero\n`))).toMatch(/malformed status of section 'os'/);
  });

  it("refuses a repeated section on stderr too", () => {
    const stderr = real.stderr.replace(`${marker} begin held\n`, `${marker} begin held\n${marker} begin held\n`);
    expect(refusal(real.stdout, stderr)).toMatch(/facts stderr: line \d+: section 'held' repeated/);
  });

  it("reports a script that stopped early as an unfinished section, not a forgery", () => {
    const cut = real.stdout.slice(0, real.stdout.indexOf(`${marker} begin disks\n`) + `${marker} begin disks\n`.length);
    const sections = splitSections(cut, "", marker);
    expect(sections.get("disks")?.exitCode).toBeNull();
    expect(sections.has("memory")).toBe(false);
  });

  it("maps an output flood to its own kind", () => {
    expect(errorKind(new OutputTooLargeError("h", { command: "facts script", signal: null, stdoutTail: "", stderrTail: "" }, 10, true))).toBe("output-too-large");
  });
});

describe("df", () => {
  const fixture = (name: string): string => readFileSync(new URL(`../fixtures/facts/${name}`, import.meta.url), "utf8");

  it("reads a share whose source has spaces, and skips with a warning a row that splits two ways", () => {
    const { mounts, warnings } = parseDf(fixture("df-gnu-spaces.txt"));
    expect(mounts.find((m) => m.mount === "/tmp/h2df/team share")).toEqual({ mount: "/tmp/h2df/team share", filesystem: "//nas.example/Team Share/Ops", sizeBytes: 12638027776, usedBytes: 0, usedPercent: 0 });
    expect(mounts.find((m) => m.mount === "/")).toEqual({ mount: "/", filesystem: "/dev/vda", sizeBytes: 270553174016, usedBytes: 23397269504, usedPercent: 22 });
    expect(mounts.map((m) => m.mount)).not.toContain("/tmp/h2df/ops");
    expect(warnings).toEqual(["disks: skipped df line 7: its source or mount point looks like sizes, so it splits two ways"]);
  });

  it("skips and records a row with no sizes, and fails only without a header", () => {
    const text = "Filesystem 1024-blocks Used Available Capacity Mounted on\nproc - - - - /proc\ngarbage line\n/dev/sda1 10 5 5 50% /\n";
    expect(parseDf(text)).toEqual({ mounts: [{ mount: "/", filesystem: "/dev/sda1", sizeBytes: 10240, usedBytes: 5120, usedPercent: 50 }], warnings: ["disks: skipped df line 3: no sizes and mount point found in it"] });
    expect(() => parseDf("nonsense\n")).toThrow(UnparsableError);
  });
});

describe("kernels", () => {
  it("keeps releases and skips, saying so, names that cannot be one", () => {
    expect(parseKernels("6.1.0-13-amd64\nlts\n6.1.0-13-amd64\nmy kernel\n-rf\n")).toEqual({
      kernels: ["6.1.0-13-amd64", "lts"],
      warnings: ["kernels: skipped 2 name(s) in /boot or /lib/modules that cannot be kernel releases"],
    });
  });
});
