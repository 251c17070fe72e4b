import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostJournal } from "../../src/apply/types.ts";
import type { Inventory, Runbook } from "../../src/model/types.ts";
import { downFleet, execInHost, fleetStatus, healFault, injectFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { Transport } from "../../src/transport/types.ts";
import { applyHost, planNow, RecordingJournal, repository } from "./fleet-helpers.ts";

/**
 * A host whose connection goes away BETWEEN two command steps (after the first step's
 * outcome is recorded, before the second is sent): cut for good it is `unreachable` at
 * the second step, which never ran; with only its connection dropped (sshd still up)
 * it is dialled again and the second step runs on the new connection.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 130;
const PROJECT = resolve(import.meta.dirname, "../..");
const MARK = "/tmp/cut-mark";

const TWO_STEPS = `name: two-steps
targets: all
steps:
  - kind: command
    name: first
    command: echo one >> ${MARK}
  - kind: command
    name: second
    command: echo two >> ${MARK}
`;

/** A RecordingJournal that runs `between` once the host's first step outcome is recorded, before the runner goes on. */
class CuttingJournal extends RecordingJournal {
  constructor(private readonly between: () => Promise<void>) {
    super();
  }
  override for(host: string): HostJournal {
    const inner = super.for(host);
    let cut = false;
    return {
      ...inner,
      outcome: async (result) => {
        await inner.outcome(result);
        if (!cut && result.step === "first") {
          cut = true;
          await this.between();
        }
      },
    };
  }
}

describe("a host cut between two command steps", () => {
  let dir: string;
  let state: FleetState;
  let inventory: Inventory;
  let book: Runbook;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-cut-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [PROJECT] });
    const repo = await repository(state, { "two-steps": TWO_STEPS });
    inventory = repo.inventory;
    book = repo.runbooks.get("two-steps")!;
  });

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  const transportFor = (): Transport => createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 1, retryBaseDelayMs: 200, connectTimeoutMs: 5_000 });
  const mark = async (host: string): Promise<string> => (await execInHost(state, host, ["sh", "-c", `cat ${MARK} 2>/dev/null; rm -f ${MARK}`])).stdout;

  it("cut for good: unreachable at the second step, which is recorded as not run; the first step's change stands", async () => {
    const transport = transportFor();
    try {
      const { plan } = await planNow(transport, inventory, book);
      const journal = new CuttingJournal(() => injectFault(state, "sandbox-01", "unreachable"));
      try {
        const result = await applyHost(transport, inventory, book, plan, "sandbox-01", journal);
        expect(result.outcome, result.detail).toBe("unreachable");
        expect(result.detail).toMatch(/^became unreachable before step 'second' \(2 of 2\): .*sandbox-01.*; earlier steps changed the host$/);
        expect(result.steps.map((s) => [s.step, s.outcome])).toEqual([
          ["first", "changed"],
          ["second", "skipped"],
        ]);
        expect(result.steps[1]!.detail).toMatch(/^not run: the host became unreachable before step 'second' \(2 of 2\): /);
        // Every step has its intent and its outcome, in order.
        expect(journal.trail("sandbox-01")).toEqual(["intent 0 first", "outcome 0 changed", "intent 1 second", "outcome 1 skipped"]);
        expect((await fleetStatus(state)).find((h) => h.name === "sandbox-01")?.faults).toEqual(["unreachable"]);
      } finally {
        expect(await healFault(state, "sandbox-01", "unreachable")).toEqual([]);
      }
      // The second command never reached the host.
      expect(await mark("sandbox-01")).toBe("one\n");
    } finally {
      await transport.close();
    }
  });

  it("only the connection dropped, the host still answering: dialled again, the second step runs", async () => {
    const transport = transportFor();
    try {
      const { plan } = await planNow(transport, inventory, book);
      // Every sshd process of the host but the listener: the open connections, not sshd.
      const drop = async (): Promise<void> => {
        const r = await execInHost(state, "sandbox-02", ["sh", "-c", `n=0; for p in /proc/[0-9]*; do c=$(tr '\\000' ' ' < "$p/cmdline" 2>/dev/null); case "$c" in sshd:*listener*) ;; sshd:*) kill -KILL "\${p#/proc/}" && n=$((n+1)) ;; esac; done; echo "$n"`]);
        expect(Number(r.stdout.trim()), r.stderr).toBeGreaterThan(0);
      };
      const journal = new CuttingJournal(drop);
      const result = await applyHost(transport, inventory, book, plan, "sandbox-02", journal);
      expect(result.outcome, result.detail).toBe("changed");
      expect(result.steps.map((s) => [s.step, s.outcome])).toEqual([
        ["first", "changed"],
        ["second", "changed"],
      ]);
      expect(journal.trail("sandbox-02")).toEqual(["intent 0 first", "outcome 0 changed", "intent 1 second", "outcome 1 changed"]);
      expect(await mark("sandbox-02")).toBe("one\ntwo\n");
    } finally {
      await transport.close();
    }
  });
});
