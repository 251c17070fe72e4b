import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Inventory, Runbook } from "../../src/model/types.ts";
import { downFleet, execInHost, healFault, injectFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { Transport } from "../../src/transport/types.ts";
import { rejudgeStep } from "../../src/apply/host-runner.ts";
import { failureKind } from "../../src/report/severity.ts";
import { applyHost, hostOptions, planNow, RecordingJournal, repository, versionsOn } from "./fleet-helpers.ts";

/**
 * Package steps applied by the host runner to real sandbox hosts, from plans the real
 * planner made on facts gathered from those hosts. Profiles (src/sandbox/packages.ts):
 * 01, 05, 09 start at a (steward-lib 1.0.0, steward-demo-app 1.0.0), 02 and 06 at b,
 * 04 and 08 at d (1.0.1). Minor and patch upgrades only, so 1.1.0 is the planned target.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 247;
const PROJECT = resolve(import.meta.dirname, "../..");
const LIB_AND_APP = ["steward-lib", "steward-demo-app"];

const runbook = (name: string, targets: string, packages: string[], extra = ""): string => `name: ${name}
targets: ${targets}
policy:
  update_types: [patch, minor]
steps:
  - kind: packages
    name: upgrade
    action: upgrade
    packages: [${packages.join(", ")}]
${extra}`;

describe("packages steps on the sandbox fleet", () => {
  let dir: string;
  let state: FleetState;
  let transport: Transport;
  let inventory: Inventory;
  let runbooks: Map<string, Runbook>;
  const book = (name: string): Runbook => runbooks.get(name)!;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-apply-packages-")), "fleet");
    state = await upFleet({ dir, count: 9, subnet: SUBNET, hide: [PROJECT] });
    transport = createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 0, connectTimeoutMs: 5_000 });
    ({ inventory, runbooks } = await repository(state, {
      clean: runbook("clean", "sandbox-01|sandbox-04", LIB_AND_APP),
      broken: runbook("broken", "sandbox-05", ["steward-broken"]),
      "app-only": runbook("app-only", "sandbox-08", ["steward-demo-app"]),
      locked: runbook("locked", "sandbox-02", ["steward-broken"]),
      stale: runbook("stale", "sandbox-09|sandbox-06", ["steward-lib", "steward-broken"]),
      repair: runbook("repair", "sandbox-03", ["steward-broken"]),
      hostile: runbook("hostile", "sandbox-07", ["steward-broken"]),
    }));
  });

  afterAll(async () => {
    await transport?.close();
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("upgrades the planned set on two hosts in one transaction, recording from → to as observed on the host", async () => {
    const { plan } = await planNow(transport, inventory, book("clean"));
    expect(plan.hosts.map((h) => h.name).sort()).toEqual(["sandbox-01", "sandbox-04"]);
    const journal = new RecordingJournal();
    const results = await Promise.all(["sandbox-01", "sandbox-04"].map((h) => applyHost(transport, inventory, book("clean"), plan, h, journal)));
    for (const r of results) {
      expect(r.outcome, r.detail).toBe("changed");
      expect(r.steps.map((s) => s.outcome)).toEqual(["changed"]);
      expect(journal.trail(r.host)).toEqual(["intent 0 upgrade", "outcome 0 changed"]);
      expect(await versionsOn(state, r.host, LIB_AND_APP)).toEqual({ "steward-demo-app": "1.1.0 ii", "steward-lib": "1.1.0 ii" });
    }
    expect(results[0]!.steps[0]!.packages).toEqual([
      { name: "steward-demo-app", arch: "all", from: "1.0.0", to: "1.1.0" },
      { name: "steward-lib", arch: "all", from: "1.0.0", to: "1.1.0" },
    ]);
    expect(results[1]!.steps[0]!.packages?.map((p) => `${p.name} ${p.from} → ${p.to}`)).toEqual(["steward-demo-app 1.0.1 → 1.1.0", "steward-lib 1.0.1 → 1.1.0"]);
    // After a crash the step is judged from the versions now: at the planned `to`, it took effect.
    const intent = { step: "upgrade", kind: "packages" as const, startedAt: new Date().toISOString() };
    expect(await rejudgeStep(hostOptions(transport, inventory, book("clean"), plan, "sandbox-01", journal), 0, intent)).toBe("changed");
    // Resumed, the host this run changed is not stale: a completed step is kept, a started
    // one judged from the host; neither runs again.
    const done = new RecordingJournal(new Map([["upgrade", results[0]!.steps[0]!]]));
    const again = await applyHost(transport, inventory, book("clean"), plan, "sandbox-01", done);
    expect(again.outcome, again.detail).toBe("changed");
    expect(done.trail("sandbox-01")).toEqual([]);
    const started = new RecordingJournal(new Map(), new Map([["upgrade", intent]]));
    const judged = await applyHost(transport, inventory, book("clean"), plan, "sandbox-04", started);
    expect(judged.outcome, judged.detail).toBe("changed");
    expect(started.trail("sandbox-04")).toEqual(["outcome -1 changed"]);
  });

  it("a failing postinst fails the host with the repair command, and the host is left half-configured", async () => {
    const { plan } = await planNow(transport, inventory, book("broken"));
    const journal = new RecordingJournal();
    const result = await applyHost(transport, inventory, book("broken"), plan, "sandbox-05", journal);
    expect(result.outcome).toBe("failed");
    expect(result.detail).toContain("steward-broken 1.0.1 is half-configured");
    expect(result.detail).toContain("dpkg --configure -a");
    expect(result.steps[0]!.packages).toEqual([{ name: "steward-broken", arch: "all", from: "1.0.0", to: "1.0.1" }]);
    expect(result.steps[0]!.stderrTail).toContain("post-installation script subprocess returned error exit status 1");
    expect(await versionsOn(state, "sandbox-05", ["steward-broken"])).toEqual({ "steward-broken": "1.0.1 iF" });
    expect(journal.trail("sandbox-05")).toEqual(["intent 0 upgrade", "outcome 0 failed"]);
  });

  it("refuses a host whose simulation pulls an unplanned dependency to its candidate; nothing changes", async () => {
    const { plan } = await planNow(transport, inventory, book("app-only"));
    const host = plan.hosts.find((h) => h.name === "sandbox-08")!;
    expect(host.actions).toMatchObject([{ kind: "packages", upgrades: [{ name: "steward-demo-app", from: "1.0.1", to: "1.1.0" }] }]);
    const result = await applyHost(transport, inventory, book("app-only"), plan, "sandbox-08", new RecordingJournal());
    expect(result.outcome).toBe("failed");
    expect(result.detail).toContain("refused, nothing was changed: the transaction would upgrade steward-lib 1.0.1 → 2.0.0, which the plan does not name");
    expect(await versionsOn(state, "sandbox-08", LIB_AND_APP)).toEqual({ "steward-demo-app": "1.0.1 ii", "steward-lib": "1.0.1 ii" });
    // Still at `from`: not applied, safe to run again.
    const intent = { step: "upgrade", kind: "packages" as const, startedAt: new Date().toISOString() };
    expect(await rejudgeStep(hostOptions(transport, inventory, book("app-only"), plan, "sandbox-08", new RecordingJournal()), 0, intent)).toBe("skipped");
  });

  it("a simulation whose output breaks its grammar refuses the host, untouched: the host's output is not trusted, not a steward bug", async () => {
    const { plan } = await planNow(transport, inventory, book("hostile"));
    expect(plan.hosts.find((h) => h.name === "sandbox-07")!.actions).toMatchObject([{ kind: "packages", upgrades: [{ name: "steward-broken", from: "1.0.0", to: "1.0.1" }] }]);
    // apt-get, as the host runs it, prints an escape sequence and a workflow command into its simulation.
    const wrap = "mv /usr/bin/apt-get /usr/bin/apt-get.real && printf '%s\\n' '#!/bin/sh' 'case \" $* \" in *\" -s \"*) printf \"\\033[2J\\033]0;pwned\\007::error::x\\n\";; esac' 'exec /usr/bin/apt-get.real \"$@\"' > /usr/bin/apt-get && chmod 755 /usr/bin/apt-get";
    const wrapped = await execInHost(state, "sandbox-07", ["sh", "-c", wrap]);
    expect(wrapped.code, wrapped.stderr).toBe(0);
    try {
      const journal = new RecordingJournal();
      const result = await applyHost(transport, inventory, book("hostile"), plan, "sandbox-07", journal);
      expect(result.outcome).toBe("failed");
      expect(result.steps[0]!.detail).toMatch(/^refused, nothing was changed: the host's output is not trusted: /);
      expect(result.steps[0]!.detail).not.toContain("internal error");
      expect(failureKind(result)).toBe("untouched");
      expect(await versionsOn(state, "sandbox-07", ["steward-broken"])).toEqual({ "steward-broken": "1.0.0 ii" });
      expect(journal.trail("sandbox-07")).toEqual(["intent 0 upgrade", "outcome 0 failed"]);
    } finally {
      await execInHost(state, "sandbox-07", ["mv", "-f", "/usr/bin/apt-get.real", "/usr/bin/apt-get"]);
    }
  });

  it("with repair: true the repair runs after a failing postinst, and what it left is reported", async () => {
    const { plan } = await planNow(transport, inventory, book("repair"));
    (book("repair").steps[0] as Runbook["steps"][number] & { repair?: boolean }).repair = true;
    const result = await applyHost(transport, inventory, book("repair"), plan, "sandbox-03", new RecordingJournal());
    expect(result.outcome).toBe("failed");
    // steward-broken's postinst fails every time, so the repair cannot configure it either.
    expect(result.detail).toBe("upgrade: the transaction left packages half-done: steward-broken 1.0.1 is half-configured; `dpkg --configure -a` ran (repair: true) and left steward-broken 1.0.1 is half-configured");
    expect(result.steps[0]!.evidence).toMatchObject({ repair: { command: "dpkg --configure -a", exitCode: 1 } });
    expect(await versionsOn(state, "sandbox-03", ["steward-broken"])).toEqual({ "steward-broken": "1.0.1 iF" });
  });

  it("a dpkg lock held during apply fails the host after the bounded wait, naming the holder; the lock is left alone", async () => {
    const { plan } = await planNow(transport, inventory, book("locked"));
    const step = book("locked").steps[0] as Runbook["steps"][number] & { lock_timeout?: number };
    step.lock_timeout = 2;
    await injectFault(state, "sandbox-02", "dpkg-lock");
    try {
      const started = Date.now();
      const result = await applyHost(transport, inventory, book("locked"), plan, "sandbox-02", new RecordingJournal());
      expect(result.outcome).toBe("failed");
      expect(result.detail).toMatch(/dpkg's lock stayed held for 2s, nothing was changed: pid \d+ \(steward-dpkg-lock\) holds \/var\/lib\/dpkg\/lock-frontend/);
      expect(Date.now() - started).toBeGreaterThan(2_000);
      expect(await versionsOn(state, "sandbox-02", ["steward-broken"])).toEqual({ "steward-broken": "1.0.0 ii" });
      // The holder still holds it: steward waited and gave up, it did not break the lock.
      const still = await execInHost(state, "sandbox-02", ["sh", "-c", "cat /proc/locks | wc -l"]);
      expect(Number(still.stdout.trim())).toBeGreaterThanOrEqual(2);
    } finally {
      expect(await healFault(state, "sandbox-02", "dpkg-lock")).toEqual([]);
    }
  });

  it("a host changed by hand after planning is skipped:stale naming what moved; nothing is changed", async () => {
    const { plan } = await planNow(transport, inventory, book("stale"));
    expect(plan.hosts.map((h) => h.name).sort()).toEqual(["sandbox-06", "sandbox-09"]);
    const byHand = await execInHost(state, "sandbox-09", ["sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q steward-lib=1.0.1 >/dev/null"]);
    expect(byHand.code, byHand.stderr).toBe(0);
    const hold = await execInHost(state, "sandbox-06", ["apt-mark", "hold", "steward-broken"]);
    expect(hold.code, hold.stderr).toBe(0);
    const journal = new RecordingJournal();
    const moved = await applyHost(transport, inventory, book("stale"), plan, "sandbox-09", journal);
    expect(moved.outcome).toBe("skipped:stale");
    expect(moved.detail).toContain("steward-lib is now 1.0.1, not 1.0.0");
    const held = await applyHost(transport, inventory, book("stale"), plan, "sandbox-06", journal);
    expect(held.outcome).toBe("skipped:stale");
    expect(held.detail).toContain("steward-broken is now held");
    expect(journal.records).toEqual([]);
    expect(await versionsOn(state, "sandbox-09", ["steward-lib", "steward-broken"])).toEqual({ "steward-broken": "1.0.0 ii", "steward-lib": "1.0.1 ii" });
  });
});
