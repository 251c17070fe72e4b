import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { splitFramed } from "../../src/facts/script.ts";
import type { ComplianceRule } from "../../src/model/types.ts";
import { judgeListeningPorts, judgeSecurityUpdates, judgeSudoers } from "../../src/steps/compliance/hygiene.ts";
import { judgeRules } from "../../src/steps/compliance/execute.ts";
import { parseAllowedSocket, parseProcNet, parseSs, parseSshdT, parseSudoList, socketAllowed, socketLabel } from "../../src/steps/compliance/readings.ts";
import { judgeSshd } from "../../src/steps/compliance/rules.ts";
import { complianceScript, ruleBody } from "../../src/steps/compliance/script.ts";

/** Fixtures and how they were made: test/fixtures/steps/compliance/README.md. */
const fixture = (name: string): string => readFileSync(join(import.meta.dirname, "../fixtures/steps/compliance", name), "utf8");
const ok = (stdout: string) => ({ stdout, stderr: "", exitCode: 0 });

describe("sshd: the effective configuration from `sshd -T`", () => {
  const sshdT = fixture("sshd-T.txt");
  const sshd = (setting: string, value: string) => ({ type: "sshd" as const, setting, value });

  it("reads every setting, several values of one keyword in order", () => {
    const settings = parseSshdT(sshdT);
    expect(settings.get("permitrootlogin")).toEqual(["yes"]);
    expect(settings.get("listenaddress")).toEqual(["[::]:2222", "0.0.0.0:2222"]);
    expect(settings.get("authorizedkeysfile")).toEqual([".ssh/authorized_keys /etc/ssh/keys/%u"]);
  });

  it("judges a setting whatever its case, with the observed and expected values as evidence", () => {
    expect(judgeSshd(sshd("PermitRootLogin", "no"), ok(sshdT))).toEqual({ status: "non-compliant", observed: "PermitRootLogin yes", expected: "PermitRootLogin no" });
    expect(judgeSshd(sshd("passwordauthentication", "NO"), ok(sshdT)).status).toBe("compliant");
    expect(judgeSshd(sshd("Port", "2222"), ok(sshdT)).status).toBe("compliant");
    // sshd -T prints prohibit-password under its old name.
    expect(judgeSshd(sshd("PermitRootLogin", "prohibit-password"), ok("permitrootlogin without-password\n")).status).toBe("compliant");
  });

  it("is unknown when sshd -T fails (not root) or does not know the setting", () => {
    expect(judgeSshd(sshd("PermitRootLogin", "no"), { stdout: "", stderr: "sshd: no hostkeys available -- exiting.\n", exitCode: 1 })).toMatchObject({ status: "unknown", reason: "sshd -T failed: sshd: no hostkeys available -- exiting." });
    expect(judgeSshd(sshd("PermitRootLogin", "no"), { stdout: "", stderr: "sh: 1: sshd: not found\n", exitCode: 127 })).toMatchObject({ status: "unknown", reason: "sshd -T failed: a command is missing on the host (sh: 1: sshd: not found)" });
    expect(judgeSshd(sshd("Protocol", "2"), ok(sshdT))).toMatchObject({ status: "unknown", reason: "sshd -T does not report Protocol: not a setting of this OpenSSH version" });
  });
});

describe("listening-ports: ss, else /proc/net", () => {
  it("reads the same sockets from ss and from /proc/net", () => {
    const ss = parseSs(fixture("ss-Htlnup.txt"));
    const proc = parseProcNet(fixture("proc-net.txt"));
    expect(ss.skipped).toBe(0);
    expect(proc.skipped).toBe(0);
    expect(ss.sockets.map(socketLabel).sort()).toEqual(["*:18198/tcp (python3)", "0.0.0.0:18199/tcp (python3)", "127.0.195.50:18195/tcp (python3)", "127.0.195.50:18196/udp (python3)", "[::1]:18197/tcp (python3)"]);
    // /proc/net names the dual-stack [::] socket by its address where ss prints "*".
    expect(proc.sockets.map(socketLabel).sort()).toEqual(["0.0.0.0:18199/tcp", "127.0.195.50:18195/tcp", "127.0.195.50:18196/udp", "[::1]:18197/tcp", "[::]:18198/tcp"]);
  });

  it("allows by port, address and protocol", () => {
    const allowed = ["127.0.195.50:18195", "18196/udp", "[::1]:18197/tcp", "*:18198"].map(parseAllowedSocket);
    const { sockets } = parseSs(fixture("ss-Htlnup.txt"));
    expect(sockets.filter((s) => !socketAllowed(s, allowed)).map(socketLabel)).toEqual(["0.0.0.0:18199/tcp (python3)"]);
    expect(socketAllowed({ proto: "tcp", address: "::ffff:127.0.0.1", port: 80 }, [parseAllowedSocket("127.0.0.1:80")])).toBe(true);
    expect(() => parseAllowedSocket("22; rm -rf /")).toThrow(RangeError);
  });

  it("judges the rule on ss output and falls back to /proc/net", () => {
    const rule = { type: "listening-ports" as const, allowed: ["18195", "18196/udp", "18197", "18198"] };
    const viaSs = judgeListeningPorts(rule, ok(`via ss\n${fixture("ss-Htlnup.txt")}`));
    expect(viaSs.judged).toMatchObject({ status: "non-compliant", observed: "5 listening socket(s) (ss)", findings: ["0.0.0.0:18199/tcp (python3) is not allowed"] });
    const viaProc = judgeListeningPorts({ ...rule, allowed: [...rule.allowed, "18199"] }, ok(`via proc\n${fixture("proc-net.txt")}`));
    expect(viaProc.judged).toMatchObject({ status: "compliant", observed: "5 listening socket(s) (/proc/net)" });
    expect(judgeListeningPorts(rule, ok("via ss\ngarbage line\n")).judged.status).toBe("unknown");
  });
});

/**
 * The real script run on this machine by /bin/sh (read-only: stat, dpkg-query, sysctl,
 * a command), framed and judged: what the host side prints is what the judges read.
 */
describe("file, package, sysctl and command rules through the real script", () => {
  const rules: ComplianceRule[] = [
    { id: "passwd-mode", check: { type: "file", path: "/etc/passwd", mode: "0644", owner: "root:0" } },
    { id: "passwd-strict", check: { type: "file", path: "/etc/passwd", mode: "600", owner: "nobody" } },
    { id: "no-such-file", check: { type: "file", path: "/nonexistent/steward", exists: false } },
    { id: "passwd-root", check: { type: "file", path: "/etc/passwd", contains: "root:x:0:0" } },
    { id: "dpkg", check: { type: "package", package: "dpkg", version: "1.0" } },
    { id: "dpkg-new", check: { type: "package", package: "dpkg", version: "99:1" } },
    { id: "no-telnetd", check: { type: "package", package: "telnetd*", installed: false } },
    { id: "no-such-key", check: { type: "sysctl", key: "kernel.steward_no_such_key", value: "0" } },
    { id: "ostype", check: { type: "sysctl", key: "kernel.ostype", value: "Linux" } },
    { id: "missing-command", check: { type: "command", command: "steward-no-such-command --check", expect: { exit_code: 0 } } },
    { id: "echo", check: { type: "command", command: "echo ready", expect: { stdout_contains: "ready" } } },
  ];

  const run = (nonce = "0123456789abcdef0123456789abcdef") => {
    const { script, marker, sections } = complianceScript(rules, rules.map((r) => (r.check.type === "command" ? r.check.command : undefined)), nonce);
    const { stdout, stderr } = spawnSync("/bin/sh", ["-s"], { input: script, encoding: "utf8" });
    return { stdout, stderr, marker, sections };
  };

  it("judges each rule compliant, non-compliant or unknown, with evidence", () => {
    const { stdout, stderr, marker, sections } = run();
    const at = new Date("2026-12-01T10:00:00Z");
    const evidence = judgeRules(rules, splitFramed(stdout, stderr, marker, sections, "compliance output"), at);
    const status = Object.fromEntries(evidence.rules.map((r) => [r.id, r.status]));
    expect(status).toEqual({
      "passwd-mode": "compliant",
      "passwd-strict": "non-compliant",
      "no-such-file": "compliant",
      "passwd-root": "compliant",
      dpkg: "compliant",
      "dpkg-new": "non-compliant",
      "no-telnetd": "compliant",
      "no-such-key": "unknown",
      ostype: "compliant",
      "missing-command": "unknown",
      echo: "compliant",
    });
    const byId = new Map(evidence.rules.map((r) => [r.id, r]));
    expect(byId.get("passwd-strict")).toMatchObject({ observed: "/etc/passwd: regular file, mode 0644, owner root:root", expected: "/etc/passwd: exists, mode 0600, owner nobody", findings: ["mode 0644, expected 0600", "owner root, expected nobody"], observedAt: at.toISOString(), severity: "medium" });
    expect(byId.get("dpkg-new")!.findings![0]).toMatch(/^dpkg \S+ is older than 99:1$/);
    expect(byId.get("missing-command")!.reason).toMatch(/^a command is missing on the host \(.*steward-no-such-command.*not found\)$/);
    expect(byId.get("no-such-key")!.reason).toMatch(/^sysctl failed: .*steward_no_such_key/);
  });
});

describe("sudoers: who may run commands as root, from `sudo -l -U`", () => {
  const sandbox = JSON.parse(fixture("sandbox.json")) as { sudo: string; ss: string };

  it("reads each account's rules as sudo resolved them", () => {
    const { rights, unanswered } = parseSudoList(sandbox.sudo);
    expect(rights).toEqual([
      { user: "steward", rules: ["(ALL : ALL) NOPASSWD: ALL"], root: true, allCommands: true },
      { user: "root", rules: ["(ALL : ALL) ALL"], root: true, allCommands: true },
    ]);
    expect(unanswered).toEqual([]);
  });

  it("tells rules as another user, some commands, wrapped lines and silence apart", () => {
    const text = [
      "user web", "| User web may run the following commands on h:", "|     (www-data) NOPASSWD: /usr/bin/systemctl reload nginx",
      "user ops", "| User ops may run the following commands on h:", "|     (root) /usr/bin/apt-get update, /usr/bin/apt-get", "|         upgrade", "|     /usr/bin/journalctl",
      "user ghost", "| sudo: unable to resolve host h", ""].join("\n");
    const { rights, unanswered } = parseSudoList(text);
    expect(rights).toEqual([
      { user: "web", rules: ["(www-data) NOPASSWD: /usr/bin/systemctl reload nginx"], root: false, allCommands: false },
      { user: "ops", rules: ["(root) /usr/bin/apt-get update, /usr/bin/apt-get upgrade", "/usr/bin/journalctl"], root: true, allCommands: false },
    ]);
    expect(unanswered).toEqual(["ghost"]);
  });

  it("judges the rule against the accounts it allows; evidence only without a list", () => {
    const rule = (allowed?: string[]) => ({ type: "sudoers" as const, ...(allowed ? { allowed } : {}) });
    expect(judgeSudoers(rule(["steward"]), ok(sandbox.sudo)).judged).toMatchObject({ status: "non-compliant", observed: "may run commands as root: steward (all commands), root (all commands)", findings: ["root may run every command as root: (ALL : ALL) ALL"] });
    expect(judgeSudoers(rule(["root", "steward"]), ok(sandbox.sudo)).judged.status).toBe("compliant");
    expect(judgeSudoers(rule(), ok(sandbox.sudo)).judged.status).toBe("compliant");
    expect(judgeSudoers(rule(["root"]), { stdout: "", stderr: "sudo is not installed\n", exitCode: 127 }).judged).toMatchObject({ status: "unknown", reason: "cannot list sudo rights: a command is missing on the host (sudo is not installed)" });
  });

  it("reads ss inside a sandbox host, where other hosts' processes are not named", () => {
    expect(parseSs(sandbox.ss).sockets.map(socketLabel)).toEqual(["0.0.0.0:2024/tcp", "127.0.195.1:2222/tcp (sshd)"]);
  });
});

describe("security-updates: pending security updates from the driver's upgradable list, with a lower bound on their age", () => {
  // The apt capture of test/fixtures/drivers (bookworm, with bookworm-security candidates).
  const upgradable = readFileSync(join(import.meta.dirname, "../fixtures/drivers/apt/apt-list-upgradable-all.txt"), "utf8");
  const listsWritten = Date.parse("2026-11-20T00:00:00Z") / 1000;
  const sections = (lists: string) => ({ installed: ok("pm apt\n"), upgradable: ok(upgradable), lists: ok(lists) });
  const now = new Date("2026-12-01T00:00:00Z");

  it("lists every pending security update with where it comes from and since when it is known", () => {
    const { judged, updates } = judgeSecurityUpdates({ type: "security-updates" }, sections(`${listsWritten}\n`), now);
    expect(updates!.length).toBeGreaterThan(10);
    expect(updates!.every((u) => u.source?.includes("security") && u.availableSince === "2026-11-20T00:00:00.000Z")).toBe(true);
    expect(updates).toContainEqual(expect.objectContaining({ name: "apt", from: "2.6.1", to: "2.6.2" }));
    expect(judged.status).toBe("non-compliant");
    expect(judged.observed).toBe(`${updates!.length} pending security update(s), available at least 11d0h (lists written 2026-11-20T00:00:00.000Z)`);
  });

  it("with max_age, flags only updates known to be older", () => {
    expect(judgeSecurityUpdates({ type: "security-updates", max_age: "7d" }, sections(`${listsWritten}\n`), now).judged.status).toBe("non-compliant");
    expect(judgeSecurityUpdates({ type: "security-updates", max_age: "14d" }, sections(`${listsWritten}\n`), now).judged.status).toBe("compliant");
    expect(judgeSecurityUpdates({ type: "security-updates", max_age: "14d" }, sections(""), now).judged).toMatchObject({ status: "unknown", reason: "pending security updates of unknown age: the host has no package lists" });
  });

  it("is unknown when the listing cannot be trusted", () => {
    const forged = { installed: ok("pm apt\n"), upgradable: ok("--config-file/bookworm-security 1.0 amd64 [upgradable from: 0.9]\n"), lists: ok("") };
    expect(judgeSecurityUpdates({ type: "security-updates" }, forged, now).judged.reason).toMatch(/^unreadable upgradable listing: .*--config-file/);
  });
});

describe("the compliance script quotes and re-checks every runbook value", () => {
  it("refuses values outside their grammar even past validate, and quotes the rest", () => {
    expect(() => ruleBody({ type: "file", path: "relative/path" })).toThrow(RangeError);
    expect(() => ruleBody({ type: "package", package: "--config-file=/x" })).toThrow(RangeError);
    expect(() => ruleBody({ type: "service", service: "-nginx" })).toThrow(RangeError);
    expect(() => ruleBody({ type: "sysctl", key: "kernel.x;id", value: "1" })).toThrow(RangeError);
    expect(ruleBody({ type: "file", path: "/etc/it's here", contains: "$(id)" })).toContain("grep -q -F -e '$(id)' -- '/etc/it'\\''s here'");
  });

  it("reads each shared source once, however many rules use it", () => {
    const rules: ComplianceRule[] = [
      { id: "a", check: { type: "sshd", setting: "PermitRootLogin", value: "no" } },
      { id: "b", check: { type: "sshd", setting: "PasswordAuthentication", value: "no" } },
      { id: "c", check: { type: "sysctl", key: "net.ipv4.ip_forward", value: "0" } },
      { id: "d", check: { type: "security-updates" } },
    ];
    expect(complianceScript(rules, [], "00".repeat(16)).sections).toEqual(["sshd", "installed", "upgradable", "lists", "r2"]);
  });
});
