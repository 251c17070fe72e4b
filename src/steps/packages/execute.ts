/**
 * The `packages` step on a host: the planned set in one transaction at the exact
 * planned versions, simulated first, read back afterwards.
 *
 * Order of work (apt; dnf and apk take the same path without the apt-only parts), in two
 * exec round trips per host (./round-trips.ts):
 *   1. in one read-only script: the installed versions and states of exactly the planned
 *      packages, and the simulation of the transaction (no root, no lock); then, here,
 *      before anything changes: refuse a host with broken packages, and one whose
 *      simulation would change anything the plan does not name: another package pulled
 *      to its candidate, a removal, a held package (never `--allow-change-held-packages`);
 *   2. in one script through become: install, non-interactive for real
 *      (DEBIAN_FRONTEND=noninteractive, existing conffiles kept, needrestart suspended in
 *      list mode), waiting at most `LOCK_TIMEOUT_SECONDS` for dpkg's lock. The
 *      transaction runs detached on the host as a job (./job.ts), whose id the step's
 *      intent records, so killing steward never kills apt mid-transaction, and a resume
 *      finds what it did; the same script follows the job to its end, then re-reads the
 *      versions (each package's `from → to` is recorded as observed) and needrestart's
 *      report;
 *   3. on a lock failure the holder is read from /proc/locks and named; the lock is never
 *      deleted. A package left half-configured (a failing maintainer script) is reported
 *      with the repair command, `dpkg --configure -a`, which runs only with `repair: true`.
 */
import type { IntentEvidence, StepContext, StepExecutor, StepOutcome, StepResult, ObservedPackage } from "../../apply/types.ts";
import { drivers } from "../../drivers/registry.ts";
import type { PackageDriver, PackageRequest, SimulatedChange } from "../../drivers/types.ts";
import type { InstalledPackage } from "../../facts/types.ts";
import { UnparsableError } from "../../facts/parsers.ts";
import type { Step } from "../../model/types.ts";
import { installRequests } from "./index.ts";
import type { PlannedAction } from "../../plan/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { Session } from "../../transport/types.ts";
import { CommandTimeoutError } from "../../transport/errors.ts";
import { guarded, lastLine, outputOf, tail, type StepClock } from "../execute-helpers.ts";
import { ForgedOutputError } from "../../facts/script.ts";
import { isJobId, JOB_ROOT, jobState, newJobId } from "./job.ts";
import { runBefore, runTransaction, type Before, type Transaction } from "./round-trips.ts";

/** Seconds apt waits for dpkg's lock held by another process before the step fails. */
export const LOCK_TIMEOUT_SECONDS = 60;

/** The repair of an interrupted dpkg run (dpkg(1), `--configure -a`). */
export const DPKG_REPAIR = "dpkg --configure -a";

/**
 * The packages step as the runbook schema has it: `repair: true` lets the executor run
 * `dpkg --configure -a` after a transaction that left packages half-configured;
 * `lock_timeout` (seconds) overrides LOCK_TIMEOUT_SECONDS.
 */
type PackagesStep = Extract<Step, { kind: "packages" }>;
type PackagesAction = Extract<PlannedAction, { kind: "packages" }>;

// dpkg-query expands \t and \n itself; the quotes keep the shell out.
const QUERY_FORMAT = "${Package}\\t${Version}\\t${Architecture}\\t${Status}\\n";

/** `dpkg-query` for exactly these names (read-only); names checked by the driver's grammar. */
export function versionQuery(driver: PackageDriver, names: readonly string[]): string {
  for (const name of names) if (!driver.validName(name)) throw new RangeError(`not a ${driver.manager} package name: ${JSON.stringify(name)}`);
  if (driver.manager !== "apt") return driver.listInstalled.command;
  return `LC_ALL=C dpkg-query -W -f='${QUERY_FORMAT}' -- ${names.map(shellQuote).join(" ")}`;
}

/** The installed entries of the named packages from a version query's stdout (missing names are not installed). */
export function parseVersions(driver: PackageDriver, stdout: string, names: readonly string[]): InstalledPackage[] {
  const wanted = new Set(names);
  return driver.parseInstalled(stdout).filter((p) => wanted.has(p.name));
}

/** The package names a simulation line may carry: `libc6` or `libc6:i386`. */
const baseName = (name: string): string => name.split(":")[0] ?? name;

/**
 * Held packages apt would change, from the "The following held packages will be
 * changed:" block of `apt-get -s` (an indented list of names under the heading).
 */
export function heldChanges(stdout: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const line of stdout.split("\n")) {
    if (/^The following held packages will be changed:/.test(line)) inBlock = true;
    else if (inBlock && /^\s+\S/.test(line)) out.push(...line.trim().split(/\s+/));
    else inBlock = false;
  }
  return out.map(baseName).sort();
}

/**
 * What a simulation would do beyond the plan, one phrase each: a package the plan does
 * not name, a planned package at another version than planned, a removal the plan does
 * not ask for, a held package changed. Empty when the simulation is exactly the plan.
 */
export function unplannedChanges(changes: readonly SimulatedChange[], planned: readonly PackageRequest[], held: readonly string[], removals: readonly string[] = []): string[] {
  const versions = new Map<string, Set<string>>();
  for (const p of planned) (versions.get(p.name) ?? versions.set(p.name, new Set()).get(p.name)!).add(p.version);
  const removing = new Set(removals);
  const problems: string[] = [];
  for (const c of changes) {
    const name = baseName(c.name);
    if (c.action === "remove") {
      if (!removing.has(name)) problems.push(`would remove ${c.name}${c.from ? ` ${c.from}` : ""}`);
      continue;
    }
    const want = versions.get(name);
    if (want === undefined) problems.push(`would ${c.action} ${c.name}${c.from ? ` ${c.from}` : ""} → ${c.to ?? "?"}, which the plan does not name`);
    else if (c.to !== undefined && want.size > 0 && !want.has(c.to)) problems.push(`would install ${c.name} ${c.to}, not the planned ${[...want].join(" or ")}`);
  }
  for (const name of held) problems.push(`would change held package ${name}`);
  return problems;
}

/** The half-installed or half-configured packages among `installed`, as "name version is state". */
export function brokenPackages(installed: readonly InstalledPackage[]): string[] {
  return installed.filter((p) => p.status !== undefined).map((p) => `${p.name} ${p.version} is ${p.status}`);
}

/**
 * Who holds dpkg's front-end lock: a shell script printing `PID COMMAND` for each
 * process /proc/locks lists on the lock file's inode (fcntl locks, as dpkg and apt take
 * them). Read-only; prints nothing when the lock is free.
 */
export const LOCK_HOLDER_SCRIPT = [
  "for f in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock; do",
  '  [ -e "$f" ] || continue',
  '  ino=$(stat -c %i "$f")',
  "  awk -v ino=\"$ino\" '{ n = split($6, a, \":\"); if (a[n] == ino) print $5 }' /proc/locks | sort -u | while read -r pid; do",
  "    [ -r \"/proc/$pid/cmdline\" ] && printf '%s %s %s\\n' \"$f\" \"$pid\" \"$(tr '\\000' ' ' < \"/proc/$pid/cmdline\")\"",
  "  done",
  "done",
].join("\n");

/** "pid 123 (cmd) holds /var/lib/dpkg/lock-frontend" phrases from LOCK_HOLDER_SCRIPT's output, host text cleaned. */
export function parseLockHolders(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split("\n")) {
    const match = /^(\S+) (\d+) (.*)$/.exec(line.trim());
    if (match) out.push(`pid ${match[2]} (${tail(match[3]!.trim()).slice(0, 120)}) holds ${match[1]}`);
  }
  return [...new Set(out)];
}

/** apt's own naming of the holder: "Could not get lock X. It is held by process N (name)". */
export function aptLockMessage(stderr: string): string | undefined {
  const match = /Could not get lock (\S+?)\.? It is held by process (\d+)(?: \(([^)]*)\))?/.exec(stderr);
  if (match) return `pid ${match[2]}${match[3] ? ` (${match[3]})` : ""} holds ${match[1]}`;
  return /Could not get lock|Unable to acquire the dpkg frontend lock/.test(stderr) ? "dpkg's lock is held by another process" : undefined;
}

/** needrestart's batch report (`needrestart -b`): services and kernel status, `NEEDRESTART-*: value` lines. */
export function parseNeedrestart(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of stdout.split("\n")) {
    const match = /^NEEDRESTART-([A-Z]+): ?(.*)$/.exec(line.trim());
    if (match) (out[match[1]!.toLowerCase()] ??= []).push(tail(match[2]!));
  }
  return out;
}

/** The package requests of a planned action: exact versions for an upgrade; as written for install/remove. */
export function plannedRequests(action: PackagesAction): { requests: PackageRequest[]; unpinned: string[]; removals: string[] } {
  if (action.action === "upgrade") return { requests: installRequests(action.upgrades), unpinned: [], removals: [] };
  if (action.action === "remove") return { requests: [], unpinned: [], removals: action.packages.map((p) => p.name) };
  const requests = action.packages.filter((p): p is { name: string; version: string } => p.version !== undefined).map((p) => ({ name: p.name, version: p.version }));
  return { requests, unpinned: action.packages.filter((p) => p.version === undefined).map((p) => p.name), removals: [] };
}

/** Shell text of the transaction: the driver's install for pinned versions; apt's remove or unpinned install otherwise. */
export function transaction(driver: PackageDriver, plan: ReturnType<typeof plannedRequests>, simulate: boolean, lockSeconds = LOCK_TIMEOUT_SECONDS): string {
  if (!Number.isInteger(lockSeconds) || lockSeconds < 0) throw new RangeError(`lock_timeout must be a whole number of seconds, not ${lockSeconds}`);
  const lock = { lockTimeoutSeconds: lockSeconds };
  if (plan.unpinned.length === 0 && plan.removals.length === 0) return simulate ? driver.simulateInstall(plan.requests).command : driver.install(plan.requests, lock).command;
  if (driver.manager !== "apt") throw new RangeError(`${driver.manager}: install without a version and remove are supported on apt only`);
  for (const name of [...plan.unpinned, ...plan.removals]) if (!driver.validName(name)) throw new RangeError(`not an apt package name: ${JSON.stringify(name)}`);
  const verb = plan.removals.length > 0 ? "remove" : "install";
  const args = [...plan.requests.map((r) => `${r.name}=${r.version}`), ...plan.unpinned, ...plan.removals].map(shellQuote).join(" ");
  if (simulate) return `LC_ALL=C apt-get -s -q ${verb} -- ${args}`;
  return `LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get ${verb} -y -q -o DPkg::Lock::Timeout=${lockSeconds} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- ${args}`;
}

/**
 * Whether the simulation `transaction` builds needs root: apt-get -s does not; dnf 4
 * refuses `install --assumeno` to other users (the driver's simulateInstall says so).
 */
export function simulationNeedsRoot(driver: PackageDriver, plan: ReturnType<typeof plannedRequests>): boolean {
  return plan.unpinned.length === 0 && plan.removals.length === 0 && driver.simulateInstall(plan.requests).become;
}

// needrestart's apt hook would prompt: list mode, and suspended during the transaction (read afterwards).
const NEEDRESTART_ENV = "NEEDRESTART_MODE=l NEEDRESTART_SUSPEND=1 ";
const NEEDRESTART_REPORT = "if command -v needrestart >/dev/null 2>&1; then NEEDRESTART_MODE=l needrestart -b -r l; fi";

function driverOf(ctx: StepContext): PackageDriver {
  const manager = ctx.host.packageManager;
  if (manager === null) throw new RangeError(`${ctx.host.name} has no supported package manager`);
  return drivers[manager];
}

async function readVersions(session: Session, driver: PackageDriver, names: readonly string[]): Promise<Map<string, InstalledPackage>> {
  if (names.length === 0) return new Map();
  const result = await session.exec(versionQuery(driver, names), { check: false, label: "package versions", timeoutMs: 60_000 });
  return versionsOf(driver, result.stdout, names);
}

/** The named packages' entries from a version query's stdout, by name. */
function versionsOf(driver: PackageDriver, stdout: string, names: readonly string[]): Map<string, InstalledPackage> {
  return new Map(parseVersions(driver, stdout, names).map((p) => [p.name, p]));
}

function observed(names: readonly string[], before: Map<string, InstalledPackage>, after: Map<string, InstalledPackage>): ObservedPackage[] {
  return names.map((name) => {
    const a = after.get(name) ?? before.get(name);
    return { name, ...(a?.arch !== undefined ? { arch: a.arch } : {}), from: before.get(name)?.version ?? null, to: after.get(name)?.version ?? null };
  });
}

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const t0 = Date.now();
  const step = ctx.step as PackagesStep;
  const action = ctx.action as PackagesAction;
  const driver = driverOf(ctx);
  const plan = plannedRequests(action);
  const names = [...new Set([...plan.requests.map((r) => r.name), ...plan.unpinned, ...plan.removals])].sort();
  if (names.length === 0) return clock.finish("unchanged", "nothing to change: the plan names no package for this host");
  const become = step.become ?? true;
  const lockSeconds = step.lock_timeout ?? LOCK_TIMEOUT_SECONDS;
  // The connection's become check (a sudo) runs beside the first round trip, not before the second.
  if (become) ctx.session.prepareBecome?.().catch(() => undefined);
  // One round trip: the versions before and the simulation, judged here before anything changes.
  let pre: Before;
  try {
    // dnf 4 simulates only as root (simulationNeedsRoot): then the whole read-only round trip goes through become.
    pre = await runBefore(ctx.session, versionQuery(driver, names), transaction(driver, plan, true), ctx.timeoutMs, become && simulationNeedsRoot(driver, plan));
  } catch (error) {
    if (error instanceof ForgedOutputError) return clock.finish("failed", `refused, nothing was changed: ${error.message}`);
    throw error;
  }
  if (!pre.ok) return clock.finish("failed", `the simulation could not be read, nothing was changed: ${pre.reason}`);
  // Host output that breaks its grammar (control characters, forged lines) is refused before anything changes.
  let before: Map<string, InstalledPackage>;
  let simulation: ReturnType<PackageDriver["parseSimulation"]>;
  const sim = { exitCode: pre.simulation.exitCode, stdout: pre.simulation.stdout, stderr: pre.simulation.stderr };
  try {
    before = versionsOf(driver, pre.versions.stdout, names);
    simulation = driver.parseSimulation(sim);
  } catch (error) {
    if (error instanceof UnparsableError) return clock.finish("failed", `refused, nothing was changed: the host's output is not trusted: ${error.message}`);
    throw error;
  }
  const brokenBefore = brokenPackages([...before.values()]);
  if (brokenBefore.length > 0) return clock.finish("failed", `refused: ${brokenBefore.join(", ")}; repair with \`${DPKG_REPAIR}\` first`);

  if (!simulation.ok) return clock.finish("failed", `the simulation failed, nothing was changed: ${simulation.errors.join("; ") || lastLine(sim.stderr) || `exit ${sim.exitCode}`}`, outputOf(sim));
  const problems = unplannedChanges(simulation.changes, plan.requests, heldChanges(sim.stdout), plan.removals);
  if (problems.length > 0) return clock.finish("failed", `refused, nothing was changed: the transaction ${problems.join("; ")}`, { ...outputOf(sim), evidence: { simulation: simulation.changes } });

  // One round trip through become: start the detached job, follow it, read versions and needrestart after.
  const job = isJobId(ctx.evidence?.job) ? ctx.evidence.job : newJobId();
  const still = `the ${driver.manager} transaction was still running after the step's timeout; it goes on on the host, detached, as job ${job} (${JOB_ROOT}/${job}/exit will hold its exit status): let it finish, then plan again`;
  let tx: Transaction;
  try {
    const waitSeconds = Math.max(1, Math.ceil((ctx.timeoutMs - (Date.now() - t0)) / 1000));
    tx = await runTransaction(ctx.session, job, NEEDRESTART_ENV + transaction(driver, plan, false, lockSeconds), { versions: versionQuery(driver, names), needrestart: NEEDRESTART_REPORT }, become, waitSeconds);
  } catch (error) {
    if (error instanceof CommandTimeoutError) return clock.finish("failed", still, { evidence: { job } });
    if (error instanceof ForgedOutputError) return clock.finish("failed", `the ${driver.manager} transaction ran as job ${job}, but ${error.message}; check the host (${JOB_ROOT}/${job}) and its packages`, { evidence: { job } });
    throw error;
  }
  if (!tx.started) return clock.finish("failed", `could not start the package job ${job} on the host, nothing was changed (${tx.reason})`, { evidence: { job } });
  if (tx.state === undefined) return clock.finish("failed", `the ${driver.manager} transaction (job ${job}) was started but not followed to its end: ${tx.reason}; it may go on on the host, detached: check ${JOB_ROOT}/${job} and its packages`, { evidence: { job } });
  const state = tx.state;
  if (state.state === "running") return clock.finish("failed", still, { evidence: { job } });
  if (state.state !== "exit") return clock.finish("failed", `the ${driver.manager} transaction (job ${job}) ${state.state === "lost" ? "ended without an exit status (killed, or the host restarted under it)" : "could not be found on the host"}; check the host (${JOB_ROOT}/${job}) and its packages`, { evidence: { job } });
  const result = { exitCode: state.exitCode, signal: null, stdout: state.stdout, stderr: state.stderr };
  let after: Map<string, InstalledPackage>;
  try {
    after = tx.versions !== undefined ? versionsOf(driver, tx.versions.stdout, names) : await readVersions(ctx.session, driver, names);
  } catch (error) {
    if (!(error instanceof UnparsableError)) throw error;
    return clock.finish("failed", `the ${driver.manager} transaction (job ${job}) ended with exit ${state.exitCode}, but the versions read back afterwards are not trusted: ${error.message}; check the host's packages`, { ...outputOf(result), evidence: { job } });
  }
  const packages = observed(names, before, after);
  const changed = packages.some((p) => p.from !== p.to);
  const evidence: Record<string, unknown> = { job };
  const broken = brokenPackages([...after.values()]);
  if (broken.length > 0) {
    if (step.repair === true) {
      const repair = await ctx.session.exec(DPKG_REPAIR, { become, check: false, label: "dpkg repair", timeoutMs: ctx.timeoutMs });
      evidence.repair = { command: DPKG_REPAIR, exitCode: repair.exitCode, stderrTail: tail(repair.stderr) };
      const repaired = await readVersions(ctx.session, driver, names);
      const still = brokenPackages([...repaired.values()]);
      const detail = still.length > 0 ? `${broken.join(", ")}; \`${DPKG_REPAIR}\` ran (repair: true) and left ${still.join(", ")}` : `${broken.join(", ")}; \`${DPKG_REPAIR}\` ran (repair: true) and configured them`;
      return clock.finish("failed", `the transaction left packages half-done: ${detail}`, { ...outputOf(result), packages: observed(names, before, repaired), evidence });
    }
    return clock.finish("failed", `the transaction left ${broken.join(", ")}; the host is left so: repair with \`sudo ${DPKG_REPAIR}\` (or set repair: true on the step)`, { ...outputOf(result), packages, evidence });
  }
  if (result.exitCode !== 0) {
    const lock = aptLockMessage(`${result.stdout}\n${result.stderr}`);
    if (lock !== undefined) {
      const holders = await ctx.session.exec(LOCK_HOLDER_SCRIPT, { check: false, become, label: "dpkg lock holder", timeoutMs: 30_000 });
      const named = parseLockHolders(holders.stdout);
      const who = named.length > 0 ? named.join("; ") : lock;
      evidence.lockHolders = named;
      return clock.finish("failed", `dpkg's lock stayed held for ${lockSeconds}s, nothing was changed: ${who}; the lock was left alone — stop that process or let it finish, then apply again`, { ...outputOf(result), packages, evidence });
    }
    return clock.finish("failed", `${driver.manager} exited ${result.exitCode ?? result.signal}: ${lastLine(result.stderr) || lastLine(result.stdout)}`, { ...outputOf(result), packages, evidence });
  }
  const wrong = plan.requests.filter((r) => after.get(r.name)?.version !== r.version).map((r) => `${r.name} is ${after.get(r.name)?.version ?? "not installed"}, not ${r.version}`);
  wrong.push(...plan.unpinned.filter((n) => !after.has(n)).map((n) => `${n} is not installed`));
  wrong.push(...plan.removals.filter((n) => after.has(n)).map((n) => `${n} is still installed`));
  const report = tx.needrestart ?? (await ctx.session.exec(NEEDRESTART_REPORT, { become, check: false, label: "needrestart report", timeoutMs: 60_000 }));
  const needrestart = parseNeedrestart(report.stdout);
  if (Object.keys(needrestart).length > 0) evidence.needrestart = needrestart;
  if (wrong.length > 0) return clock.finish("failed", `the transaction finished but ${wrong.join(", ")}`, { ...outputOf(result), packages, evidence });
  const scriptlets = driver.scriptletFailures?.(result) ?? [];
  if (scriptlets.length > 0) {
    evidence.scriptlets = scriptlets;
    const moved = packages.filter((p) => p.from !== p.to).map((p) => `${p.name} ${p.from ?? "(none)"} → ${p.to ?? "(removed)"}`);
    return clock.finish("failed", `${driver.manager} reported the transaction complete (${moved.join(", ") || "no version moved"}) but ${scriptlets.join("; ")}: the packages are installed, what their scripts set up is not; fix the cause, then reinstall them (\`${driver.manager} reinstall NAME\`)`, { ...outputOf(result), packages, evidence });
  }
  const moved = packages.filter((p) => p.from !== p.to).map((p) => `${p.name} ${p.from ?? "(none)"} → ${p.to ?? "(removed)"}`);
  return clock.finish(changed ? "changed" : "unchanged", changed ? moved.join(", ") : "every package was already as planned", { ...outputOf(result), packages, evidence });
}

/**
 * Judges an interrupted packages step. When its intent names a job (./job.ts) that
 * still runs on the host, waits for it first (at most the step's timeout: `unknown`
 * when it is still running then), so versions are judged only once nothing changes
 * them. Then from the versions now: every package at its planned version → `changed`;
 * every package still at its `from` → `skipped` (not applied; safe to run again);
 * anything else (a mix, a half-configured package) → `unknown`.
 */
async function rejudge(ctx: StepContext, intent: { evidence?: Record<string, unknown> }): Promise<StepOutcome> {
  const job = intent.evidence?.job;
  if (isJobId(job)) {
    const become = (ctx.step as PackagesStep).become ?? true;
    try {
      await jobState(ctx.session, job, become, true, ctx.timeoutMs);
    } catch (error) {
      if (error instanceof CommandTimeoutError) return "unknown";
      throw error;
    }
  }
  const action = ctx.action as PackagesAction;
  const driver = driverOf(ctx);
  const plan = plannedRequests(action);
  const names = [...plan.requests.map((r) => r.name), ...plan.unpinned, ...plan.removals];
  const now = await readVersions(ctx.session, driver, names);
  if (brokenPackages([...now.values()]).length > 0) return "unknown";
  const done = plan.requests.every((r) => now.get(r.name)?.version === r.version) && plan.unpinned.every((n) => now.has(n)) && plan.removals.every((n) => !now.has(n));
  if (done) return "changed";
  if (action.action === "upgrade" && action.upgrades.every((u) => now.get(u.name)?.version === u.from)) return "skipped";
  if (action.action === "install" && action.packages.every((p) => !now.has(p.name))) return "skipped";
  if (action.action === "remove" && action.packages.every((p) => now.has(p.name))) return "skipped";
  return "unknown";
}

export const packagesExecutor: StepExecutor & IntentEvidence = {
  kind: "packages",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  rejudge,
  // The job's id is chosen before the intent is written, so a resume can find the job.
  intentEvidence: async () => ({ job: newJobId() }),
};
