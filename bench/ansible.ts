/**
 * Ansible on the sandbox fleet, for the apply suite's comparison: ansible-playbook (the
 * Debian package ansible-core) run as one would run it against these hosts, set up to
 * be as fast as it goes without changing what it does.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { FleetState, SandboxHost } from "../src/sandbox/index.ts";
import { mapConcurrent } from "../src/transport/limiter.ts";

const run = promisify(execFile);

/** One Ansible task as YAML-ready data (`{ name, command }`, `{ name, apt, become }`). */
export type AnsibleTask = Record<string, unknown>;

/**
 * Runs one play of `tasks` on `hosts` and checks that every host did every task.
 *
 * Set-up (ansible.cfg and inventory.ini, written to `dir`): the inventory generated from
 * the fleet state (address, port, user `steward`, the fleet's key); `forks` hosts at a
 * time; strict host key checking against the fleet's known_hosts; pipelining on; one
 * SSH master connection per host reused by its tasks (ControlMaster, as Ansible does by
 * default); no fact gathering; the interpreter given (/usr/bin/python3) so Ansible does
 * not discover it per host. Afterwards the masters are told to exit.
 * @returns wall milliseconds of ansible-playbook.
 * @throws Error when ansible-playbook exits non-zero or its recap shows a host that did
 *   not run every task (unreachable, failed, or fewer `ok`).
 */
export async function ansiblePlaybook(program: string, state: FleetState, hosts: readonly SandboxHost[], tasks: readonly AnsibleTask[], forks: number, dir: string): Promise<number> {
  await mkdir(join(dir, "tmp"), { recursive: true });
  // A socket path has room for 107 bytes, and ssh adds 17 to it while it sets up: a short folder.
  const sockets = await mkdtemp(join(tmpdir(), "sa-"));
  const control = join(sockets, "%C");
  const sshArgs = `-o UserKnownHostsFile=${state.knownHosts} -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=60s -o ControlPath=${control}`;
  const inventory = ["[fleet]", ...hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port} ansible_user=steward ansible_ssh_private_key_file=${state.identityFile}`)].join("\n");
  await writeFile(join(dir, "inventory.ini"), `${inventory}\n`);
  await writeFile(
    join(dir, "ansible.cfg"),
    [
      "[defaults]",
      `forks = ${forks}`,
      "host_key_checking = True",
      "gathering = explicit",
      "interpreter_python = /usr/bin/python3",
      "retry_files_enabled = False",
      `local_tmp = ${join(dir, "tmp")}`,
      "",
      "[ssh_connection]",
      "pipelining = True",
      `ssh_args = ${sshArgs}`,
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "playbook.json"), JSON.stringify([{ hosts: "fleet", gather_facts: false, tasks }], null, 2));
  const env = { ...process.env, ANSIBLE_CONFIG: join(dir, "ansible.cfg"), ANSIBLE_HOME: join(dir, "home"), ANSIBLE_NOCOLOR: "1" };
  const start = performance.now();
  let stdout: string;
  try {
    ({ stdout } = await run(program, ["-i", join(dir, "inventory.ini"), join(dir, "playbook.json")], { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 }));
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? "";
    throw new Error(`ansible-playbook failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n${out.slice(-3000)}`);
  } finally {
    await closeMasters(hosts, state, control);
    await rm(sockets, { recursive: true, force: true });
  }
  const ms = performance.now() - start;
  checkRecap(stdout, hosts, tasks.length);
  return ms;
}

/** Every host in the PLAY RECAP with `ok` = the task count, nothing failed or unreachable. */
function checkRecap(stdout: string, hosts: readonly SandboxHost[], tasks: number): void {
  const recap = new Map<string, string>();
  for (const line of stdout.slice(stdout.lastIndexOf("PLAY RECAP")).split("\n")) {
    const m = /^(\S+)\s+:\s+(ok=.*)$/.exec(line.trim());
    if (m) recap.set(m[1]!, m[2]!);
  }
  const bad = hosts.filter((h) => {
    const line = recap.get(h.name) ?? "";
    return !new RegExp(`\\bok=${tasks}\\b`).test(line) || !/\bfailed=0\b/.test(line) || !/\bunreachable=0\b/.test(line);
  });
  if (bad.length > 0) throw new Error(`ansible-playbook: ${bad.length} hosts did not run all ${tasks} tasks, first: ${bad[0]!.name} ${recap.get(bad[0]!.name) ?? "(not in the recap)"}`);
}

/** `ssh -O exit` on each host's master connection, so none outlives the run. */
async function closeMasters(hosts: readonly SandboxHost[], state: FleetState, control: string): Promise<void> {
  await mapConcurrent(hosts, 16, (h) =>
    run("ssh", ["-o", `ControlPath=${control}`, "-o", `UserKnownHostsFile=${state.knownHosts}`, "-p", String(h.port), "-l", "steward", "-O", "exit", h.address]).catch(() => undefined),
  );
}
