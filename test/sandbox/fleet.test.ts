import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EnvironmentError } from "../../src/core/errors.ts";
import { downFleet, fleetStatus, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { ssh, waitForSsh } from "./ssh-client.ts";

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 201;
const PROJECT = resolve(import.meta.dirname, "../..");

async function dpkgStatusHash(): Promise<string> {
  return createHash("sha256").update(await readFile("/var/lib/dpkg/status")).digest("hex");
}

async function processesNaming(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(text)) found.push(Number(entry));
  }
  return found;
}

describe("sandbox fleet", () => {
  let dir: string;
  let state: FleetState;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-fleet-")), "fleet");
    state = await upFleet({ dir, count: 3, subnet: SUBNET, hide: [PROJECT] });
  });

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("writes pinned host keys, an ssh_config and a steward inventory", async () => {
    const knownHosts = (await readFile(state.knownHosts, "utf8")).trim().split("\n");
    expect(knownHosts).toHaveLength(3);
    expect(knownHosts[0]).toMatch(new RegExp(`^\\[127\\.0\\.${SUBNET}\\.1\\]:2222 ssh-ed25519 AAAA\\S+$`));
    const inventory = parse(await readFile(state.inventory, "utf8")) as {
      defaults: Record<string, unknown>;
      hosts: Record<string, { address: string; groups: string[]; criticality: string }>;
    };
    expect(inventory.defaults).toMatchObject({ user: "steward", port: 2222, become: true, identity_file: state.identityFile });
    expect(inventory.hosts["sandbox-01"]).toMatchObject({ address: `127.0.${SUBNET}.1`, groups: ["sandbox", "db"], criticality: "high" });
    expect(inventory.hosts["sandbox-03"]?.groups).toEqual(["sandbox", "web"]);
  });

  it("refuses a second up in the same folder", async () => {
    await expect(upFleet({ dir, count: 1, subnet: SUBNET })).rejects.toBeInstanceOf(EnvironmentError);
  });

  it("serves each host over real OpenSSH with its own name, sudo and only the file: apt repository", async () => {
    const result = await ssh(state, "sandbox-02", "hostname; sudo -n true && echo sudo-ok; apt-cache policy; apt-cache policy steward-demo-app");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe("sandbox-02");
    expect(lines[1]).toBe("sudo-ok");
    expect(result.stdout).toContain("file:/srv/steward-apt ./ Packages");
    expect(result.stdout).not.toMatch(/https?:\/\//);
    expect(result.stdout).toMatch(/steward-demo-app:\n {2}Installed: 1\.1\.0\n {2}Candidate: 2\.0\.0/);
  });

  it("hides the project, the fleet folder and the machine's private places", async () => {
    const result = await ssh(state, "sandbox-01", `ls -A ${PROJECT} ${dir} /home; sudo ls -A /root`);
    expect(result.stdout.trim().split("\n").filter((l) => l && !l.endsWith(":"))).toEqual(["steward"]);
  });

  it("fails closed on a host key that does not match", async () => {
    const wrong = join(dir, "..", "wrong_known_hosts");
    const keys = (await readFile(state.knownHosts, "utf8")).trim().split("\n");
    // sandbox-01's address paired with sandbox-02's key.
    await writeFile(wrong, `${keys[0]!.split(" ")[0]} ${keys[1]!.split(" ").slice(1).join(" ")}\n`);
    const result = await ssh(state, "sandbox-01", "true", ["-o", `UserKnownHostsFile=${wrong}`]);
    expect(result.code).toBe(255);
    expect(result.stderr).toContain("HOST IDENTIFICATION HAS CHANGED");
  });

  it("upgrades packages inside a host without touching the real dpkg database", async () => {
    const before = await dpkgStatusHash();
    const result = await ssh(state, "sandbox-01", "sudo apt-get install -y -q steward-demo-app steward-kernel-sim && dpkg-query -W steward-demo-app steward-lib steward-kernel-sim && cat /var/run/reboot-required.pkgs");
    expect(result.code).toBe(0);
    // demo-app 2.0.0 depends on steward-lib (>= 2.0.0): apt pulls the major upgrade along.
    expect(result.stdout).toContain("steward-demo-app\t2.0.0\nsteward-kernel-sim\t6.1.0\nsteward-lib\t2.0.0\n");
    // The kernel package's postinst flags the reboot on upgrade.
    expect(result.stdout.trimEnd().endsWith("\nsteward-kernel-sim")).toBe(true);
    expect(await dpkgStatusHash()).toBe(before);
    const other = await ssh(state, "sandbox-02", "dpkg-query -W steward-demo-app");
    expect(other.stdout).toBe("steward-demo-app\t1.1.0\n");
  });

  it("reboots: the connection drops and the host comes back with a new boot id", async () => {
    const before = await ssh(state, "sandbox-01", "cat /proc/sys/kernel/random/boot_id");
    const reboot = await ssh(state, "sandbox-01", "sudo reboot");
    expect(reboot.code).toBe(255);
    await waitForSsh(state, "sandbox-01");
    const after = await ssh(state, "sandbox-01", "cat /proc/sys/kernel/random/boot_id; test -e /var/run/reboot-required && echo still-required; dpkg-query -W steward-kernel-sim");
    expect(after.stdout.split("\n")[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(after.stdout.split("\n")[0]).not.toBe(before.stdout.trim());
    expect(after.stdout).not.toContain("still-required");
    expect(after.stdout).toContain("steward-kernel-sim\t6.1.0");
    const [status] = await fleetStatus(state);
    expect(status).toMatchObject({ name: "sandbox-01", state: "running", sshd: "up", bootId: after.stdout.split("\n")[0], faults: [] });
  });

  it("down stops every process and leaves no mount behind", async () => {
    const pids = state.hosts.flatMap((h) => [h.initPid, h.unsharePid]);
    const result = await downFleet(dir);
    expect(result.stoppedHosts).toBe(3);
    expect(await readFile("/proc/self/mountinfo", "utf8")).not.toContain(dir);
    expect(await processesNaming(dir)).toEqual([]);
    for (const pid of pids) expect(await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).not.toContain(dir);
    await expect(readdir(dir)).rejects.toThrow();
  });
});
