import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as apt from "../../src/drivers/apt/index.ts";
import type { DriverCommand } from "../../src/drivers/types.ts";
import { hostTarget } from "../../src/facts/target.ts";
import { downFleet, PROFILES, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { ExecResult, Transport } from "../../src/transport/types.ts";
import { validateRepository } from "../../src/validate/index.ts";

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 212;
const PROJECT = resolve(import.meta.dirname, "../..");

const versionIn = (profile: string, name: string): string | undefined =>
  PROFILES[profile]?.find((entry) => entry.startsWith(`${name}_`))?.slice(name.length + 1);

describe("apt driver on real sandbox hosts", () => {
  let dir: string;
  let state: FleetState;
  let transport: Transport;
  let run: (host: string, command: DriverCommand) => Promise<ExecResult>;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-drivers-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [PROJECT] });
    const { inventory } = await validateRepository(state.dir);
    transport = createTransport({ knownHostsFiles: [state.knownHosts] });
    run = async (host, command) => {
      const session = await transport.connect(hostTarget(inventory, inventory.hosts.get(host)!));
      const result = await session.exec(command.command, { become: command.become, check: false, timeoutMs: 60_000 });
      expect(command.okExitCodes, `${command.command}: ${result.stderr}`).toContain(result.exitCode);
      return result;
    };
  });

  afterAll(async () => {
    await transport?.close();
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("lists installed versions as each host's profile says", async () => {
    for (const host of state.hosts) {
      const installed = apt.parseInstalled((await run(host.name, apt.listInstalled)).stdout);
      for (const name of ["steward-lib", "steward-demo-app", "steward-kernel-sim", "steward-broken"]) {
        expect(installed.find((p) => p.name === name), `${host.name} ${name}`).toEqual({ name, version: versionIn(host.profile, name), arch: "all" });
      }
      // The overlay shows the machine's own packages too: a full listing, not just ours.
      expect(installed.length).toBeGreaterThan(50);
    }
  });

  it("refreshes as root and lists candidates from the file: repository, none of them security", async () => {
    // Every version between installed and candidate, newest first.
    const offered = (...versions: string[]) => versions.map((version) => ({ version, source: "unknown", security: false }));
    await run("sandbox-01", apt.refresh);
    const upgradable = apt.parseUpgradable((await run("sandbox-01", apt.listUpgradable)).stdout, []);
    expect(upgradable).toEqual([
      { name: "steward-broken", arch: "all", from: "1.0.0", to: "1.0.1", source: "unknown", security: false },
      { name: "steward-demo-app", arch: "all", from: "1.0.0", to: "2.0.0", source: "unknown", security: false, versions: offered("2.0.0", "1.1.0", "1.0.1") },
      { name: "steward-kernel-sim", arch: "all", from: "5.10.1", to: "6.1.0", source: "unknown", security: false, versions: offered("6.1.0", "5.10.2") },
      { name: "steward-lib", arch: "all", from: "1.0.0", to: "2.0.0", source: "unknown", security: false, versions: offered("2.0.0", "1.1.0", "1.0.1") },
    ]);
  });

  it("simulates exact versions without changing anything, and reports impossible ones", async () => {
    const sim = apt.parseSimulation(await run("sandbox-01", apt.simulateInstall([{ name: "steward-demo-app", version: "1.1.0" }])));
    expect(sim.ok).toBe(true);
    // demo-app 1.1.0 needs steward-lib >= 1.1.0: apt pulls it along, at its candidate version.
    expect(sim.changes.map((c) => `${c.action} ${c.name} ${c.from}->${c.to}`).sort()).toEqual(["upgrade steward-demo-app 1.0.0->1.1.0", "upgrade steward-lib 1.0.0->2.0.0"]);
    const bad = apt.simulateInstall([{ name: "steward-lib", version: "9.9.9" }]);
    const result = await run("sandbox-01", { ...bad, okExitCodes: [100] });
    expect(apt.parseSimulation(result)).toEqual({ ok: false, changes: [], errors: ["E: Version '9.9.9' for 'steward-lib' was not found"] });
    const installed = apt.parseInstalled((await run("sandbox-01", apt.listInstalled)).stdout);
    expect(installed.find((p) => p.name === "steward-demo-app")?.version).toBe("1.0.0");
  });

  it("installs exact versions, downgrades included, and holds", async () => {
    await run("sandbox-02", apt.install([{ name: "steward-lib", version: "2.0.0" }, { name: "steward-demo-app", version: "2.0.0" }]));
    // A downgrade only with the option: apt refuses it otherwise (exit 100), changing nothing.
    const refused = await run("sandbox-02", { ...apt.install([{ name: "steward-kernel-sim", version: "5.10.1" }]), okExitCodes: [100] });
    expect(refused.stderr).toContain("--allow-downgrades");
    await run("sandbox-02", apt.install([{ name: "steward-kernel-sim", version: "5.10.1" }], { allowDowngrades: true }));
    await run("sandbox-02", apt.hold([{ name: "steward-lib", version: "2.0.0" }]));
    const installed = apt.parseInstalled((await run("sandbox-02", apt.listInstalled)).stdout);
    expect(installed.filter((p) => p.name.startsWith("steward-")).map((p) => `${p.name} ${p.version}${p.held ? " held" : ""}`)).toEqual([
      "steward-broken 1.0.0",
      "steward-demo-app 2.0.0",
      "steward-kernel-sim 5.10.1",
      "steward-lib 2.0.0 held",
    ]);
    expect(apt.parseHeld((await run("sandbox-02", apt.listHeld)).stdout)).toEqual(["steward-lib"]);
  });
});
