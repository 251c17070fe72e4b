import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResults } from "../../src/apply/results.ts";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { fingerprint } from "../../src/steps/compliance/authorized-keys.ts";
import type { ComplianceEvidence } from "../../src/steps/compliance/execute.ts";

/**
 * A compliance runbook run end to end with `steward run` on four real sandbox hosts
 * that differ on purpose: sandbox-02 lets root log in (PermitRootLogin yes in its
 * sshd_config, which `sshd -T` reports), sandbox-03 holds an authorized key nobody
 * listed, sandbox-04 lacks the sysctl command. Exactly those are reported, with
 * evidence; everything else is compliant, and no host is changed.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 191;
const PROJECT = resolve(import.meta.dirname, "../..");

const baseline = (loginKey: string): string => `name: baseline
targets: all
rollout:
  failure_budget: "100%"
steps:
  - kind: compliance
    name: baseline
    rules:
      - { id: ssh-no-root-login, severity: high, check: { type: sshd, setting: PermitRootLogin, value: "no" } }
      - { id: ssh-keys-only, check: { type: sshd, setting: PasswordAuthentication, value: "no" } }
      - { id: ssh-port, check: { type: sshd, setting: Port, value: "2222" } }
      - { id: sudoers-file, check: { type: file, path: /etc/sudoers.d/steward, mode: "0440", owner: "root:root", contains: NOPASSWD } }
      - { id: no-telnetd, severity: critical, check: { type: package, package: telnetd, installed: false } }
      - { id: sudo-installed, check: { type: package, package: sudo } }
      - { id: demo-stopped, check: { type: service, service: steward-demo, state: stopped } }
      - { id: ostype, check: { type: sysctl, key: kernel.ostype, value: Linux } }
      - { id: hostname, check: { type: command, command: "test \\"$(hostname)\\" = {{host.name}}", expect: { exit_code: 0 } } }
      - id: keys-allowed
        severity: critical
        check: { type: authorized-keys, allowed: [{ fingerprint: "${loginKey}", owner: steward test key, users: [steward] }] }
      - { id: root-through-sudo, check: { type: sudoers, allowed: [root, steward] } }
      - { id: security-updates, check: { type: security-updates, max_age: 7d } }
`;

const PORTS = `name: ports
targets: all
steps:
  - kind: compliance
    name: listeners
    rules:
      - { id: only-sshd, check: { type: listening-ports, allowed: ["2222/tcp"] } }
`;

const HOSTILE = (loginKey: string): string => `name: hostile-keys
targets: sandbox-04
rollout:
  failure_budget: "100%"
steps:
  - kind: compliance
    name: keys
    rules:
      - { id: keys-allowed, check: { type: authorized-keys, allowed: ["${loginKey}"] } }
`;

/**
 * Writes a hostile authorized_keys for a new account mallory (python3 inside the host):
 * 5,000 valid keys, 200 kB of binary junk, a key whose comment carries escape and bell
 * characters, a line of a million bytes — 1.7 MB in all, more than steward reads — and
 * an account whose key file is a link to /dev/zero.
 */
const MALLORY = `useradd -m -d /home/mallory mallory && mkdir -p /home/mallory/.ssh && useradd -m -d /home/zero zero && mkdir -p /home/zero/.ssh && ln -s /dev/zero /home/zero/.ssh/authorized_keys && python3 - <<'PY'
import os, base64, struct
def key():
    t = b"ssh-ed25519"
    return "ssh-ed25519 " + base64.b64encode(struct.pack(">I", len(t)) + t + struct.pack(">I", 32) + os.urandom(32)).decode()
with open("/home/mallory/.ssh/authorized_keys", "wb") as f:
    for i in range(5000):
        f.write((key() + " k%d\\n" % i).encode())
    f.write(os.urandom(200000))
    f.write(("\\n" + key() + " \\x1b]0;evil\\x07\\n").encode())
    f.write(b"x" * 1000000 + b"\\n")
PY`;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

describe("compliance audit on the sandbox fleet through steward run", () => {
  let dir: string;
  let state: FleetState;
  let loginKey: string;
  const sh = async (host: string, command: string): Promise<string> => (await execInHost(state, host, ["sh", "-c", command])).stdout;
  const hosts = ["sandbox-01", "sandbox-02", "sandbox-03", "sandbox-04"];
  const watched = "md5sum /etc/ssh/sshd_config /home/steward/.ssh/authorized_keys /etc/sudoers.d/steward /var/lib/dpkg/status";

  async function steward(...args: string[]): Promise<Ran> {
    let stdout = "";
    let stderr = "";
    const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "" }, cwd: state.dir };
    const code = await main(args, io);
    return { code, stdout, stderr };
  }
  const results = async (stdout: string): Promise<RunResults> => JSON.parse(await readFile(join(state.dir, /^wrote (\S+results\.json)$/m.exec(stdout)![1]!), "utf8")) as RunResults;
  const evidence = (r: RunResults, host: string, step: string): ComplianceEvidence => r.hosts.find((h) => h.host === host)!.steps.find((s) => s.step === step)!.evidence!["compliance"] as ComplianceEvidence;
  const status = (e: ComplianceEvidence): Record<string, string> => Object.fromEntries(e.rules.map((r) => [r.id, r.status]));

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-compliance-")), "fleet");
    state = await upFleet({ dir, count: 4, subnet: SUBNET, hide: [PROJECT] });
    const authorized = (await sh("sandbox-01", "cat /home/steward/.ssh/authorized_keys")).trim();
    loginKey = fingerprint(authorized.split(/\s+/)[1]!);
    // ssh-keygen on the host computes the same fingerprint independently.
    expect(await sh("sandbox-01", "ssh-keygen -lf /home/steward/.ssh/authorized_keys")).toContain(loginKey);
    await sh("sandbox-02", "sed -i 's/^PermitRootLogin no$/PermitRootLogin yes/' /etc/ssh/sshd_config");
    await sh("sandbox-03", "ssh-keygen -q -t ed25519 -N '' -C intruder@elsewhere -f /tmp/intruder && cat /tmp/intruder.pub >> /home/steward/.ssh/authorized_keys");
    await sh("sandbox-04", "rm -f /usr/sbin/sysctl /sbin/sysctl");
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    await writeFile(join(state.dir, "runbooks", "baseline.yaml"), baseline(loginKey));
    await writeFile(join(state.dir, "runbooks", "ports.yaml"), PORTS);
  });

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("reports exactly the hosts that differ as non-compliant or unknown, with evidence, and changes nothing", async () => {
    const before = await Promise.all(hosts.map((h) => sh(h, watched)));
    const intruder = fingerprint((await sh("sandbox-03", "cat /tmp/intruder.pub")).split(" ")[1]!);
    const ran = await steward("run", "baseline");
    expect(ran.code, ran.stderr).toBe(1);
    const r = await results(ran.stdout);
    expect(Object.fromEntries(r.hosts.map((h) => [h.host, h.outcome]))).toEqual({ "sandbox-01": "unchanged", "sandbox-02": "failed", "sandbox-03": "failed", "sandbox-04": "failed" });

    const allCompliant = {
      "ssh-no-root-login": "compliant", "ssh-keys-only": "compliant", "ssh-port": "compliant", "sudoers-file": "compliant", "no-telnetd": "compliant", "sudo-installed": "compliant",
      "demo-stopped": "compliant", ostype: "compliant", hostname: "compliant", "keys-allowed": "compliant", "root-through-sudo": "compliant", "security-updates": "compliant",
    };
    expect(status(evidence(r, "sandbox-01", "baseline"))).toEqual(allCompliant);
    expect(status(evidence(r, "sandbox-02", "baseline"))).toEqual({ ...allCompliant, "ssh-no-root-login": "non-compliant" });
    expect(status(evidence(r, "sandbox-03", "baseline"))).toEqual({ ...allCompliant, "keys-allowed": "non-compliant" });
    expect(status(evidence(r, "sandbox-04", "baseline"))).toEqual({ ...allCompliant, ostype: "unknown" });

    const root = evidence(r, "sandbox-02", "baseline").rules.find((x) => x.id === "ssh-no-root-login")!;
    expect(root).toMatchObject({ status: "non-compliant", observed: "PermitRootLogin yes", expected: "PermitRootLogin no", severity: "high" });
    expect(Date.parse(root.observedAt)).toBeGreaterThan(Date.parse(r.startedAt) - 1);
    const keys = evidence(r, "sandbox-03", "baseline");
    expect(keys.rules.find((x) => x.id === "keys-allowed")!.findings).toEqual([`${intruder} (ssh-ed25519 intruder@elsewhere) in /home/steward/.ssh/authorized_keys:2 of steward: not in the allow-list`]);
    expect(keys.authorizedKeys!.entries.map((e) => [e.user, e.fingerprint, e.line])).toEqual([["steward", loginKey, 1], ["steward", intruder, 2]]);
    const missing = evidence(r, "sandbox-04", "baseline").rules.find((x) => x.id === "ostype")!;
    expect(missing.reason).toMatch(/^sysctl failed: a command is missing on the host \(.*sysctl.*not found\)$/);
    // sudoers review: who may become root, as evidence.
    expect(evidence(r, "sandbox-01", "baseline").sudo!.rights.filter((x) => x.root).map((x) => [x.user, x.allCommands])).toEqual([["root", true], ["steward", true]]);

    const report = await readFile(join(state.dir, dirname(/^wrote (\S+results\.json)$/m.exec(ran.stdout)![1]!), "report.md"), "utf8");
    expect(report).toContain("## Compliance");
    expect(report).toMatch(/\| ssh-no-root-login \| high \| sandbox-02 \| — \|/);
    expect(report).toMatch(/\| keys-allowed \| critical \| sandbox-03 \| — \|/);
    expect(report).toMatch(/\| ostype \| medium \| — \| sandbox-04 \|/);
    expect(report).toMatch(/\| sandbox-02 \| ssh-no-root-login \| — \|/);
    expect(report).not.toMatch(/\| sandbox-01 \| /.source + "[a-z]");

    expect(await Promise.all(hosts.map((h) => sh(h, watched)))).toEqual(before);
  });

  it("reads a hostile account's key files bounded, judges every key read, and reports what it could not use", async () => {
    await sh("sandbox-04", MALLORY);
    await writeFile(join(state.dir, "runbooks", "hostile-keys.yaml"), HOSTILE(loginKey));
    const ran = await steward("run", "hostile-keys");
    expect(ran.code, ran.stderr).toBe(1);
    const r = await results(ran.stdout);
    const e = evidence(r, "sandbox-04", "keys");
    const keys = e.authorizedKeys!;
    expect(keys.files.find((f) => f.user === "mallory")).toMatchObject({ path: "/home/mallory/.ssh/authorized_keys", cut: true });
    expect(keys.files.some((f) => f.user === "zero")).toBe(false);
    const mallory = keys.entries.filter((k) => k.user === "mallory");
    expect(mallory.length).toBe(5001);
    expect(mallory.slice(0, 5000).every((k, i) => k.comment === `k${i}`)).toBe(true);
    expect(mallory[5000]!.comment).toBeNull();
    expect(keys.problems.some((p) => /mallory:\/home\/mallory\/.ssh\/authorized_keys: \d+ bytes, only the first 1048576 were read/.test(p))).toBe(true);
    // The junk's hundreds of lines are each a problem: 100 are listed, the rest counted.
    expect(keys.problems).toHaveLength(100);
    expect(keys.moreProblems).toBeGreaterThan(0);
    expect(e.rules[0]!.status).toBe("non-compliant");
    expect(e.rules[0]!.findings).toHaveLength(1001);
    expect(e.rules[0]!.findings![1000]).toBe("… and 4001 more");
    const text = await readFile(join(state.dir, /^wrote (\S+results\.json)$/m.exec(ran.stdout)![1]!), "utf8");
    expect(text).not.toMatch(/\\u001b|\\u0007/);
  });

  it("lists every listening socket and flags those not allowed", async () => {
    // The sandbox hosts share the machine's network namespace, so every host sees every
    // socket on the machine: the listener opened on sandbox-03 shows on all of them.
    await sh("sandbox-03", `setsid python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.${SUBNET}.3", 18${SUBNET})); s.listen(); time.sleep(120)' </dev/null >/dev/null 2>&1 &`);
    await new Promise((r) => setTimeout(r, 500));
    const ran = await steward("run", "ports");
    const r = await results(ran.stdout);
    for (const host of hosts) {
      const e = evidence(r, host, "listeners");
      expect(e.rules[0]!.status, host).toBe("non-compliant");
      expect(e.listening).toContain(`127.0.${SUBNET}.${host.slice(-1)}:2222/tcp (sshd)`);
      // ss names the process only where it runs (each host has its own PID namespace).
      expect(e.rules[0]!.findings).toContain(`127.0.${SUBNET}.3:18${SUBNET}/tcp${host === "sandbox-03" ? " (python3)" : ""} is not allowed`);
      expect(e.rules[0]!.findings!.some((f) => f.includes(":2222/tcp"))).toBe(false);
    }
  });
});
