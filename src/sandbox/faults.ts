import { spawn } from "node:child_process";
import { rm, statfs } from "node:fs/promises";
import { EnvironmentError, UsageError } from "../core/errors.ts";
import { run, runRaw, sandboxEnv, type RunResult } from "./exec.ts";
import { hostDir } from "./host.ts";
import { portInUse } from "./net.ts";
import { BROKEN_BAD, BROKEN_GOOD } from "./packages.ts";
import { commandLine, isOurs, namespaceProcesses, signal } from "./processes.ts";
import { FILL_FILE, hostStatus, inHost, LOCK_HOLDER } from "./status.ts";
import type { FaultKind, FleetState, SandboxHost } from "./types.ts";

// Holds dpkg's two locks the way dpkg and apt take them (fcntl write locks on the whole
// file), so apt reports "Could not get lock ... held by process N (steward-dpkg-lock)".
// The struct flock layout is Linux's on 64-bit machines.
const LOCK_SCRIPT = `use Fcntl; $0 = "${LOCK_HOLDER}"; my @held;
my @files = ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock");
for my $f (@files) {
  open(my $fh, ">>", $f) or die "$f: $!";
  my $lock = pack("s s x4 q q l x4", F_WRLCK, 0, 0, 0, 0);
  fcntl($fh, F_SETLK, $lock) or die "$f: $!";
  push @held, $fh;
}
$| = 1; print "locked\\n"; close STDOUT; sleep while 1;`;

/** The process names of OpenSSH's server: the listener and each connection's own process. */
const SSHD_PROCESSES: ReadonlySet<string> = new Set(["sshd", "sshd-session"]);

function findHost(state: FleetState, name: string): SandboxHost {
  const host = state.hosts.find((h) => h.name === name);
  if (!host) throw new UsageError(`no host '${name}' in the fleet`, `hosts: ${state.hosts.map((h) => h.name).join(", ")}`);
  return host;
}

async function runningHost(state: FleetState, name: string): Promise<SandboxHost> {
  const host = findHost(state, name);
  if (!(await isOurs(host.initPid, hostDir(state.dir, host.name)))) throw new EnvironmentError(`sandbox host ${name} is not running`, "start the fleet with 'steward sandbox up'");
  return host;
}

function nsenterArgs(host: SandboxHost, command: readonly string[]): string[] {
  return ["--target", String(host.initPid), "--mount", "--uts", "--ipc", "--pid", "--root", "--wd", ...command];
}

/**
 * Runs a command as root inside a running host, entering its namespaces directly (no
 * SSH), for set-up and fault injection. Never throws for a non-zero exit.
 */
export async function execInHost(state: FleetState, name: string, command: readonly string[]): Promise<RunResult> {
  const host = await runningHost(state, name);
  return runRaw("nsenter", nsenterArgs(host, command));
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new EnvironmentError(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function hostProcesses(host: SandboxHost): Promise<Array<{ pid: number; state: string; comm: string }>> {
  return (await namespaceProcesses([host.initPid])).get(host.initPid) ?? [];
}

async function freeze(host: SandboxHost): Promise<void> {
  // Init first, so nothing new is started; then repeat until no process still runs,
  // catching any forked between two passes. A process in uninterruptible sleep (D)
  // stops only once it leaves it, which on a loaded machine takes a while: up to 15 s
  // (3 s was seen to fall short while a whole test suite ran on 2 cores).
  let running: Array<{ pid: number; state: string }> = [];
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    running = (await hostProcesses(host)).filter((p) => p.state !== "T");
    if (running.length === 0) return;
    for (const p of running) signal(p.pid, "SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new EnvironmentError(`could not freeze sandbox host at ${host.address}: still running ${running.map((p) => `${p.pid} (${p.state})`).join(", ")}`);
}

async function holdDpkgLock(host: SandboxHost): Promise<void> {
  const child = spawn("nsenter", nsenterArgs(host, ["perl", "-e", LOCK_SCRIPT]), { detached: true, stdio: ["ignore", "pipe", "pipe"], env: sandboxEnv() });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (data: Buffer) => {
      output += data.toString();
      if (output.includes("locked")) resolve();
    });
    child.stderr.on("data", (data: Buffer) => (output += data.toString()));
    child.once("exit", (code) => reject(new EnvironmentError(`could not hold dpkg's lock on ${host.name} (exit ${code}): ${output.trim()}`)));
  });
  child.stdout.destroy();
  child.stderr.destroy();
  child.unref();
}

async function breakPackage(state: FleetState, host: SandboxHost): Promise<void> {
  // The failing postinst is the point: dpkg exits non-zero and leaves the package half-configured.
  await runRaw("nsenter", nsenterArgs(host, ["dpkg", "-i", `/srv/steward-apt/${BROKEN_BAD}`]));
  if (!(await hostStatus(state, host)).faults.includes("broken-package")) throw new EnvironmentError(`could not break a package on ${host.name}`);
}

/** Puts a running host in a fault; returns once the fault is observable. */
export async function injectFault(state: FleetState, name: string, kind: FaultKind): Promise<void> {
  const host = await runningHost(state, name);
  switch (kind) {
    case "unreachable":
      signal(host.initPid, "SIGUSR2");
      await until(async () => !(await portInUse(host.address, host.port)), `sshd of ${name} to stop`);
      // A host that goes away takes its open connections with it: each has an sshd
      // process of its own (sshd-session since OpenSSH 9.8), which the listener's end spares.
      await until(async () => {
        const sessions = (await hostProcesses(host)).filter((p) => SSHD_PROCESSES.has(p.comm));
        for (const p of sessions) signal(p.pid, "SIGKILL");
        return sessions.length === 0;
      }, `the open connections of ${name} to drop`);
      return;
    case "freeze":
      return freeze(host);
    case "disk-full": {
      const fs = await statfs(inHost(host, "/"));
      await run("fallocate", ["--length", String(fs.bavail * fs.bsize), inHost(host, FILL_FILE)]);
      return;
    }
    case "dpkg-lock":
      return holdDpkgLock(host);
    case "broken-package":
      return breakPackage(state, host);
  }
}

/**
 * Clears a fault (all of them when `kind` is omitted) and returns the faults the host
 * still shows afterwards (none when healing succeeded).
 */
export async function healFault(state: FleetState, name: string, kind?: FaultKind): Promise<FaultKind[]> {
  const host = await runningHost(state, name);
  const wants = (k: FaultKind): boolean => kind === undefined || kind === k;
  // Thaw first: every other remedy needs the host's processes running.
  if (wants("freeze")) for (const p of await hostProcesses(host)) signal(p.pid, "SIGCONT");
  if (wants("unreachable") && (await hostStatus(state, host)).sshd === "down") {
    signal(host.initPid, "SIGHUP");
    await until(() => portInUse(host.address, host.port), `sshd of ${name} to start`);
  }
  if (wants("disk-full")) await rm(inHost(host, FILL_FILE), { force: true });
  if (wants("dpkg-lock")) {
    for (const p of await hostProcesses(host)) if ((await commandLine(p.pid)).startsWith(LOCK_HOLDER)) signal(p.pid, "SIGKILL");
    await until(async () => !(await hostStatus(state, host)).faults.includes("dpkg-lock"), `dpkg's lock on ${name} to be released`);
  }
  if (wants("broken-package") && (await hostStatus(state, host)).faults.includes("broken-package")) {
    await runRaw("nsenter", nsenterArgs(host, ["dpkg", "-i", `/srv/steward-apt/${BROKEN_GOOD}`]));
    await runRaw("nsenter", nsenterArgs(host, ["dpkg", "--configure", "-a"]));
  }
  return (await hostStatus(state, host)).faults;
}
