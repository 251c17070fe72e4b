import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJournal } from "../../src/apply/journal-replay.ts";
import { downFleet, execInHost, healFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { bootIds, cli, hostStarts, versionOn } from "./cli-helpers.ts";

/**
 * Rolling upgrades with a reboot, through `steward plan --gather` and `steward apply`
 * on five real sandbox hosts. Profiles (src/sandbox/packages.ts): sandbox-01, -04 and
 * -05 start with steward-kernel-sim 5.10.1, whose patch upgrade to 5.10.2 asks for a
 * reboot (its postinst writes /var/run/reboot-required); -02 has 5.10.2 and -03 6.1.0
 * (a major: nothing to do with patch and minor updates).
 */

// Own subnet: every fleet needs its own addresses.
const SUBNET = 160;
const PROJECT = resolve(import.meta.dirname, "../..");

const kernel = (name: string, targets: string, waves: string, budget: number, wait: string): string => `name: ${name}
targets: "${targets}"
rollout:
  waves: ${waves}
  failure_budget: ${budget}
policy:
  update_types: [patch, minor]
steps:
  - kind: packages
    name: kernel
    action: upgrade
    packages: [steward-kernel-sim]
  - kind: reboot
    name: reboot
    wait: ${wait}
`;

describe("steward apply with a reboot step, on the sandbox fleet", () => {
  let dir: string;
  let state: FleetState;
  let run: ReturnType<typeof cli>;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-apply-reboot-")), "fleet");
    state = await upFleet({ dir, count: 5, subnet: SUBNET, hide: [PROJECT] });
    run = cli(state);
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    const files: Record<string, string> = {
      // Three planned hosts in three waves of one.
      rolling: kernel("rolling", "all", "[1, 2, 3]", 0, "30s"),
      lost: kernel("lost", "sandbox-01, sandbox-04, sandbox-05", "[1, 2, 3]", 0, "5s"),
      rekeyed: kernel("rekeyed", "sandbox-05", "[1]", 0, "20s"),
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(state.dir, "runbooks", `${name}.yaml`), text);
  }, 180_000);

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  /** The hosts of each wave of a plan file, in order. */
  async function waveHosts(planFile: string): Promise<string[][]> {
    const plan = JSON.parse(await readFile(join(state.dir, planFile), "utf8")) as { rollout: { waves: Array<{ hosts: string[] }> } };
    return plan.rollout.waves.map((w) => w.hosts);
  }

  /** Puts steward-kernel-sim back to 5.10.1 (the downgrade's postinst sets the reboot flag: cleared). */
  async function downgrade(host: string): Promise<void> {
    const r = await execInHost(state, host, ["sh", "-c", "dpkg -i /srv/steward-apt/steward-kernel-sim_5.10.1_all.deb >/dev/null && rm -f /var/run/reboot-required /var/run/reboot-required.pkgs"]);
    expect(r.code, r.stderr).toBe(0);
  }

  /** Replaces the host's `reboot` with `body` for the duration of `fn`. */
  async function withReboot<T>(host: string, body: string, fn: () => Promise<T>): Promise<T> {
    const sh = (script: string) => execInHost(state, host, ["sh", "-c", script]);
    expect((await sh("cp -p /usr/sbin/reboot /usr/sbin/reboot.real")).code).toBe(0);
    await execInHost(state, host, ["sh", "-c", `printf '%s\\n' '#!/bin/sh' ${JSON.stringify(body)} > /usr/sbin/reboot`]);
    try {
      return await fn();
    } finally {
      await healFault(state, host, "unreachable");
      await sh("mv /usr/sbin/reboot.real /usr/sbin/reboot");
    }
  }

  it("a clean rolling upgrade in three waves: each host upgraded and rebooted in turn, boot ids new, host keys still the pinned ones", async () => {
    const knownHosts = await readFile(state.knownHosts, "utf8");
    const before = await bootIds(state);
    const plan = await run.planned("rolling");
    const r = await run.steward("apply", plan);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const res = await run.results(r);
    expect(res.status).toBe("ok");
    // Three waves of one host each, in the plan's order (least critical first).
    const order = await waveHosts(plan);
    expect(order.map((w) => w.length)).toEqual([1, 1, 1]);
    expect(order.flat().sort()).toEqual(["sandbox-01", "sandbox-04", "sandbox-05"]);
    expect(res.hosts.map((h) => [h.host, h.outcome])).toEqual(order.flat().map((h) => [h, "changed"]));
    const after = await bootIds(state);
    for (const h of res.hosts) {
      expect(await versionOn(state, h.host, "steward-kernel-sim"), h.host).toBe("5.10.2");
      const [pkgs, reboot] = h.steps;
      expect(pkgs!.packages).toEqual([expect.objectContaining({ name: "steward-kernel-sim", from: "5.10.1", to: "5.10.2" })]);
      expect(reboot).toMatchObject({ step: "reboot", outcome: "changed", evidence: { bootIdBefore: before.get(h.host), bootIdAfter: after.get(h.host) } });
      expect(after.get(h.host), h.host).not.toBe(before.get(h.host));
      // The reboot cleared the flag the upgrade set: a real reboot renews /run.
      expect((await execInHost(state, h.host, ["test", "-e", "/var/run/reboot-required"])).code, h.host).not.toBe(0);
    }
    // Hosts with nothing to do were neither upgraded nor rebooted.
    expect(after.get("sandbox-02")).toBe(before.get("sandbox-02"));
    expect(after.get("sandbox-03")).toBe(before.get("sandbox-03"));
    expect(await versionOn(state, "sandbox-03", "steward-kernel-sim")).toBe("6.1.0");
    // The reconnect after each reboot checked the host key against known_hosts, which nothing rewrote.
    expect(await readFile(state.knownHosts, "utf8")).toBe(knownHosts);

    // Waves in order, from the journal: every host of a wave started after the wave before ended.
    const { records } = await readJournal(join(state.dir, "runs", res.runId, "journal.jsonl"));
    const waveEnd = (w: number): number => records.find((x) => x.type === "wave-end" && x.wave === w)!.seq;
    const waveStart = (w: number): number => records.find((x) => x.type === "wave-start" && x.wave === w)!.seq;
    expect(hostStarts(records).map((s) => [s.host, s.wave])).toEqual(order.flat().map((h, i) => [h, i]));
    for (const s of hostStarts(records)) {
      expect(s.seq).toBeGreaterThan(waveStart(s.wave));
      expect(s.seq).toBeLessThan(waveEnd(s.wave));
      if (s.wave > 0) expect(waveStart(s.wave)).toBeGreaterThan(waveEnd(s.wave - 1));
    }
    // Each host's reboot intent carries the boot id its re-judging would compare against.
    for (const h of res.hosts) {
      const intent = records.find((x) => x.type === "step-intent" && x.host === h.host && x.step === "reboot");
      expect(intent).toMatchObject({ evidence: { bootIdBefore: before.get(h.host) } });
    }
  }, 180_000);

  it("a reboot that never returns fails within wait and spends the budget: later waves are not started", async () => {
    for (const host of ["sandbox-01", "sandbox-04", "sandbox-05"]) await downgrade(host);
    const plan = await run.planned("lost");
    const [[canary]] = (await waveHosts(plan)) as [[string]];
    const before = await bootIds(state);
    // The first host's reboot takes it off the network instead (the sandbox's unreachable
    // fault, sent by the host itself as the reboot is issued): it never comes back.
    await withReboot(canary, "kill -USR2 1", async () => {
      const t0 = Date.now();
      const r = await run.steward("apply", plan);
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(r.code, r.stdout + r.stderr).toBe(4);
      const res = await run.results(r);
      expect(res.status).toBe("halted:budget");
      expect(res.failureBudget).toEqual({ failures: 1, haltsAt: 1 });
      const [lost, ...rest] = res.hosts;
      expect(lost).toMatchObject({ host: canary, outcome: "failed" });
      expect(lost!.detail).toMatch(/^reboot: rebooted \(.*\) but the host did not come back within 5s: /);
      expect(lost!.steps.map((s) => [s.step, s.outcome])).toEqual([
        ["kernel", "changed"],
        ["reboot", "failed"],
      ]);
      expect(rest.map((h) => h.outcome)).toEqual(["not-started:budget", "not-started:budget"]);
      for (const h of rest) expect(await versionOn(state, h.host, "steward-kernel-sim"), h.host).toBe("5.10.1");
      expect((await bootIds(state)).get(canary)).toBe(before.get(canary));
      const report = await readFile(join(state.dir, "runs", res.runId, "report.md"), "utf8");
      expect(report).toContain(`failure budget tripped at ${canary}`);
    });
  }, 180_000);

  it("a host that comes back from its reboot with another host key fails: the key is checked again on reconnect", async () => {
    await downgrade("sandbox-05");
    const plan = await run.planned("rekeyed");
    const key = "/etc/ssh/ssh_host_ed25519_key";
    expect((await execInHost(state, "sandbox-05", ["sh", "-c", `cp -p ${key} /root/key && cp -p ${key}.pub /root/key.pub`])).code).toBe(0);
    // The host's reboot gives it a new host key on the way down, as a reinstalled machine would have.
    await withReboot("sandbox-05", `rm -f ${key} ${key}.pub && ssh-keygen -q -t ed25519 -N "" -f ${key} && kill -USR1 1`, async () => {
      try {
        const r = await run.steward("apply", plan);
        expect(r.code, r.stdout + r.stderr).toBe(4);
        const host = (await run.results(r)).hosts[0]!;
        expect(host.outcome).toBe("failed");
        expect(host.detail).toMatch(/did not come back within 20s: it came back with another host key/);
        expect(host.steps.at(-1)).toMatchObject({ step: "reboot", outcome: "failed" });
      } finally {
        // Put the pinned key back, and reboot the host from outside (its init) so sshd serves it.
        await execInHost(state, "sandbox-05", ["sh", "-c", `cp -p /root/key ${key} && cp -p /root/key.pub ${key}.pub`]);
        process.kill(state.hosts.find((h) => h.name === "sandbox-05")!.initPid, "SIGUSR1");
      }
    });
  }, 180_000);
});
