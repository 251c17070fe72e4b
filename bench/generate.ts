/**
 * Generates a large synthetic repository (hosts in groups, runbooks) for benchmarks.
 * Deterministic: the same arguments give the same files.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface GeneratedRepository {
  hosts: number;
  groups: number;
  runbooks: number;
  bytes: number;
}

export async function generateRepository(root: string, hosts = 10_000, groups = 200, runbooks = 50): Promise<GeneratedRepository> {
  await mkdir(join(root, "inventory"), { recursive: true });
  await mkdir(join(root, "runbooks"), { recursive: true });
  let bytes = 0;
  const write = async (path: string, text: string): Promise<void> => {
    bytes += Buffer.byteLength(text);
    await writeFile(join(root, path), text);
  };
  // Ten parent "site" groups, each with leaf groups as children.
  const sites = 10;
  let g = "defaults:\n  user: steward\n  become: true\n  known_hosts: inventory/known_hosts\n  vars:\n    backup_root: /srv/backup\ngroups:\n";
  for (let s = 0; s < sites; s++) {
    const children = [];
    for (let i = s; i < groups - sites; i += sites) children.push(`role-${i}`);
    g += `  site-${s}:\n    children: [${children.join(", ")}]\n    vars:\n      site: s${s}\n`;
  }
  for (let i = 0; i < groups - sites; i++) g += `  role-${i}:\n    description: role ${i}\n    vars:\n      role: r${i}\n      app_port: ${8000 + i}\n`;
  await write("inventory/groups.yaml", g);
  // One key for every host is enough to exercise the known_hosts check.
  const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAUqZXZTPdUyhWeyIsDUlsE/kRSMMZLgqRNq8KxNmoRg";
  let knownHosts = "";
  for (let h = 0; h < hosts; h++) knownHosts += `10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255} ${key}\n`;
  await write("inventory/known_hosts", knownHosts);
  const perFile = 1000;
  for (let f = 0; f * perFile < hosts; f++) {
    let text = "hosts:\n";
    for (let h = f * perFile; h < Math.min(hosts, (f + 1) * perFile); h++) {
      const role = h % (groups - sites);
      text += `  host-${String(h).padStart(5, "0")}:\n    address: 10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255}\n    groups: [role-${role}]\n    criticality: ${["low", "medium", "high", "critical"][h % 4]}\n    tags: [${h % 50 === 0 ? "canary" : "fleet"}]\n    vars:\n      rack: r${h % 40}\n`;
    }
    await write(`inventory/hosts-${f}.yaml`, text);
  }
  for (let r = 0; r < runbooks; r++) {
    await write(
      `runbooks/rb-${r}.yaml`,
      `name: rb-${r}
targets: group:site-${r % sites} & !tag:canary
window:
  timezone: Europe/Berlin
  days: [mon, tue, wed]
  start: "02:00"
  duration: 3h
rollout:
  waves: [1, "10%", "50%", "100%"]
  failure_budget: "5%"
steps:
  - kind: check
    name: disk
    checks:
      - type: disk
        mount: /
        max_used: "90%"
  - kind: packages
    name: updates
    action: upgrade
  - kind: command
    name: ping app
    command: 'curl -fsS http://127.0.0.1:{{vars.app_port}}/healthz --header X-Rack:{{vars.rack}}'
  - kind: reboot
    name: reboot
`,
    );
  }
  return { hosts, groups, runbooks, bytes };
}
