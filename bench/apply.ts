import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { main } from "../src/cli/main.ts";
import { factsScript, PLAN_SECTIONS } from "../src/facts/script.ts";
import { NO_FACTS_DIGEST } from "../src/plan/digest.ts";
import { findProgram } from "../src/sandbox/environment.ts";
import { downFleet, execInHost, PROFILES, upFleet, type FleetState, type SandboxHost } from "../src/sandbox/index.ts";
import { mapConcurrent } from "../src/transport/limiter.ts";
import { ansiblePlaybook } from "./ansible.ts";
import { perHost, readFirst, spaced, transportSameWork, type Connect } from "./apply-reference.ts";
import { fmt, summarise, type Summary } from "./stats.ts";
import { knownHostKeys, referenceConnect, timed } from "./transport.ts";

const RUNS = 3;
const UPGRADE_RUNS = 2;
const HOSTS = 100;
const UPGRADE_HOSTS = 50;
// Own subnet, apart from the test suites' fleets and the other benches.
const SUBNET = 243;
const CONCURRENCY = 50;
const COMMANDS = ["uname -r", "cat /etc/os-release", "df -P /"];
const TARGET_RATIO = 1.15;
/** src/transport/ssh/index.ts's default (`connectsPerSecond`); apply does not override it. */
const CONNECTS_PER_SECOND = 50;
const UPGRADED = ["steward-lib", "steward-demo-app"];
const TO = "1.1.0";
const PINNED = UPGRADED.map((p) => `${p}=${TO}`).join(" ");
const APT = "-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";
const INSTALL = `sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install ${APT} -- ${PINNED}`;
/** What apply's packages step runs besides the install: the simulation first, the versions after. */
const SIMULATE = `LC_ALL=C apt-get -s -q install -- ${PINNED}`;
const VERSIONS = `dpkg-query -W -f='\${Package} \${Version}\\n' ${UPGRADED.join(" ")}`;

const COMMANDS_RUNBOOK = `name: bench-commands
targets: all
rollout:
  waves: ["100%"]
  concurrency: ${CONCURRENCY}
  failure_budget: 0
steps:
${COMMANDS.map((c, i) => `  - kind: command\n    name: c${i + 1}\n    command: ${c}\n`).join("")}`;

const upgradeRunbook = (hosts: readonly SandboxHost[]): string => `name: bench-upgrade
targets: "${hosts.map((h) => h.name).join(", ")}"
rollout:
  waves: ["100%"]
  concurrency: ${CONCURRENCY}
  failure_budget: 0
policy:
  update_types: [patch, minor]
steps:
  - kind: packages
    name: upgrade
    action: upgrade
    packages: [${UPGRADED.join(", ")}]
`;

/**
 * `steward apply` on real OpenSSH hosts against clients doing the same work with
 * nothing around it, in the same run (see README, "Benchmarks"):
 *
 * 1. three commands on 100 hosts, one wave, 50 at a time. Commands depend on no fact,
 *    so apply reads none before them (NO_FACTS_DIGEST): the minimal ssh2 script does
 *    the same work. References, each adding one piece of what apply does per host: a
 *    minimal ssh2 script; the same with connects spaced at steward's default rate; and
 *    steward's own transport doing that work, which splits steward's cost over the
 *    script between the transport and apply's CLI and engine. Target: steward within
 *    1.15x of the minimal script — the plan check, lock, journal, events, results and
 *    report must cost next to nothing. Ansible runs the same three commands (once: it
 *    is slow); the issue's target is steward 12x faster than it.
 * 2. steward-lib and steward-demo-app upgraded to 1.1.0 on the 50 hosts that have an
 *    older one, against the minimal script's apt-get install, a reference doing the
 *    packages step's work (the stale check's facts read with the package lists, the
 *    simulation, the install, the versions read back) and Ansible's apt module; hosts
 *    reset in between.
 *
 * STEWARD_BENCH_APPLY_SUITE=commands or =upgrade runs only that suite (the fleet is
 * brought up either way); unset or empty runs both.
 */
export async function benchApply(work: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("skipped: the sandbox fleet needs root on Linux (run `sudo npm run bench apply`)");
    return;
  }
  const only = suiteChoice(process.env["STEWARD_BENCH_APPLY_SUITE"]);
  const dir = join(work, "fleet");
  const started = Date.now();
  try {
    const state = await upFleet({ dir, count: HOSTS, subnet: SUBNET, hide: [resolve(import.meta.dirname, "..")] });
    console.log(`fleet: ${state.hosts.length} hosts up in ${seconds(Date.now() - started)}`);
    const keys = await knownHostKeys(state.knownHosts);
    const privateKey = await readFile(state.identityFile);
    const ansible = await findProgram("ansible-playbook");
    if (ansible === undefined) console.log("ansible-playbook: not on PATH (Debian package ansible-core): the Ansible rows are skipped");
    const connect: Connect = (host) => referenceConnect(host, keys, privateKey);
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    await writeFile(join(state.dir, "runbooks", "bench-commands.yaml"), COMMANDS_RUNBOOK);
    const older = state.hosts.filter((h) => ["1.0.0", "1.0.1"].includes(libVersion(h) ?? "")).slice(0, UPGRADE_HOSTS);
    await writeFile(join(state.dir, "runbooks", "bench-upgrade.yaml"), upgradeRunbook(older));

    if (only !== "upgrade") await commandsSuite(state, connect, ansible);
    if (only !== "commands") await upgradeSuite(state, older, connect, ansible);
  } finally {
    await downFleet(dir);
  }
  console.log(`\napply suite: ${seconds(Date.now() - started)} in all (fleet up and down included)`);
}

/**
 * The suite STEWARD_BENCH_APPLY_SUITE names, undefined for both.
 * @throws Error naming the accepted values for any other text (before the fleet is up).
 */
function suiteChoice(value: string | undefined): "commands" | "upgrade" | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "commands" || value === "upgrade") return value;
  throw new Error(`STEWARD_BENCH_APPLY_SUITE=${JSON.stringify(value)}: set it to commands or upgrade, or leave it unset for both`);
}

async function commandsSuite(state: FleetState, connect: Connect, ansible: string | undefined): Promise<void> {
  console.log(`\n### ${COMMANDS.length} commands on ${HOSTS} hosts, one wave, ${CONCURRENCY} at a time; ${RUNS} runs each, order rotated, wall time`);
  const plan = await steward(state, "plan", "bench-commands", "--gather");
  // The runbook's steps are all commands: they depend on no fact, so apply reads none
  // before them (NO_FACTS_DIGEST) and the minimal script does the same work.
  const reads = JSON.parse(await readFile(join(state.dir, plan.plan), "utf8")) as { hosts: Array<{ factsDigest: string }> };
  const factFree = reads.hosts.filter((h) => h.factsDigest === NO_FACTS_DIGEST).length;
  if (factFree !== HOSTS) throw new Error(`${plan.plan}: ${HOSTS - factFree} hosts have a facts digest: a commands-only plan should depend on no facts`);
  const rows: Row[] = [
    { label: "minimal ssh2 script", samples: [], run: () => perHost(state.hosts, CONCURRENCY, connect, COMMANDS) },
    { label: `+ connects spaced at ${CONNECTS_PER_SECOND}/s`, samples: [], run: () => perHost(state.hosts, CONCURRENCY, spaced(connect, CONNECTS_PER_SECOND), COMMANDS) },
    { label: "steward's transport, same work", samples: [], run: () => transportSameWork(state, state.hosts, CONCURRENCY, COMMANDS, "none") },
    { label: "steward apply", samples: [], run: () => applied(state, plan, HOSTS) },
  ];
  await measure(rows, RUNS);
  const [minimal, rate, transport, ours] = rows.map((r) => summarise(r.samples)) as [Summary, Summary, Summary, Summary];
  const ansibleMs = await ansibleRun(ansible, () => ansiblePlaybook(ansible!, state, state.hosts, COMMANDS.map((c) => ({ name: c, command: c })), CONCURRENCY, join(state.dir, "ansible-commands")));
  table([
    [rows[0]!.label, fmt(minimal), "1.00x"],
    [rows[1]!.label, fmt(rate), `${ratio(rate, minimal)} (the connect rate costs ${(rate.median - minimal.median).toFixed(0)}ms)`],
    [rows[2]!.label, fmt(transport), `${ratio(transport, minimal)}; ${ratio(transport, rate)} the rate-spaced script`],
    [rows[3]!.label, fmt(ours), `${ratio(ours, minimal)}; ${ratio(ours, rate)} the rate-spaced script`],
    ansibleRow(ansibleMs, minimal, ours),
  ]);
  const r = ours.median / minimal.median;
  console.log(`steward / minimal ssh2 script (median): ${r.toFixed(2)}x, target <= ${TARGET_RATIO}x: ${r <= TARGET_RATIO ? "met" : "NOT met"}`);
  if (ansibleMs !== undefined && !Number.isNaN(ansibleMs)) console.log(`steward faster than Ansible: ${(ansibleMs / ours.median).toFixed(1)}x (target >= 12x; Ansible itself took ${(ansibleMs / minimal.median).toFixed(1)}x the minimal script in this run)`);
  console.log(`  of steward's ${(ours.median - minimal.median).toFixed(0)}ms over the minimal script: ${(rate.median - minimal.median).toFixed(0)}ms the connect rate, ${(transport.median - rate.median).toFixed(0)}ms the rest of the transport, ${(ours.median - transport.median).toFixed(0)}ms the CLI and engine (plan checks, lock, journal, events, results, report)`);
  console.log(
    `connect rate: ${CONNECTS_PER_SECOND} new connections/s by default (connectsPerSecond, src/transport/ssh/index.ts; it spares sshd's MaxStartups): ` +
      `${HOSTS} hosts take at least ${((HOSTS / CONNECTS_PER_SECOND) * 1000).toFixed(0)}ms to connect; measured cost here ${(rate.median - minimal.median).toFixed(0)}ms of wall time`,
  );
}

async function upgradeSuite(state: FleetState, hosts: readonly SandboxHost[], connect: Connect, ansible: string | undefined): Promise<void> {
  console.log(`\n### ${UPGRADED.join(" and ")} upgraded to ${TO} on the ${hosts.length} hosts with an older one; ${UPGRADE_RUNS} runs each, hosts reset after each, wall time`);
  const plan = await steward(state, "plan", "bench-upgrade", "--gather");
  const stale = factsScript([], undefined, { sections: PLAN_SECTIONS }).script;
  const rows: Row[] = [
    { label: "minimal ssh2 script (apt-get install)", samples: [], run: () => perHost(hosts, CONCURRENCY, connect, [INSTALL]) },
    {
      label: "+ rate, stale check's facts read, simulation, versions (same work)",
      samples: [],
      run: () => perHost(hosts, CONCURRENCY, readFirst(spaced(connect, CONNECTS_PER_SECOND), stale), [VERSIONS, SIMULATE, INSTALL, VERSIONS]),
    },
    { label: "steward apply (packages step)", samples: [], run: () => applied(state, plan, hosts.length) },
  ];
  await measure(rows, UPGRADE_RUNS, async (row) => {
    await expectVersions(state, hosts, TO, row.label);
    await resetLib(state, hosts);
  });
  const task = { name: "upgrade", become: true, apt: { name: UPGRADED.map((p) => `${p}=${TO}`), state: "present" } };
  const ansibleMs = await ansibleRun(ansible, async () => {
    const ms = await ansiblePlaybook(ansible!, state, hosts, [task], CONCURRENCY, join(state.dir, "ansible-upgrade"));
    await expectVersions(state, hosts, TO, "ansible-playbook");
    await resetLib(state, hosts);
    return ms;
  });
  const [minimal, same, ours] = rows.map((r) => summarise(r.samples)) as [Summary, Summary, Summary];
  table([
    [rows[0]!.label, fmt(minimal), "1.00x"],
    [rows[1]!.label, fmt(same), ratio(same, minimal)],
    [rows[2]!.label, fmt(ours), `${ratio(ours, minimal)}; ${ratio(ours, same)} the same-work reference`],
    ansibleRow(ansibleMs, minimal, ours),
  ]);
}

interface Row {
  label: string;
  samples: number[];
  run: () => Promise<unknown>;
}

/**
 * Runs every row `runs` times, the order rotated each round so a warm-up or cache effect
 * favours none; `after` (unmeasured) follows each run. One progress line per round.
 */
async function measure(rows: Row[], runs: number, after?: (row: Row) => Promise<void>): Promise<void> {
  for (let i = 0; i < runs; i++) {
    const done: string[] = [];
    for (let k = 0; k < rows.length; k++) {
      const row = rows[(i + k) % rows.length]!;
      const ms = await timed(row.run);
      row.samples.push(ms);
      done.push(`${row.label.split(" (")[0]} ${seconds(ms)}`);
      await after?.(row);
    }
    console.log(`  round ${i + 1}/${runs}: ${done.join(" · ")}`);
  }
}

/**
 * The Ansible figure: undefined when ansible-playbook is not installed (the suite says
 * so and goes on), NaN when it failed (said, and the bench's exit code set).
 */
async function ansibleRun(program: string | undefined, run: () => Promise<number>): Promise<number | undefined> {
  if (program === undefined) return undefined;
  try {
    return await run();
  } catch (error) {
    console.log(`ansible-playbook failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    return Number.NaN;
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const ratio = (a: Summary, b: Summary): string => `${(a.median / b.median).toFixed(2)}x`;

function ansibleRow(ms: number | undefined, minimal: Summary, ours: Summary): [string, string, string] {
  if (ms === undefined) return ["ansible-playbook", "skipped: not installed", ""];
  if (Number.isNaN(ms)) return ["ansible-playbook", "failed (above)", ""];
  return [`ansible-playbook (forks ${CONCURRENCY}, pipelining; 1 run)`, `${ms.toFixed(0)}ms`, `${(ms / minimal.median).toFixed(2)}x; steward ${(ms / ours.median).toFixed(1)}x faster`];
}

/** Prints rows as a Markdown table: what ran, its wall times, its ratio to the minimal script. */
function table(rows: Array<[string, string, string]>): void {
  const all: Array<[string, string, string]> = [["", "wall time", "/ minimal script (median)"], ...rows];
  const widths = [0, 1, 2].map((c) => Math.max(...all.map((r) => r[c as 0 | 1 | 2].length)));
  const line = (r: readonly string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(" | ")} |`;
  console.log(line(all[0]!));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
}

/** The steward-lib version a host's profile starts with. */
function libVersion(host: SandboxHost): string | undefined {
  return profileVersion(host, "steward-lib");
}

function profileVersion(host: SandboxHost, name: string): string | undefined {
  return PROFILES[host.profile]?.find((p) => p.startsWith(`${name}_`))?.slice(name.length + 1);
}

/** Runs the CLI in-process in the fleet's repository; returns the plan file for `plan`, throws on a non-zero exit. */
async function steward(state: FleetState, ...args: string[]): Promise<{ plan: string; results: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "" }, cwd: state.dir });
  if (code !== 0) throw new Error(`steward ${args.join(" ")}: exit ${code}\n${stdout}${stderr}`);
  return { plan: /^wrote (\S+\.json)$/m.exec(stdout)?.[1] ?? "", results: /^wrote (\S+results\.json)$/m.exec(stdout)?.[1] ?? "" };
}

/** `steward apply` of the plan; throws unless every one of its `hosts` hosts changed (a stale or failed host would make the figure meaningless). */
async function applied(state: FleetState, plan: { plan: string }, hosts: number): Promise<void> {
  const { results } = await steward(state, "apply", plan.plan);
  const parsed = JSON.parse(await readFile(join(state.dir, results), "utf8")) as { hosts: Array<{ host: string; outcome: string; detail: string }> };
  const changed = parsed.hosts.filter((h) => h.outcome === "changed").length;
  const other = parsed.hosts.find((h) => h.outcome !== "changed");
  if (changed !== hosts) throw new Error(`steward apply: ${changed} of ${hosts} hosts changed${other ? `; ${other.host}: ${other.outcome}: ${other.detail}` : ""}`);
}

/** Every host has each upgraded package at `version`, read inside the host (not through what was measured). */
async function expectVersions(state: FleetState, hosts: readonly SandboxHost[], version: string, who: string): Promise<void> {
  await mapConcurrent(hosts, 16, async (h) => {
    const r = await execInHost(state, h.name, ["dpkg-query", "-W", "-f=${Package} ${Version}\\n", ...UPGRADED]);
    const wrong = r.stdout.trim().split("\n").filter((line) => line.split(" ")[1] !== version);
    if (r.code !== 0 || wrong.length > 0) throw new Error(`${who}: ${h.name} has ${wrong.join(", ") || r.stderr}, not ${version}`);
  });
}

/** Puts each host's upgraded packages back to the versions its profile started with. */
async function resetLib(state: FleetState, hosts: readonly SandboxHost[]): Promise<void> {
  const results = await mapConcurrent(hosts, 16, async (h) => {
    const pins = UPGRADED.map((p) => `${p}=${profileVersion(h, p)}`);
    const r = await execInHost(state, h.name, ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--allow-downgrades", ...pins]);
    if (r.code !== 0) throw new Error(`${h.name}: reset failed: ${r.stderr}`);
  });
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}
