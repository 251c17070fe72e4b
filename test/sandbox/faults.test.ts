import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downFleet, fleetStatus, healFault, injectFault, upFleet, type FaultKind, type FleetState } from "../../src/sandbox/index.ts";
import { ssh } from "./ssh-client.ts";

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 202;
const HOST = "sandbox-01";

describe("sandbox faults", () => {
  let dir: string;
  let state: FleetState;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-faults-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [resolve(import.meta.dirname, "../..")] });
  });

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  async function faultsOf(name: string): Promise<FaultKind[]> {
    return (await fleetStatus(state)).find((h) => h.name === name)?.faults ?? [];
  }

  async function injectAndHeal(kind: FaultKind, whileBroken: () => Promise<void>): Promise<void> {
    await injectFault(state, HOST, kind);
    try {
      expect(await faultsOf(HOST)).toEqual([kind]);
      // The other host is untouched by its neighbour's fault.
      expect(await faultsOf("sandbox-02")).toEqual([]);
      await whileBroken();
    } finally {
      expect(await healFault(state, HOST, kind)).toEqual([]);
    }
    expect((await ssh(state, HOST, "true")).code).toBe(0);
  }

  it("unreachable: sshd stops and connections are refused", async () => {
    await injectAndHeal("unreachable", async () => {
      const result = await ssh(state, HOST, "true");
      expect(result.code).toBe(255);
      expect(result.stderr).toContain("Connection refused");
    });
  });

  it("freeze: every process stops and connections hang", async () => {
    await injectAndHeal("freeze", async () => {
      expect((await fleetStatus(state))[0]?.state).toBe("frozen");
      const result = await ssh(state, HOST, "true", ["-o", "ConnectTimeout=1"]);
      expect(result.code).toBe(255);
      expect(result.stderr).toMatch(/timed out/i);
    });
  });

  it("disk-full: the host's disk is at 100% and writes fail", async () => {
    await injectAndHeal("disk-full", async () => {
      const result = await ssh(state, HOST, "df --output=pcent / | tail -1; echo data > /var/tmp/more || echo write-failed");
      expect(result.stdout).toMatch(/^\s*100%\nwrite-failed\n$/);
      expect(result.stderr).toContain("No space left on device");
    });
  });

  it("dpkg-lock: apt cannot take dpkg's lock", async () => {
    await injectAndHeal("dpkg-lock", async () => {
      const result = await ssh(state, HOST, "sudo apt-get install -y -q steward-lib");
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("Could not get lock /var/lib/dpkg/lock-frontend");
    });
    expect((await ssh(state, HOST, "sudo apt-get install -y -q steward-lib")).code).toBe(0);
  });

  it("broken-package: a failed postinst leaves a package half-configured", async () => {
    const status = "dpkg-query -W -f '${db:Status-Abbrev}${Version}\\n' steward-broken";
    await injectAndHeal("broken-package", async () => {
      expect((await ssh(state, HOST, status)).stdout).toBe("iF 1.0.1\n");
    });
    expect((await ssh(state, HOST, status)).stdout).toBe("ii 1.0.0\n");
  });
});
