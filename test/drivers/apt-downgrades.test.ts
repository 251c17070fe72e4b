import { describe, expect, it } from "vitest";
import * as apt from "../../src/drivers/apt/index.ts";
import { plan } from "../../src/plan/planner.ts";
import { plannedDowngrades } from "../../src/plan/types.ts";
import { host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "../plan/fixtures.ts";

const pins = [{ name: "steward-lib", version: "1.1.0" }];

describe("apt --allow-downgrades", () => {
  it("is left out of install and its simulation unless asked for", () => {
    for (const command of [apt.install(pins), apt.simulateInstall(pins), apt.install(pins, { allowDowngrades: false }), apt.simulateInstall(pins, {})]) {
      expect(command.command).not.toContain("--allow-downgrades");
      expect(command.command).toContain("steward-lib=1.1.0");
    }
  });

  it("is passed only with allowDowngrades: true", () => {
    expect(apt.install(pins, { allowDowngrades: true }).command).toBe(
      "LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- steward-lib=1.1.0",
    );
    expect(apt.simulateInstall(pins, { allowDowngrades: true }).command).toBe("LC_ALL=C apt-get -s -q install --allow-downgrades -- steward-lib=1.1.0");
    expect(apt.install(pins).command).toBe("LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- steward-lib=1.1.0");
  });

  it("is never asked for by a plan: no planned package is a downgrade", () => {
    const hosts = [host("web-01", ["web"]), host("web-02", ["web"])];
    const facts = new Map([
      ["web-01", ok("web-01", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1"), up("curl", "7.88.1-10", "7.88.1-11", false)]))],
      ["web-02", ok("web-02", withUpgrades([up("openssl", "3.0.13-1", "3.0.14-1")]))],
    ]);
    const p = plan({ inventory: inventory(hosts), runbook: runbook(), facts, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(p.hosts.length).toBe(2);
    for (const h of p.hosts) expect([...plannedDowngrades(h)]).toEqual([]);
  });
});
