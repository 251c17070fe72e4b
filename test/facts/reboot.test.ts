import { describe, expect, it } from "vitest";
import { rebootFacts, splitKernelRelease } from "../../src/facts/reboot.ts";

describe("kernel releases", () => {
  it("split into version and flavour", () => {
    expect(splitKernelRelease("6.1.0-13-amd64")).toEqual({ version: "6.1.0-13", flavour: "-amd64" });
    expect(splitKernelRelease("6.1.0-13-cloud-amd64")).toEqual({ version: "6.1.0-13", flavour: "-cloud-amd64" });
    expect(splitKernelRelease("5.15.0-91-generic")).toEqual({ version: "5.15.0-91", flavour: "-generic" });
    expect(splitKernelRelease("6.6.14-0-lts")).toEqual({ version: "6.6.14-0", flavour: "-lts" });
    expect(splitKernelRelease("6.6.14-0-virt")).toEqual({ version: "6.6.14-0", flavour: "-virt" });
    expect(splitKernelRelease("lts")).toEqual({ version: "", flavour: "-lts" });
    expect(splitKernelRelease("4.18.0-348.7.1.el8_5.x86_64")).toEqual({ version: "4.18.0-348.7.1.el8_5", flavour: ".x86_64" });
    expect(splitKernelRelease("5.14.0-362.8.1.el9_3.aarch64+64k")).toEqual({ version: "5.14.0-362.8.1.el9_3", flavour: ".aarch64+64k" });
    expect(splitKernelRelease("6.1.0")).toEqual({ version: "6.1.0", flavour: "" });
  });
});

describe("reboot required", () => {
  it("Debian: a newer kernel of the running flavour", () => {
    expect(rebootFacts("", "6.1.0-9-amd64", ["6.1.0-13-amd64", "6.1.0-9-amd64"], "apt")).toEqual({ required: true, reasons: ["running kernel 6.1.0-9-amd64 < installed 6.1.0-13-amd64"] });
    expect(rebootFacts("", "6.1.0-13-amd64", ["6.1.0-13-amd64", "6.1.0-9-amd64"], "apt").required).toBe(false);
    // A newer build of another flavour is not the running kernel's successor.
    expect(rebootFacts("", "6.1.0-13-amd64", ["6.1.0-13-amd64", "6.1.0-15-cloud-amd64", "6.1.0-15-rt-amd64"], "apt").required).toBe(false);
    expect(rebootFacts("", "6.1.0-13-cloud-amd64", ["6.1.0-13-cloud-amd64", "6.1.0-15-cloud-amd64"], "apt").required).toBe(true);
  });

  it("Alpine: /boot/vmlinuz-lts alone is no reason; the linux-lts package's version is", () => {
    const running = "6.6.14-0-lts";
    const kernels = ["6.6.14-0-lts", "lts"];
    expect(rebootFacts("", running, kernels, "apk", [{ name: "linux-lts", version: "6.6.14-r0" }])).toEqual({ required: false, reasons: [] });
    expect(rebootFacts("", running, kernels, "apk", [{ name: "linux-lts", version: "6.6.20-r0" }])).toEqual({ required: true, reasons: ["running kernel 6.6.14-0-lts < installed linux-lts 6.6.20-r0"] });
    // The package of another flavour says nothing about this one.
    expect(rebootFacts("", running, kernels, "apk", [{ name: "linux-virt", version: "6.6.20-r0" }]).required).toBe(false);
    // Unknown package version: no claim.
    expect(rebootFacts("", running, kernels, "apk").required).toBe(false);
    // The module tree of a newer build is installed.
    expect(rebootFacts("", running, ["6.6.20-0-lts", "lts"], "apk").reasons).toEqual(["running kernel 6.6.14-0-lts < installed 6.6.20-0-lts"]);
  });

  it("RHEL: a z-stream kernel running with the GA build still installed needs no reboot", () => {
    const running = "4.18.0-348.7.1.el8_5.x86_64";
    expect(rebootFacts("", running, [running, "4.18.0-348.el8.x86_64", "0-rescue-0123456789abcdef0123456789abcdef"], "dnf")).toEqual({ required: false, reasons: [] });
    expect(rebootFacts("", running, [running, "4.18.0-372.9.1.el8.x86_64"], "dnf")).toEqual({ required: true, reasons: [`running kernel ${running} < installed 4.18.0-372.9.1.el8.x86_64`] });
  });

  it("the system's own flag, and no kernel claim without a package manager", () => {
    expect(rebootFacts("required\nlibc6\nlibc6\n", "6.1.0-13-amd64", [], "apt")).toEqual({ required: true, reasons: ["/var/run/reboot-required", "packages: libc6"] });
    expect(rebootFacts("", "6.1.0-9-amd64", ["6.1.0-13-amd64"], null).required).toBe(false);
  });
});
