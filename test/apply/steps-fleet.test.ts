import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Inventory, Runbook } from "../../src/model/types.ts";
import { downFleet, execInHost, fleetStatus, healFault, injectFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { HostTarget, Session, Transport } from "../../src/transport/types.ts";
import { rejudgeStep } from "../../src/apply/host-runner.ts";
import { applyHost, hostOptions, planNow, RecordingJournal, repository } from "./fleet-helpers.ts";

/**
 * Reboot, command, service, check and app-upgrade steps applied by the host runner to
 * real sandbox hosts (no systemd: services go through the SysV `service` fallback and
 * the sandbox's steward-demo init script), from plans the real planner made.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 248;
const PROJECT = resolve(import.meta.dirname, "../..");

const OPS = `name: ops
targets: sandbox-03
steps:
  - kind: check
    name: pre
    checks:
      - { type: disk, mount: /, max_used: "95%" }
      - { type: memory, max_used: "100%" }
      - { type: load, max_per_cpu: 1000 }
      - { type: endpoint, url: "http://127.0.${SUBNET}.3:18${SUBNET}/", expect_status: 200 }
      - { type: reboot-required, allowed: true }
      - { type: service, service: steward-demo, state: stopped }
      - { type: command, command: "echo ready", expect: { stdout_contains: ready } }
  - kind: command
    name: make marker
    command: echo made > /tmp/marker
    creates: /tmp/marker
  - kind: command
    name: guarded
    command: echo should-not-run >> /tmp/guarded
  - kind: command
    name: stdin
    command: cat > /tmp/stdin.txt
    stdin: hello from stdin
  - kind: command
    name: as root
    command: id -u
    become: true
    expect: { stdout_matches: "^0$", stderr_empty: true }
  - kind: command
    name: fails but continues
    command: echo oops >&2; exit 3
    on_failure: continue
  - kind: service
    name: start demo
    service: steward-demo
    action: start
  - kind: check
    name: demo running
    checks:
      - { type: service, service: steward-demo }
  - kind: service
    name: stop demo
    service: steward-demo
    action: stop
`;

const app = (name: string, install: string): string => `name: ${name}
targets: sandbox-04
steps:
  - kind: app-upgrade
    name: shop
    app: shop
    version: "^2.4"
    current_version: cat /var/lib/shop/VERSION
    available_versions: printf '%s\\n' 2.4.1 2.5.0 3.0.0
    install: ${install}
    become: true
`;

describe("reboot, command, service, check and app-upgrade steps on the sandbox fleet", () => {
  let dir: string;
  let state: FleetState;
  let transport: Transport;
  let inventory: Inventory;
  let runbooks: Map<string, Runbook>;
  const book = (name: string): Runbook => runbooks.get(name)!;
  const sh = async (host: string, command: string): Promise<string> => (await execInHost(state, host, ["sh", "-c", command])).stdout;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-apply-steps-")), "fleet");
    state = await upFleet({ dir, count: 4, subnet: SUBNET, hide: [PROJECT] });
    transport = createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 0, connectTimeoutMs: 3_000 });
    await sh("sandbox-04", "mkdir -p /var/lib/shop && echo 2.4.1 > /var/lib/shop/VERSION && chmod 755 /var/lib/shop");
    // An HTTP server on the host, for the endpoint check.
    await sh("sandbox-03", `cd /srv/steward-apt && setsid python3 -m http.server --bind 127.0.${SUBNET}.3 18${SUBNET} </dev/null >/dev/null 2>&1 &`);
    ({ inventory, runbooks } = await repository(state, {
      reboot: "name: reboot\ntargets: sandbox-01|sandbox-02\nsteps:\n  - kind: reboot\n    name: reboot\n    when: always\n    wait: 8s\n",
      "reboot-if-required": "name: reboot-if-required\ntargets: sandbox-01\nsteps:\n  - kind: reboot\n    name: reboot\n    wait: 8s\n",
      ops: OPS,
      precheck: "name: precheck\ntargets: sandbox-04\nsteps:\n  - kind: check\n    name: demo must run\n    checks: [{ type: service, service: steward-demo }]\n  - kind: command\n    name: never\n    command: touch /tmp/never\n",
      stop: "name: stop\ntargets: sandbox-04\nsteps:\n  - kind: command\n    name: one\n    command: touch /tmp/one\n  - kind: command\n    name: two\n    command: touch /tmp/two\n",
      "shop-noop": app("shop-noop", "echo {{app.version}} > /dev/null"),
      shop: app("shop", "echo {{app.version}} > /var/lib/shop/VERSION"),
    }));
  });

  afterAll(async () => {
    await transport?.close();
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  const retry = async (fn: () => Promise<void>, tries = 5): Promise<void> => {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (error) {
        if (i >= tries) throw error;
      }
    }
  };
  const bootId = async (host: string): Promise<string | null> => (await fleetStatus(state)).find((h) => h.name === host)?.bootId ?? null;

  it("reboots a host and sees it come back with a new boot id", async () => {
    const { plan } = await planNow(transport, inventory, book("reboot"));
    const before = await bootId("sandbox-01");
    const journal = new RecordingJournal();
    const result = await applyHost(transport, inventory, book("reboot"), plan, "sandbox-01", journal);
    expect(result.outcome, result.detail).toBe("changed");
    const after = await bootId("sandbox-01");
    expect(after).not.toBe(before);
    expect(result.steps[0]!.evidence).toMatchObject({ bootIdBefore: before, bootIdAfter: after });
    const intent = journal.records[0];
    expect(intent?.type === "intent" && intent.intent.evidence).toEqual({ bootIdBefore: before });
    // After a crash, the boot id tells: another one than the intent recorded → it rebooted.
    const options = hostOptions(transport, inventory, book("reboot"), plan, "sandbox-01", journal);
    expect(await rejudgeStep(options, 0, { step: "reboot", kind: "reboot", startedAt: "", evidence: { bootIdBefore: before } })).toBe("changed");
    expect(await rejudgeStep(options, 0, { step: "reboot", kind: "reboot", startedAt: "", evidence: { bootIdBefore: after } })).toBe("skipped");
  });

  it("when: required reboots only a host that asks for it", async () => {
    const { plan } = await planNow(transport, inventory, book("reboot-if-required"));
    expect(plan.hosts[0]!.actions).toMatchObject([{ kind: "reboot", when: "required", expected: false }]);
    const before = await bootId("sandbox-01");
    const quiet = await applyHost(transport, inventory, book("reboot-if-required"), plan, "sandbox-01", new RecordingJournal());
    expect(quiet.steps[0]).toMatchObject({ outcome: "unchanged", detail: "no reboot needed: the plan expected none and the host asks for none" });
    expect(await bootId("sandbox-01")).toBe(before);
    // The host asks now, after planning: the reboot flag is a fact the plan depends on, so the host is stale.
    await sh("sandbox-01", "touch /var/run/reboot-required");
    const asked = await applyHost(transport, inventory, book("reboot-if-required"), plan, "sandbox-01", new RecordingJournal());
    expect(asked).toMatchObject({ outcome: "skipped:stale", detail: "the host changed since planning, nothing was done: the host's reboot flag is now set; plan again", steps: [] });
    expect(await bootId("sandbox-01")).toBe(before);
    await sh("sandbox-01", "rm /var/run/reboot-required");
  });

  it("a host that does not come back within wait fails with a clear detail", async () => {
    const { plan } = await planNow(transport, inventory, book("reboot"));
    // The host freezes the moment the reboot is issued: it never goes down nor answers again.
    const freezing: Transport = {
      close: () => transport.close(),
      connect: async (target: HostTarget): Promise<Session> => {
        const session = await transport.connect(target);
        return {
          target: session.target,
          close: () => session.close(),
          exec: async (command, options) => {
            const result = await session.exec(command, options);
            // Freezing races the host's own processes starting; a few tries always catch it.
            if (options?.label === "reboot") await retry(() => injectFault(state, "sandbox-02", "freeze"));
            return result;
          },
        };
      },
    };
    try {
      const started = Date.now();
      const result = await applyHost(freezing, inventory, book("reboot"), plan, "sandbox-02", new RecordingJournal());
      expect(result.outcome).toBe("failed");
      expect(result.detail).toMatch(/^reboot: rebooted \(the step reboots always\) but the host did not come back within 8s: /);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await healFault(state, "sandbox-02", "freeze");
    }
  });

  it("runs commands with creates, unless, stdin, become and expect, and the service fallback really starts and stops", async () => {
    const ops = book("ops");
    (ops.steps[2] as Runbook["steps"][number] & { unless?: string }).unless = "test -f /tmp/marker";
    const pre = ops.steps[0] as Extract<Runbook["steps"][number], { kind: "check" }>;
    pre.checks.push({ type: "endpoint", url: `tcp://127.0.${SUBNET}.3:2222` });
    const { plan } = await planNow(transport, inventory, ops);
    const journal = new RecordingJournal();
    const first = await applyHost(transport, inventory, ops, plan, "sandbox-03", journal);
    expect(first.outcome, first.detail).toBe("changed");
    expect(first.detail).toContain("failed but continued (on_failure: continue): fails but continues");
    expect(first.steps.map((s) => `${s.step}: ${s.outcome}`)).toEqual([
      "pre: unchanged",
      "make marker: changed",
      "guarded: unchanged",
      "stdin: changed",
      "as root: changed",
      "fails but continues: failed",
      "start demo: changed",
      "demo running: unchanged",
      "stop demo: changed",
    ]);
    expect(first.steps[0]!.detail).toBe("8 checks passed");
    expect(first.steps[2]!.detail).toBe("not run: the unless guard exited 0");
    expect(first.steps[5]!).toMatchObject({ detail: "exit code 3, expected 0", exitCode: 3, stderrTail: "oops\n" });
    expect(first.steps[6]!.detail).toBe("service start steward-demo: inactive → active");
    expect(await sh("sandbox-03", "cat /tmp/marker /tmp/stdin.txt; echo; test -e /tmp/guarded && echo guarded-ran; cat /run/steward-demo.log; service steward-demo status")).toBe("made\nhello from stdin\nstarted\nsteward-demo is not running\n");

    const again = await applyHost(transport, inventory, ops, plan, "sandbox-03", new RecordingJournal());
    expect(again.steps[1]!).toMatchObject({ outcome: "unchanged", detail: "not run: /tmp/marker exists (creates)" });
  });

  it("a failing check before the first change cancels the host; nothing runs", async () => {
    const { plan } = await planNow(transport, inventory, book("precheck"));
    const journal = new RecordingJournal();
    const result = await applyHost(transport, inventory, book("precheck"), plan, "sandbox-04", journal);
    expect(result.outcome).toBe("cancelled:precheck");
    expect(result.detail).toBe("pre-check 'demo must run' failed, nothing was changed: service steward-demo: steward-demo is not running (expected running)");
    expect(journal.trail("sandbox-04")).toEqual(["intent 0 demo must run", "outcome 0 failed"]);
    expect(await sh("sandbox-04", "test -e /tmp/never && echo ran || echo not-run")).toBe("not-run\n");
  });

  it("a stop request ends the host before the next step starts", async () => {
    const { plan } = await planNow(transport, inventory, book("stop"));
    const journal = new RecordingJournal();
    const result = await applyHost(transport, inventory, book("stop"), plan, "sandbox-04", journal, { stopRequested: () => journal.records.length >= 2 });
    expect(result.outcome).toBe("interrupted");
    expect(result.detail).toBe("stopped before step 'two'; earlier steps changed the host");
    expect(await sh("sandbox-04", "ls /tmp/one /tmp/two 2>&1 | sort")).toMatch(/^\/tmp\/one\nls: cannot access '\/tmp\/two'/);
  });

  it("app-upgrade installs the planned version and the probe must report it", async () => {
    const noop = await planNow(transport, inventory, book("shop-noop"));
    expect(noop.plan.hosts[0]!.actions).toMatchObject([{ kind: "app-upgrade", current: "2.4.1", to: "2.5.0", status: "upgrade" }]);
    const failed = await applyHost(transport, inventory, book("shop-noop"), noop.plan, "sandbox-04", new RecordingJournal());
    expect(failed.outcome).toBe("failed");
    expect(failed.detail).toBe("shop: installed, but current_version reports 2.4.1, not 2.5.0");

    const { plan } = await planNow(transport, inventory, book("shop"));
    const result = await applyHost(transport, inventory, book("shop"), plan, "sandbox-04", new RecordingJournal());
    expect(result.outcome, result.detail).toBe("changed");
    expect(result.steps[0]!.detail).toBe("shop 2.4.1 → 2.5.0; current_version reports 2.5.0");
    expect(await sh("sandbox-04", "cat /var/lib/shop/VERSION")).toBe("2.5.0\n");
  });
  it("a host that refuses connections is unreachable with the transport's reason, and nothing is journaled", async () => {
    const { plan } = await planNow(transport, inventory, book("stop"));
    await injectFault(state, "sandbox-04", "unreachable");
    try {
      const fresh = createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 0, connectTimeoutMs: 3_000 });
      const journal = new RecordingJournal();
      try {
        const result = await applyHost(fresh, inventory, book("stop"), plan, "sandbox-04", journal);
        expect(result.outcome).toBe("unreachable");
        expect(result.detail).toMatch(/sandbox-04/);
        expect(journal.records).toEqual([]);
      } finally {
        await fresh.close();
      }
    } finally {
      expect(await healFault(state, "sandbox-04", "unreachable")).toEqual([]);
    }
  });
});
