import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { drivers } from "../../src/drivers/registry.ts";
import type { FactsResult } from "../../src/facts/types.ts";
import { installRequests } from "../../src/steps/packages/index.ts";
import { renderPlanMarkdown } from "../../src/plan/markdown.ts";
import { plan } from "../../src/plan/planner.ts";
import type { PlannedAction } from "../../src/plan/types.ts";
import { facts, host, INPUTS, inventory, NOW, ok, runbook } from "./fixtures.ts";

// apt lists each architecture of a multi-arch package as its own entry (see test/fixtures/drivers/README.md).
const listing = readFileSync(join(import.meta.dirname, "../fixtures/drivers/apt/apt-list-upgradable-multiarch.txt"), "utf8");
const { apt } = drivers;
const upgradable = apt.parseUpgradable(listing, []);
const installed = [
  { name: "dpkg", version: "1.21.22", arch: "amd64" },
  ...upgradable.map((p) => ({ name: p.name, version: p.from, ...(p.arch !== undefined ? { arch: p.arch } : {}) })),
];
const inv = inventory([host("multi-01", ["app"])]);

const planFor = (steps = runbook().steps) =>
  plan({ inventory: inv, runbook: runbook({ steps }), facts: new Map<string, FactsResult>([["multi-01", ok("multi-01", facts({ installed, upgradable }))]]), now: NOW, toolVersion: "0.1.0", inputs: INPUTS });

const upgradeAction = (p: ReturnType<typeof plan>): Extract<PlannedAction, { action: "upgrade" }> =>
  p.hosts[0]!.actions.find((a): a is Extract<PlannedAction, { action: "upgrade" }> => a.kind === "packages" && a.action === "upgrade")!;

describe("multi-arch hosts", () => {
  it("keeps one facts entry per name and architecture", () => {
    expect(upgradable.map((p) => `${p.name} ${p.arch}`)).toEqual(["libc6 amd64", "libc6 i386", "libgcc-s1 amd64", "libgcc-s1 i386", "tzdata all"]);
    expect(upgradable[1]).toEqual({ name: "libc6", arch: "i386", from: "2.36-9+deb12u9", to: "2.36-9+deb12u10", source: "oldstable-security", security: true });
  });

  it("plans each architecture, counts distinct name and architecture, and names foreign ones as apt does", () => {
    const p = planFor();
    const action = upgradeAction(p);
    expect(action.upgrades.map((u) => `${u.name}:${u.arch}`)).toEqual(["libc6:amd64", "libc6:i386", "libgcc-s1:amd64", "libgcc-s1:i386", "tzdata:all"]);
    expect(p.hosts[0]).toMatchObject({ arch: "amd64", upgrades: 5 });
    expect(p.summary.upgrades).toBe(5);
    const md = renderPlanMarkdown(p);
    expect(md).toContain("| libc6 | 2.36-9+deb12u9 | 2.36-9+deb12u10 | patch | yes |");
    expect(md).toContain("| libc6:i386 | 2.36-9+deb12u9 | 2.36-9+deb12u10 | patch | yes |");
    expect(md).toContain("| tzdata | 2025a-0+deb12u1 | 2025b-0+deb12u1 |");
    expect(md).not.toContain("libc6:amd64");
  });

  it("installs every architecture in one command, each pinned", () => {
    const command = apt.install(installRequests(upgradeAction(planFor()).upgrades)).command;
    expect(command).toMatch(/ -- libc6:amd64=2\.36-9\+deb12u10 libc6:i386=2\.36-9\+deb12u10 libgcc-s1:amd64=12\.2\.0-14\+deb12u1 libgcc-s1:i386=12\.2\.0-14\+deb12u1 tzdata=2025b-0\+deb12u1$/);
    expect(apt.hold([{ name: "libc6", version: "2.36-9+deb12u10", arch: "i386" }]).command).toBe("LC_ALL=C apt-mark hold -- libc6:i386");
  });

  it("counts a package two steps upgrade once", () => {
    const steps = [
      { kind: "packages" as const, name: "libc first", action: "upgrade" as const, packages: ["libc6"] },
      { kind: "packages" as const, name: "everything", action: "upgrade" as const },
    ];
    expect(planFor(steps).hosts[0]?.upgrades).toBe(5);
  });
});
