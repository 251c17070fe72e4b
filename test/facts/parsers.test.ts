import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { errorKind, rebootFacts } from "../../src/facts/gather.ts";
import { parseDf, parseMeminfo, parseOsRelease, parseServices, UnparsableError } from "../../src/facts/parsers.ts";
import { factsScript, splitSections } from "../../src/facts/script.ts";
import { HostKeyMismatchError, HostUnreachableError } from "../../src/transport/errors.ts";

describe("facts script", () => {
  it("frames every section with its status when run by a real shell, stdout and stderr apart", () => {
    const { script, marker } = factsScript(["ssh"], "0123456789abcdef");
    // This machine is Debian too: the script runs as it would on a host.
    const { stdout, stderr } = spawnSync("sh", ["-c", script], { encoding: "utf8" });
    const sections = splitSections(stdout, stderr, marker);
    expect([...sections.keys()]).toContain("boot-id");
    expect(sections.get("kernel")?.stdout).toBe(`${execFileSync("uname", ["-r"], { encoding: "utf8" })}`);
    expect(sections.get("manager")).toEqual({ stdout: "apt\n", stderr: "", exitCode: 0 });
    expect(sections.get("os")?.exitCode).toBe(0);
  });

  it("keeps a section that printed no final newline, and a forged marker without the nonce is just text", () => {
    const marker = "@@steward-facts-x@@";
    const stdout = `${marker} begin os\nID=debian\n@@steward-facts-y@@ rc 0\n${marker} rc 0\n${marker} begin kernel\n6.1\n${marker} rc 3\n`;
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
    expect(parseDf(text)).toEqual([{ mount: "/mnt/my disk", filesystem: "/dev/sda1", sizeBytes: 1024000, usedBytes: 512000, usedPercent: 50 }]);
  });

  it("estimates available memory on kernels without MemAvailable", () => {
    expect(parseMeminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 40 kB\n")).toEqual({ totalBytes: 1024000, availableBytes: 153600 });
  });

  it("maps service states and the absence of systemd", () => {
    expect(parseServices("active\nactivating\nfailed\n", ["a", "b", "c"])).toEqual({ a: "active", b: "unknown", c: "failed" });
    expect(parseServices("no-systemd\n", ["a"])).toEqual({ a: "unknown" });
  });

  it("asks for a reboot when a newer kernel is installed than the one running", () => {
    expect(rebootFacts("", "6.1.0-9-amd64", ["6.1.0-13-amd64", "6.1.0-9-amd64"])).toEqual({ required: true, reasons: ["running kernel 6.1.0-9-amd64 < installed 6.1.0-13-amd64"] });
    expect(rebootFacts("", "6.1.0-13-amd64", ["6.1.0-13-amd64", "6.1.0-9-amd64"]).required).toBe(false);
  });

  it("maps the transport's errors to result kinds", () => {
    expect(errorKind(new HostUnreachableError("h", "refused"))).toBe("unreachable");
    expect(errorKind(new HostKeyMismatchError("h", "changed", { lookupName: "h", keyType: "ssh-ed25519", fingerprint: "SHA256:x", known: [] }))).toBe("host-key-mismatch");
    expect(errorKind(new UnparsableError("os", "x"))).toBe("unparsable");
  });
});
