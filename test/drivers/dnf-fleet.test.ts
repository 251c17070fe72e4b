import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dnf from "../../src/drivers/dnf/index.ts";
import type { DriverCommand } from "../../src/drivers/types.ts";
import { hostTarget } from "../../src/facts/target.ts";
import { downFleet, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { ExecResult, Transport } from "../../src/transport/types.ts";
import { validateRepository } from "../../src/validate/index.ts";

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 137;
const PROJECT = resolve(import.meta.dirname, "../..");

/** The dnf driver's own commands, run as the driver says (become, exit codes) on a real dnf host. */
describe("dnf driver on a real sandbox dnf host", () => {
  let dir: string;
  let state: FleetState;
  let transport: Transport;
  let run: (host: string, command: DriverCommand) => Promise<ExecResult>;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-drivers-dnf-")), "fleet");
    state = await upFleet({ dir, count: 1, subnet: SUBNET, hide: [PROJECT], packageManager: "dnf" });
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

  it("refreshes, lists, simulates, installs an exact version and holds it", async () => {
    await run("sandbox-01", dnf.refresh);
    const listed = await run("sandbox-01", dnf.listUpgradable);
    // dnf check-update exits 100 when updates exist; the facts script keeps that status.
    expect(listed.exitCode).toBe(100);
    const installed = dnf.parseInstalled((await run("sandbox-01", dnf.listInstalled)).stdout);
    expect(dnf.parseUpgradable(listed.stdout, installed).find((p) => p.name === "steward-lib")?.versions?.map((v) => v.version)).toEqual(["2.0.0-1", "1.1.0-1", "1.0.1-1"]);
    const sim = dnf.parseSimulation(await run("sandbox-01", dnf.simulateInstall([{ name: "steward-lib", version: "1.0.1-1" }])));
    expect(sim).toEqual({ ok: true, errors: [], changes: [{ name: "steward-lib", action: "upgrade", to: "1.0.1-1", source: "steward-sandbox" }] });
    await run("sandbox-01", dnf.install([{ name: "steward-lib", version: "1.0.1-1" }]));
    await run("sandbox-01", dnf.hold([{ name: "steward-lib", version: "1.0.1-1" }]));
    expect(dnf.parseHeld((await run("sandbox-01", dnf.listHeld)).stdout)).toEqual(["steward-lib"]);
    const after = dnf.parseInstalled((await run("sandbox-01", dnf.listInstalled)).stdout);
    expect(after.find((p) => p.name === "steward-lib")).toEqual({ name: "steward-lib", version: "1.0.1-1", arch: "noarch" });
    // The lock keeps steward-lib out of the upgradable list from now on.
    const locked = await run("sandbox-01", dnf.listUpgradable);
    expect(dnf.parseUpgradable(locked.stdout, after).some((p) => p.name === "steward-lib")).toBe(false);
  });
});
