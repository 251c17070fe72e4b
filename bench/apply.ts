import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type ssh2 from "ssh2";
import { main } from "../src/cli/main.ts";
import { factsScript } from "../src/facts/script.ts";
import { findProgram } from "../src/sandbox/environment.ts";
import { downFleet, execInHost, PROFILES, upFleet, type FleetState, type SandboxHost } from "../src/sandbox/index.ts";
import { mapConcurrent } from "../src/transport/limiter.ts";
import { fmt, summarise } from "./stats.ts";
import { knownHostKeys, referenceClose, referenceConnect, timed } from "./transport.ts";

const RUNS = 5;
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
const LIB_TO = "1.1.0";
const INSTALL = `sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- steward-lib=${LIB_TO}`;

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
    packages: [steward-lib]
`;

/**
 * `steward apply` on 100 real OpenSSH hosts: a runbook of three commands in one wave,
 * 50 hosts at a time, with everything apply does around them (plan verification, the
 * lock, the fsync'd journal, events, the facts re-read that detects stale hosts,
 * results.json and report.md). Two references in the same run: a minimal ssh2 script
 * running the three commands on one connection per host, as many at a time; and the
 * same script doing the per-host work apply must do besides (its connect rate, the
 * facts script of the stale check). Target: steward within 1.15x of the second — the
 * journal and events must cost next to nothing. A second figure: upgrading steward-lib
 * to 1.1.0 on the 50 hosts that have an older one, against the reference running the
 * same apt-get install. Ansible (ansible-playbook) runs both when it is on PATH.
 */
export async function benchApply(work: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("skipped: the sandbox fleet needs root on Linux (run `sudo npm run bench apply`)");
    return;
  }
  const dir = join(work, "fleet");
  const started = Date.now();
  try {
    const state = await upFleet({ dir, count: HOSTS, subnet: SUBNET, hide: [resolve(import.meta.dirname, "..")] });
    console.log(`fleet: ${state.hosts.length} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const keys = await knownHostKeys(state.knownHosts);
    const privateKey = await readFile(state.identityFile);
    const ansible = await findProgram("ansible-playbook");
    const connect = (host: SandboxHost) => referenceConnect(host, keys, privateKey);
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    await writeFile(join(state.dir, "runbooks", "bench-commands.yaml"), COMMANDS_RUNBOOK);
    const older = state.hosts.filter((h) => libVersion(h) !== undefined && libVersion(h) !== LIB_TO && libVersion(h)!.startsWith("1.")).slice(0, UPGRADE_HOSTS);
    await writeFile(join(state.dir, "runbooks", "bench-upgrade.yaml"), upgradeRunbook(older));

    console.log(`\n### ${COMMANDS.length} commands on ${HOSTS} hosts, one wave, ${CONCURRENCY} at a time, ${RUNS} runs`);
    const commandsPlan = await steward(state, "plan", "bench-commands", "--gather");
    const reference: number[] = [];
    const sameWork: number[] = [];
    const applied: number[] = [];
    const { script } = factsScript([]);
    for (let i = 0; i < RUNS; i++) {
      // Rotating which goes first keeps a warm-up or cache effect from favouring one side.
      const runs = [
        async () => reference.push(await timed(() => referenceCommands(state.hosts, connect))),
        async () => sameWork.push(await timed(() => referenceSameWork(state.hosts, connect, script))),
        async () => applied.push(await timed(() => steward(state, "apply", commandsPlan))),
      ];
      for (let k = 0; k < runs.length; k++) await runs[(i + k) % runs.length]!();
    }
    const ansibleCommands = ansible === undefined ? undefined : await timed(() => ansiblePlaybook(ansible, state, state.hosts, COMMANDS.map((c) => ({ name: c, command: c }))));
    const r = summarise(reference);
    const s = summarise(applied);
    report(r, s, ansibleCommands);
    const same = summarise(sameWork);
    const ratio = s.median / same.median;
    console.log(`reference doing apply's per-host work (connects at ${CONNECTS_PER_SECOND}/s, the facts script read before the commands, as apply's stale check does): ${fmt(same)} wall`);
    console.log(`ratio steward / same-work reference (median): ${ratio.toFixed(2)}x — steward's own cost (journal, events, engine, results, report); target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? "met" : "NOT met"}`);
    const spread = (HOSTS / CONNECTS_PER_SECOND) * 1000;
    console.log(`connect rate: ${CONNECTS_PER_SECOND} new connections/s (the transport's default, connectsPerSecond in src/transport/ssh/index.ts), so ${HOSTS} hosts cannot all be connected before ${spread.toFixed(0)}ms; the minimal reference connects without a limit`);

    console.log(`\n### upgrade steward-lib to ${LIB_TO} on the ${older.length} hosts with an older one, ${UPGRADE_RUNS} runs each, hosts reset in between`);
    const upgradePlan = await steward(state, "plan", "bench-upgrade", "--gather");
    const refUpgrade: number[] = [];
    const appliedUpgrade: number[] = [];
    for (let i = 0; i < UPGRADE_RUNS; i++) {
      refUpgrade.push(await timed(() => referenceUpgrade(older, connect)));
      await resetLib(state, older);
      appliedUpgrade.push(await timed(() => steward(state, "apply", upgradePlan)));
      await resetLib(state, older);
    }
    let ansibleUpgrade: number | undefined;
    if (ansible !== undefined) {
      ansibleUpgrade = await timed(() => ansiblePlaybook(ansible, state, older, [{ name: "upgrade", apt: { name: `steward-lib=${LIB_TO}`, state: "present" }, become: true }]));
      await resetLib(state, older);
    }
    report(summarise(refUpgrade), summarise(appliedUpgrade), ansibleUpgrade);
    if (ansible === undefined) console.log("ansible-playbook: not found on PATH (Debian package ansible-core); no Ansible figures");
  } finally {
    await downFleet(dir);
  }
}

function report(r: ReturnType<typeof summarise>, s: ReturnType<typeof summarise>, ansibleMs: number | undefined): void {
  console.log(`minimal reference (ssh2 directly, one connection per host, nothing else): ${fmt(r)} wall`);
  console.log(`steward apply (in-process CLI: verify, lock, stale check, journal, results, report): ${fmt(s)} wall`);
  console.log(`ratio steward / minimal reference (median): ${(s.median / r.median).toFixed(2)}x`);
  if (ansibleMs !== undefined) console.log(`ansible-playbook (forks ${CONCURRENCY}, pipelining): ${ansibleMs.toFixed(0)}ms, ${(ansibleMs / r.median).toFixed(2)}x the reference, ${(ansibleMs / s.median).toFixed(2)}x steward`);
}

/** The steward-lib version a host's profile starts with. */
function libVersion(host: SandboxHost): string | undefined {
  return PROFILES[host.profile]?.find((p) => p.startsWith("steward-lib_"))?.slice("steward-lib_".length);
}

/** Runs the CLI in-process in the fleet's repository; returns the plan file for `plan`, throws on a non-zero exit. */
async function steward(state: FleetState, ...args: string[]): Promise<string> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "" }, cwd: state.dir });
  if (code !== 0) throw new Error(`steward ${args.join(" ")}: exit ${code}\n${stdout}${stderr}`);
  return /^wrote (\S+\.json)$/m.exec(stdout)?.[1] ?? "";
}

/** Puts each host's steward-lib back to the version its profile started with. */
async function resetLib(state: FleetState, hosts: readonly SandboxHost[]): Promise<void> {
  await mapConcurrent(hosts, 16, async (h) => {
    const r = await execInHost(state, h.name, ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--allow-downgrades", `steward-lib=${libVersion(h)}`]);
    if (r.code !== 0) throw new Error(`${h.name}: reset failed: ${r.stderr}`);
  });
}

function exec(client: ssh2.Client, command: string, stdin?: string): Promise<number | undefined> {
  return new Promise((done, fail) => {
    client.exec(command, (error, channel) => {
      if (error) return fail(error);
      channel.resume();
      channel.stderr.resume();
      channel.once("close", (code?: number) => done(code));
      if (stdin !== undefined) channel.end(stdin);
    });
  });
}

/** One connection per host, the commands one after another (as apply runs steps), every exit code 0. */
async function perHost(hosts: readonly SandboxHost[], connect: (h: SandboxHost) => Promise<ssh2.Client>, commands: readonly string[]): Promise<void> {
  const results = await mapConcurrent(hosts, CONCURRENCY, async (host) => {
    const client = await connect(host);
    try {
      for (const command of commands) {
        const code = await exec(client, command);
        if (code !== 0) throw new Error(`${host.name}: ${command}: exit ${code}`);
      }
    } finally {
      await referenceClose(client);
    }
  });
  const failed = results.find((r) => r.status === "rejected");
  if (failed !== undefined && failed.status === "rejected") throw failed.reason;
}

const referenceCommands = (hosts: readonly SandboxHost[], connect: (h: SandboxHost) => Promise<ssh2.Client>) => perHost(hosts, connect, COMMANDS);

/**
 * The same commands with the work apply must do per host around them: connects spaced
 * at the transport's rate, and the facts script (the stale check) read first.
 */
async function referenceSameWork(hosts: readonly SandboxHost[], connect: (h: SandboxHost) => Promise<ssh2.Client>, script: string): Promise<void> {
  let next = 0;
  const spaced = async (host: SandboxHost): Promise<ssh2.Client> => {
    const slot = Math.max(next, Date.now());
    next = slot + 1000 / CONNECTS_PER_SECOND;
    if (slot > Date.now()) await new Promise((r) => setTimeout(r, slot - Date.now()));
    const client = await connect(host);
    const code = await exec(client, "/bin/sh -s", script);
    if (code !== 0) throw new Error(`${host.name}: the facts script: exit ${code}`);
    return client;
  };
  await perHost(hosts, spaced, COMMANDS);
}
const referenceUpgrade = (hosts: readonly SandboxHost[], connect: (h: SandboxHost) => Promise<ssh2.Client>) => perHost(hosts, connect, [INSTALL]);

/**
 * Ansible on the same hosts: an inventory with the fleet's key and known_hosts (strict
 * host key checking), forks 50, pipelining, no fact gathering; `tasks` as YAML-ready objects.
 */
async function ansiblePlaybook(program: string, state: FleetState, hosts: readonly SandboxHost[], tasks: Array<Record<string, unknown>>): Promise<void> {
  const dir = join(state.dir, "ansible");
  await mkdir(dir, { recursive: true });
  const inventory = ["[fleet]", ...hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port} ansible_user=steward ansible_ssh_private_key_file=${state.identityFile}`)].join("\n");
  await writeFile(join(dir, "inventory.ini"), `${inventory}\n`);
  await writeFile(join(dir, "ansible.cfg"), `[defaults]\nforks = ${CONCURRENCY}\nhost_key_checking = True\ngathering = explicit\n\n[ssh_connection]\npipelining = True\nssh_args = -o UserKnownHostsFile=${state.knownHosts} -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=60s\n`);
  await writeFile(join(dir, "playbook.json"), JSON.stringify([{ hosts: "fleet", gather_facts: false, tasks }], null, 2));
  await promisify(execFile)(program, ["-i", join(dir, "inventory.ini"), join(dir, "playbook.json")], { cwd: dir, env: { ...process.env, ANSIBLE_CONFIG: join(dir, "ansible.cfg") }, maxBuffer: 64 * 1024 * 1024 });
}
