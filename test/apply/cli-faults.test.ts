import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downFleet, execInHost, healFault, injectFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { cli, existsOn, hostStarts, versionOn } from "./cli-helpers.ts";

/**
 * Faults injected on real sandbox hosts while `steward apply` runs through the CLI:
 * dpkg's lock held by another process (sandbox fault `dpkg-lock`), and a host made
 * unreachable after the first wave (sandbox fault `unreachable`). Profiles
 * (src/sandbox/packages.ts): sandbox-01 and -05 start with steward-lib 1.0.0, -04 with
 * 1.0.1 (all three go to 1.1.0 with patch and minor updates), -02 with 1.1.0 and -03
 * with 2.0.0.
 */

// Own subnet: every fleet needs its own addresses.
const SUBNET = 161;
const PROJECT = resolve(import.meta.dirname, "../..");

const lib = (name: string, targets: string, lockTimeout: number): string => `name: ${name}
targets: ${targets}
policy:
  update_types: [patch, minor]
steps:
  - kind: packages
    name: upgrade
    action: upgrade
    packages: [steward-lib]
    lock_timeout: ${lockTimeout}
`;

/** Two waves with a pause between them, in which a host of the second wave goes away. */
const MIDRUN = `name: midrun
targets: all
rollout:
  waves: [1, "100%"]
  failure_budget: 1
  gate:
    pause: 4s
steps:
  - kind: command
    name: mark
    command: touch /tmp/midrun-ran
  - kind: command
    name: again
    command: touch /tmp/midrun-again
`;

describe("steward apply under injected faults, on the sandbox fleet", () => {
  let dir: string;
  let state: FleetState;
  let run: ReturnType<typeof cli>;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-apply-faults-")), "fleet");
    state = await upFleet({ dir, count: 5, subnet: SUBNET, hide: [PROJECT] });
    run = cli(state);
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    const files: Record<string, string> = { held: lib("held", "sandbox-01", 3), released: lib("released", "sandbox-04", 60), midrun: MIDRUN };
    for (const [name, text] of Object.entries(files)) await writeFile(join(state.dir, "runbooks", `${name}.yaml`), text);
  }, 180_000);

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  /** Lines of /proc/locks inside the host naming an inode of dpkg's lock files. */
  const dpkgLocks = async (host: string): Promise<number> => {
    const r = await execInHost(state, host, ["sh", "-c", "a=$(stat -c %i /var/lib/dpkg/lock-frontend); b=$(stat -c %i /var/lib/dpkg/lock); awk -v a=$a -v b=$b '{ n = split($6, x, \":\"); if (x[n] == a || x[n] == b) c++ } END { print c + 0 }' /proc/locks"]);
    return Number(r.stdout.trim());
  };

  it("dpkg's lock held all along: the host fails after lock_timeout naming the holder, and the lock is left to its holder", async () => {
    const plan = await run.planned("held");
    await injectFault(state, "sandbox-01", "dpkg-lock");
    try {
      expect(await dpkgLocks("sandbox-01")).toBe(2);
      const t0 = Date.now();
      const r = await run.steward("apply", plan);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
      expect(r.code, r.stdout + r.stderr).toBe(4);
      const res = await run.results(r);
      const host = res.hosts[0]!;
      expect(host.outcome).toBe("failed");
      expect(host.detail).toMatch(/^upgrade: dpkg's lock stayed held for 3s, nothing was changed: pid \d+ \(steward-dpkg-lock\) holds \/var\/lib\/dpkg\/lock-frontend/);
      expect(host.detail).toContain("the lock was left alone");
      expect(r.stdout).toMatch(/sandbox-01: failed — upgrade: dpkg's lock stayed held/);
      // Still held by the same holder: steward waited, it did not break the lock.
      expect(await dpkgLocks("sandbox-01")).toBe(2);
      expect(await versionOn(state, "sandbox-01", "steward-lib")).toBe("1.0.0");
      const report = await readFile(join(state.dir, "runs", res.runId, "report.md"), "utf8");
      expect(report).toMatch(/steward-dpkg-lock/);
    } finally {
      expect(await healFault(state, "sandbox-01", "dpkg-lock")).toEqual([]);
    }
  }, 120_000);

  it("dpkg's lock released during the wait: the transaction goes on and the host is upgraded", async () => {
    const plan = await run.planned("released");
    await injectFault(state, "sandbox-04", "dpkg-lock");
    let healed = false;
    try {
      const running = run.start("apply", plan);
      await run.waitJournal("released", running, (records) => records.some((x) => x.type === "step-intent" && x.host === "sandbox-04"));
      // apt is now waiting for the lock inside the host.
      const waiting = async (): Promise<boolean> => (await execInHost(state, "sandbox-04", ["sh", "-c", "ps -eo args | grep -q '^apt-get .*Lock::Timeout'"])).code === 0;
      for (let i = 0; i < 200 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 50));
      expect(await waiting()).toBe(true);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await versionOn(state, "sandbox-04", "steward-lib")).toBe("1.0.1");
      expect(await healFault(state, "sandbox-04", "dpkg-lock")).toEqual([]);
      healed = true;
      const r = await running.done;
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const host = (await run.results(r)).hosts[0]!;
      expect(host.outcome).toBe("changed");
      expect(host.steps[0]!.packages).toEqual([expect.objectContaining({ name: "steward-lib", from: "1.0.1", to: "1.1.0" })]);
      expect(await versionOn(state, "sandbox-04", "steward-lib")).toBe("1.1.0");
    } finally {
      if (!healed) await healFault(state, "sandbox-04", "dpkg-lock");
    }
  }, 120_000);

  it("a host made unreachable after wave 1 is unreachable, counts against the budget, and the others proceed", async () => {
    const plan = await run.planned("midrun");
    const running = run.start("apply", plan);
    const paused = await run.waitJournal("midrun", running, (records) => records.some((x) => x.type === "pause"));
    const first = hostStarts(paused)[0]!.host;
    const gone = ["sandbox-02", "sandbox-03", "sandbox-04"].find((h) => h !== first)!;
    await injectFault(state, gone, "unreachable");
    try {
      const r = await running.done;
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const res = await run.results(r);
      expect(res.status).toBe("hosts-failed");
      expect(res.failureBudget).toEqual({ failures: 1, haltsAt: 2 });
      const outcome = new Map(res.hosts.map((h) => [h.host, h]));
      expect(outcome.get(gone)?.outcome).toBe("unreachable");
      expect(outcome.get(gone)?.steps).toEqual([]);
      for (const h of res.hosts.filter((x) => x.host !== gone)) {
        expect(h.outcome, h.host).toBe("changed");
        expect(await existsOn(state, h.host, "/tmp/midrun-again"), h.host).toBe(true);
      }
      expect(await existsOn(state, gone, "/tmp/midrun-ran")).toBe(false);
      expect(r.stdout).toMatch(new RegExp(`${gone}: unreachable — `));
      // The journal: the host started in wave 2, ended unreachable, and no step of it was started.
      const { records } = await run.journalOf("midrun");
      expect(records.filter((x) => x.type === "step-intent" && x.host === gone)).toEqual([]);
      expect(records.find((x) => x.type === "host-end" && x.host === gone)).toMatchObject({ result: { outcome: "unreachable", wave: 1 } });
      expect(records.filter((x) => x.type === "budget-trip")).toEqual([]);
      expect(records.at(-1)).toMatchObject({ type: "run-end", status: "hosts-failed", exitCode: 1 });
    } finally {
      await healFault(state, gone, "unreachable");
    }
  }, 120_000);
});
