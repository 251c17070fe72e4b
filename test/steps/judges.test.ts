import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as apt from "../../src/drivers/apt/index.ts";
import { judgeProbe, probedVersion } from "../../src/steps/app-upgrade/execute.ts";
import { checkScript, judgeCheck, splitCheckOutput } from "../../src/steps/check/execute.ts";
import { guardScript, judgeExpectation, parseGuard } from "../../src/steps/command/execute.ts";
import { aptLockMessage, brokenPackages, heldChanges, parseLockHolders, parseNeedrestart, parseVersions, transaction, unplannedChanges, versionQuery } from "../../src/steps/packages/execute.ts";
import { parseRebootState } from "../../src/steps/reboot/execute.ts";
import { judgeService, parseServiceReading, serviceScript } from "../../src/steps/service/execute.ts";
import type { Check } from "../../src/model/types.ts";

/** Outputs captured on a sandbox host; see the file's `_source`. */
const captured = JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/steps/captured.json"), "utf8")) as Record<string, { stdout: string; stderr: string; exitCode: number }> & { checkMarker: string };

describe("packages: simulation judge", () => {
  it("refuses a dependency pulled to its candidate", () => {
    const sim = apt.parseSimulation(captured["sim-dep"]!);
    expect(unplannedChanges(sim.changes, [{ name: "steward-demo-app", version: "1.1.0" }], heldChanges(captured["sim-dep"]!.stdout))).toEqual([
      "would upgrade steward-lib 1.0.0 → 2.0.0, which the plan does not name",
    ]);
  });

  it("accepts exactly the planned set", () => {
    const sim = apt.parseSimulation(captured["sim-dep"]!);
    expect(unplannedChanges(sim.changes, [{ name: "steward-demo-app", version: "1.1.0" }, { name: "steward-lib", version: "2.0.0" }], [])).toEqual([]);
  });

  it("names a planned package at another version and a held package", () => {
    const out = captured["sim-held"]!;
    const sim = apt.parseSimulation(out);
    expect(heldChanges(out.stdout)).toEqual(["steward-lib"]);
    expect(unplannedChanges(sim.changes, [{ name: "steward-demo-app", version: "1.1.0" }, { name: "steward-lib", version: "1.0.1" }], heldChanges(out.stdout))).toEqual([
      "would install steward-lib 1.1.0, not the planned 1.0.1",
      "would change held package steward-lib",
    ]);
  });

  it("refuses a removal the plan does not ask for, accepts a planned one", () => {
    const changes = [{ name: "steward-lib", action: "remove" as const, from: "1.0.0" }];
    expect(unplannedChanges(changes, [], [])).toEqual(["would remove steward-lib 1.0.0"]);
    expect(unplannedChanges(changes, [], [], ["steward-lib"])).toEqual([]);
  });
});

describe("packages: lock, versions, needrestart", () => {
  it("reads apt's naming of the lock holder from its output", () => {
    const out = captured.lock!;
    expect(aptLockMessage(`${out.stdout}\n${out.stderr}`)).toBe("pid 66 (steward-dpkg-lo) holds /var/lib/dpkg/lock-frontend");
    expect(aptLockMessage(captured.broken!.stderr)).toBeUndefined();
  });

  it("reads the holders from /proc/locks", () => {
    expect(parseLockHolders(captured["lock-holder"]!.stdout)).toEqual(["pid 66 (steward-dpkg-lock) holds /var/lib/dpkg/lock-frontend", "pid 66 (steward-dpkg-lock) holds /var/lib/dpkg/lock"]);
    expect(parseLockHolders("")).toEqual([]);
  });

  it("queries exactly the planned names, quoted, and refuses a name that is not a package", () => {
    expect(versionQuery(apt as never, ["steward-lib", "libc6"])).toBe("LC_ALL=C dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\t${Status}\\n' -- steward-lib libc6");
    expect(() => versionQuery(apt as never, ["x; rm -rf /"])).toThrow(/not a apt package name/);
  });

  it("reads versions and half-configured packages", () => {
    const installed = parseVersions(apt as never, "steward-broken\t1.0.1\tall\tinstall ok half-configured\nsteward-lib\t1.1.0\tall\tinstall ok installed\nother\t1\tall\tinstall ok installed\n", ["steward-broken", "steward-lib"]);
    expect(installed.map((p) => p.name)).toEqual(["steward-broken", "steward-lib"]);
    expect(brokenPackages(installed)).toEqual(["steward-broken 1.0.1 is half-configured"]);
  });

  it("waits a bounded time for the lock and never lets held packages change", () => {
    const command = transaction(apt as never, { requests: [{ name: "steward-lib", version: "1.1.0" }], unpinned: [], removals: [] }, false, 7);
    expect(command).toContain("-o DPkg::Lock::Timeout=7");
    expect(command).toContain("DEBIAN_FRONTEND=noninteractive");
    expect(command).toContain("--force-confold");
    expect(command).not.toContain("allow-change-held");
    expect(() => transaction(apt as never, { requests: [{ name: "steward-lib", version: "1.1.0" }], unpinned: [], removals: [] }, false, 1.5)).toThrow(/whole number/);
    expect(transaction(apt as never, { requests: [], unpinned: [], removals: ["steward-broken"] }, true)).toBe("LC_ALL=C apt-get -s -q remove -- steward-broken");
  });

  it("reads needrestart's batch report", () => {
    expect(parseNeedrestart("NEEDRESTART-VER: 3.6\nNEEDRESTART-KCUR: 6.1.0\nNEEDRESTART-KSTA: 1\nNEEDRESTART-SVC: cron.service\nNEEDRESTART-SVC: ssh.service\n")).toEqual({ ver: ["3.6"], kcur: ["6.1.0"], ksta: ["1"], svc: ["cron.service", "ssh.service"] });
  });
});

describe("command: expectation and guards", () => {
  const result = { exitCode: 3, signal: null, stdout: "hello\n", stderr: "warn\n" };
  it("judges exit code, stdout and stderr", () => {
    expect(judgeExpectation(undefined, result)).toEqual(["exit code 3, expected 0"]);
    expect(judgeExpectation({ exit_code: 3, stdout_contains: "hello", stdout_matches: "^hel+o$" }, result)).toEqual([]);
    expect(judgeExpectation({ exit_code: 3, stdout_contains: "bye", stderr_empty: true }, result)).toEqual(['stdout does not contain "bye"', 'stderr is not empty: "warn"']);
    expect(judgeExpectation({}, { ...result, exitCode: null, signal: "SIGKILL" })).toEqual(["killed by SIGKILL"]);
  });
  it("reads which guard holds", () => {
    expect(guardScript("/tmp/done", "test -f /x")).toBe("if test -e /tmp/done; then echo creates; exit 0; fi\nif ( test -f /x\n) </dev/null >/dev/null 2>&1; then echo unless; exit 0; fi\necho run");
    expect(parseGuard("creates\n")).toBe("creates");
    expect(parseGuard("unless\n")).toBe("unless");
    expect(parseGuard("run\n")).toBeNull();
  });
});

describe("service: SysV fallback readings", () => {
  it("judges start, a second start, stop and a missing service", () => {
    expect(judgeService("steward-demo", "start", parseServiceReading(captured["service-start"]!.stdout))).toEqual({ outcome: "changed", detail: "service start steward-demo: inactive → active" });
    expect(judgeService("steward-demo", "start", parseServiceReading(captured["service-start-again"]!.stdout)).outcome).toBe("unchanged");
    expect(judgeService("steward-demo", "stop", parseServiceReading(captured["service-stop"]!.stdout))).toEqual({ outcome: "changed", detail: "service stop steward-demo: active → inactive" });
    expect(judgeService("no-such-service", "start", parseServiceReading(captured["service-missing"]!.stdout))).toEqual({ outcome: "failed", detail: "service start no-such-service exited 1" });
  });
  it("fails a start that leaves the service inactive, and a cut-short script", () => {
    expect(judgeService("x", "start", { manager: "systemd", before: false, actionExit: 0, after: false }).outcome).toBe("failed");
    expect(() => parseServiceReading("manager sysv\nbefore 0\n")).toThrow(/no action line/);
  });
  it("refuses a name that is not a service", () => {
    expect(() => serviceScript("-x", "start")).toThrow(/not a service name/);
    expect(() => serviceScript("a b", "start")).toThrow(/not a service name/);
  });
});

describe("check: one framed round trip, each kind judged", () => {
  const checks: Check[] = [
    { type: "disk", mount: "/", max_used: "90%" },
    { type: "memory", max_used: "99%" },
    { type: "load", max_per_cpu: 4 },
    { type: "service", service: "steward-demo" },
    { type: "endpoint", url: "tcp://127.0.249.1:2222" },
    { type: "endpoint", url: "http://127.0.249.1:1/" },
    { type: "certificate", path: "/etc/ssl/certs/ISRG_Root_X1.pem", min_days_left: 30 },
    { type: "command", command: "echo hello; echo warn >&2; exit 3" },
    { type: "reboot-required" },
  ];
  const sections = splitCheckOutput(captured.checks!.stdout, captured.checkMarker, checks.length);
  const at = new Date("2026-11-30T00:00:00Z");

  it("builds the script the output was captured from", () => {
    expect(checkScript(checks, [], "0123456789abcdef01234567").marker).toBe(captured.checkMarker);
  });

  it("judges each kind from its own section", () => {
    const verdicts = checks.map((c, i) => judgeCheck(c, sections[i]!, at));
    expect(verdicts.map((v) => [v.name, v.ok, v.detail])).toEqual([
      ["disk /", true, "/ is 4% used (max 90%)"],
      ["memory", true, "memory 2.9% used (max 99%)"],
      ["load", true, "load 2.91 on 2 CPUs = 1.46 per CPU (max 4)"],
      ["service steward-demo", false, "steward-demo is not running (expected running)"],
      ["endpoint tcp://127.0.249.1:2222", true, "tcp://127.0.249.1:2222 accepts connections"],
      ["endpoint http://127.0.249.1:1/", false, "http://127.0.249.1:1/ did not answer: curl: (7) Failed to connect to 127.0.249.1 port 1 after 0 ms: Couldn't connect to server"],
      ["certificate /etc/ssl/certs/ISRG_Root_X1.pem", true, "/etc/ssl/certs/ISRG_Root_X1.pem expires 2035-06-04T11:04:38.000Z (3108 days left, min 30)"],
      ["command", false, "exit code 3, expected 0"],
      ["reboot-required", true, "no reboot pending"],
    ]);
  });

  it("turns thresholds: a stricter limit fails the same reading", () => {
    expect(judgeCheck({ type: "disk", mount: "/", max_used: "3%" }, sections[0]!).ok).toBe(false);
    expect(judgeCheck({ type: "load", max_per_cpu: 1 }, sections[2]!).ok).toBe(false);
    expect(judgeCheck({ type: "service", service: "steward-demo", state: "stopped" }, sections[3]!).ok).toBe(true);
    expect(judgeCheck({ type: "certificate", path: "x", min_days_left: 4000 }, sections[6]!, at).ok).toBe(false);
    expect(judgeCheck({ type: "command", command: "x", expect: { exit_code: 3, stdout_contains: "hello" } }, sections[7]!).ok).toBe(true);
    expect(judgeCheck({ type: "reboot-required" }, { exitCode: 0, stdout: "yes\nsteward-kernel-sim\n", stderr: "" }).ok).toBe(false);
    expect(judgeCheck({ type: "reboot-required", allowed: true }, { exitCode: 0, stdout: "yes\n", stderr: "" }).ok).toBe(true);
  });

  it("a check's output cannot forge another check's header", () => {
    const { marker } = checkScript(checks, [], "0123456789abcdef01234567");
    const forged = `${marker} 0 0\no ${marker} 1 0\n`;
    expect(() => splitCheckOutput(forged, marker, 2)).toThrow(/check 2 printed nothing/);
  });

  it("refuses an endpoint that is not http(s) or tcp", () => {
    expect(() => checkScript([{ type: "endpoint", url: "file:///etc/passwd" }])).toThrow(/http:\/\/, https:\/\/ or tcp/);
  });
});

describe("reboot and app-upgrade readings", () => {
  it("reads the boot id and the reboot flag, refusing a non-UUID", () => {
    expect(parseRebootState("boot 0f3e6a2c-1b7d-4c59-9a51-3d1e2f4a5b6c\nrequired yes\n")).toEqual({ bootId: "0f3e6a2c-1b7d-4c59-9a51-3d1e2f4a5b6c", required: true });
    expect(() => parseRebootState("boot $(reboot)\nrequired no\n")).toThrow(/no boot id/);
  });
  it("compares the probed version strictly", () => {
    expect(probedVersion("shop-api v2.5.0 (build 7)\n")).toBe("2.5.0");
    expect(judgeProbe("shop-api 2.5.0\n", "2.5.0").ok).toBe(true);
    expect(judgeProbe("shop-api 2.4.1\n", "2.5.0")).toEqual({ ok: false, detail: "current_version reports 2.4.1, not 2.5.0" });
    expect(judgeProbe("shop-api 2.5\n", "2.5.0").ok).toBe(false);
  });
});
