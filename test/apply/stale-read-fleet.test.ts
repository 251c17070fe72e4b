import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatherHostFacts, gatherPlanFacts } from "../../src/facts/gather.ts";
import { hostTarget } from "../../src/facts/target.ts";
import type { HostFacts, PlanFacts } from "../../src/facts/types.ts";
import type { Inventory, Runbook } from "../../src/model/types.ts";
import { factsDigest, NO_FACTS_DIGEST } from "../../src/plan/digest.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { hostFactsDependencies } from "../../src/steps/registry.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { HostTarget, Session, Transport } from "../../src/transport/types.ts";
import { applyHost, planNow, RecordingJournal, repository, versionsOn } from "./fleet-helpers.ts";

/**
 * The stale check of a host whose steps touch no package reads no package lists (the
 * costly part of the facts script): it must still see every fact the host's digest
 * covers, and a host whose packages moved by hand is still not stale for it. A host
 * whose steps depend on no fact at all (only commands) reads nothing: a reboot flag
 * set after planning does not make a command stale.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 170;
const PROJECT = resolve(import.meta.dirname, "../..");

const COMMANDS = `name: commands
targets: all
steps:
  - kind: command
    name: mark
    command: echo ran >> /tmp/stale-read-mark
`;

/** The same command, then a reboot if the host asks for one: decided from the reboot flag, so the host's facts are in its digest. */
const GUARDED = `name: guarded
targets: all
steps:
  - kind: command
    name: mark
    command: echo ran >> /tmp/stale-read-mark
  - kind: reboot
    name: reboot-if-required
    when: required
`;

/** The transport, counting the facts reads (the facts script's exec) per host. */
function countingFactsReads(inner: Transport): { transport: Transport; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const transport: Transport = {
    close: () => inner.close(),
    connect: async (target: HostTarget): Promise<Session> => {
      const session = await inner.connect(target);
      return {
        target: session.target,
        close: () => session.close(),
        exec: (command, options) => {
          if (options?.label === "facts script") reads.set(target.name, (reads.get(target.name) ?? 0) + 1);
          return session.exec(command, options);
        },
      };
    },
  };
  return { transport, reads };
}

describe("the stale check of a host whose steps touch no package", () => {
  let dir: string;
  let state: FleetState;
  let transport: Transport;
  let inventory: Inventory;
  let runbooks: Map<string, Runbook>;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-stale-read-")), "fleet");
    state = await upFleet({ dir, count: 4, subnet: SUBNET, hide: [PROJECT] });
    transport = createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 0, connectTimeoutMs: 5_000 });
    ({ inventory, runbooks } = await repository(state, { commands: COMMANDS, guarded: GUARDED }));
  });

  afterAll(async () => {
    await transport?.close();
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  const read = async (name: string, packageLists: boolean): Promise<HostFacts> => {
    const result = await gatherHostFacts(hostTarget(inventory, inventory.hosts.get(name)!), { transport, packageLists });
    if (!result.ok) throw new Error(`${name}: ${result.error.kind}: ${result.error.message}`);
    return result.facts;
  };

  const readPlan = async (name: string): Promise<PlanFacts> => {
    const result = await gatherPlanFacts(hostTarget(inventory, inventory.hosts.get(name)!), { transport, packageLists: false });
    if (!result.ok) throw new Error(`${name}: ${result.error.kind}: ${result.error.message}`);
    return result.facts;
  };

  it("reads no package list, yet gives the same digest of what the plan depends on as the full read", async () => {
    const { plan } = await planNow(transport, inventory, runbooks.get("guarded")!);
    expect(plan.hosts).toHaveLength(4);
    for (const host of plan.hosts) {
      const deps = hostFactsDependencies(host.actions);
      expect(deps.packages.size).toBe(0);
      expect(deps.any).toBe(true);
      expect(host.factsDigest).not.toBe(NO_FACTS_DIGEST);
      const [full, narrow] = await Promise.all([read(host.name, true), read(host.name, false)]);
      expect(full.installed.length).toBeGreaterThan(50);
      expect(narrow.installed).toEqual([]);
      expect(narrow.upgradable).toEqual([]);
      expect(narrow.os).toEqual(full.os);
      expect(narrow.reboot).toEqual(full.reboot);
      expect(factsDigest(narrow, deps.packages, deps.apps)).toBe(host.factsDigest);
      expect(factsDigest(full, deps.packages, deps.apps)).toBe(host.factsDigest);
      // Apply's read (only the sections a plan depends on) sees the same, and nothing more.
      const planned = await readPlan(host.name);
      expect(Object.keys(planned).sort()).toEqual(["installed", "kernel", "os", "packageManager", "reboot", "upgradable"]);
      expect(planned.kernel).toEqual(full.kernel);
      expect(planned.reboot).toEqual(full.reboot);
      expect(factsDigest(planned, deps.packages, deps.apps)).toBe(host.factsDigest);
    }
  });

  it("a host whose reboot flag was set after planning is skipped:stale and the command does not run; one whose packages moved runs", async () => {
    const book = runbooks.get("guarded")!;
    const { plan } = await planNow(transport, inventory, book);
    // sandbox-01: the reboot flag, which the digest covers. sandbox-04: a package upgraded by hand, which it does not.
    await execInHost(state, "sandbox-01", ["sh", "-c", "echo '*** System restart required ***' > /var/run/reboot-required"]);
    const before = await versionsOn(state, "sandbox-04", ["steward-lib"]);
    const up = await execInHost(state, "sandbox-04", ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "steward-lib=1.1.0"]);
    expect(up.code, up.stderr).toBe(0);
    expect(await versionsOn(state, "sandbox-04", ["steward-lib"])).not.toEqual(before);
    try {
      const journal = new RecordingJournal();
      const flagged = await applyHost(transport, inventory, book, plan, "sandbox-01", journal);
      expect(flagged.outcome, flagged.detail).toBe("skipped:stale");
      expect(flagged.detail).toContain("the host changed since planning");
      expect(journal.trail("sandbox-01")).toEqual([]);
      expect((await execInHost(state, "sandbox-01", ["sh", "-c", "cat /tmp/stale-read-mark 2>/dev/null; true"])).stdout).toBe("");
      const moved = await applyHost(transport, inventory, book, plan, "sandbox-04", journal);
      expect(moved.outcome, moved.detail).toBe("changed");
      expect(journal.trail("sandbox-04")).toEqual(["intent 0 mark", "outcome 0 changed", "intent 1 reboot-if-required", "outcome 1 unchanged"]);
      expect((await execInHost(state, "sandbox-04", ["cat", "/tmp/stale-read-mark"])).stdout).toBe("ran\n");
    } finally {
      await execInHost(state, "sandbox-01", ["rm", "-f", "/var/run/reboot-required"]);
    }
  });

  it("a host whose steps depend on no fact is not read before its steps: a reboot flag set after planning does not stop a command", async () => {
    const book = runbooks.get("commands")!;
    const { plan } = await planNow(transport, inventory, book);
    expect(plan.hosts.map((h) => h.factsDigest)).toEqual(plan.hosts.map(() => NO_FACTS_DIGEST));
    expect(hostFactsDependencies(plan.hosts[0]!.actions).any).toBe(false);
    await execInHost(state, "sandbox-02", ["sh", "-c", "echo '*** System restart required ***' > /var/run/reboot-required; rm -f /tmp/stale-read-mark"]);
    try {
      const counting = countingFactsReads(transport);
      const journal = new RecordingJournal();
      const result = await applyHost(counting.transport, inventory, book, plan, "sandbox-02", journal);
      expect(result.outcome, result.detail).toBe("changed");
      expect(journal.trail("sandbox-02")).toEqual(["intent 0 mark", "outcome 0 changed"]);
      expect((await execInHost(state, "sandbox-02", ["cat", "/tmp/stale-read-mark"])).stdout).toBe("ran\n");
      expect(counting.reads.get("sandbox-02") ?? 0).toBe(0);
      // The same host under the guarded runbook is read (the control: the counter counts).
      const guarded = runbooks.get("guarded")!;
      const { plan: guardedPlan } = await planNow(transport, inventory, guarded);
      await applyHost(counting.transport, inventory, guarded, guardedPlan, "sandbox-03", new RecordingJournal());
      expect(counting.reads.get("sandbox-03")).toBe(1);
    } finally {
      await execInHost(state, "sandbox-02", ["rm", "-f", "/var/run/reboot-required"]);
    }
  });
});
