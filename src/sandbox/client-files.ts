import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Criticality, FleetState, SandboxHost } from "./types.ts";

const GROUPS = ["db", "app", "web"] as const;
const CRITICALITIES: readonly Criticality[] = ["high", "medium", "low", "medium"];

/** Host names sort as numbers do: zero-padded to the width of the largest. */
export function hostName(index: number, count: number): string {
  return `sandbox-${String(index + 1).padStart(Math.max(2, String(count).length), "0")}`;
}

/** Inventory placement of host `index`: groups round-robin, criticality on its own cycle. */
export function placement(index: number): Pick<SandboxHost, "groups" | "criticality" | "tags"> {
  return {
    groups: ["sandbox", GROUPS[index % GROUPS.length] as string],
    criticality: CRITICALITIES[index % CRITICALITIES.length] as Criticality,
    tags: index === 0 ? ["canary"] : [],
  };
}

function hostPattern(host: SandboxHost): string {
  return host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
}

/** known_hosts in OpenSSH's format, one pinned ed25519 key per host. */
export function knownHostsText(hosts: readonly SandboxHost[]): string {
  return hosts.map((h) => `${hostPattern(h)} ${h.hostKey}\n`).join("");
}

/** An ssh_config so `ssh -F <dir>/ssh_config sandbox-01` reaches a host with pinned keys. */
export function sshConfigText(state: FleetState): string {
  const blocks = state.hosts.map((h) => `Host ${h.name}\n  HostName ${h.address}\n  Port ${h.port}\n`);
  blocks.push(
    [
      "Host *",
      "  User steward",
      `  IdentityFile ${state.identityFile}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${state.knownHosts}`,
      "  GlobalKnownHostsFile /dev/null",
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      "  ConnectTimeout 5",
      "  LogLevel ERROR",
      "",
    ].join("\n"),
  );
  return blocks.join("\n");
}

/** The repository's inventory schema, when this checkout has one. */
function schemaPath(): string {
  return fileURLToPath(new URL("../../schemas/inventory.schema.json", import.meta.url));
}

/** The fleet as a steward inventory file. */
export function inventoryText(state: FleetState): string {
  const lines: string[] = [];
  const schema = schemaPath();
  if (existsSync(schema)) lines.push(`# yaml-language-server: $schema=${relative(dirname(state.inventory), schema)}`);
  lines.push(
    "defaults:",
    "  user: steward",
    `  port: ${state.port}`,
    "  become: true",
    `  identity_file: ${state.identityFile}`,
    // Relative to the fleet folder, which is the repository root: steward reads no file outside it.
    `  known_hosts: ${relative(dirname(dirname(state.inventory)), state.knownHosts)}`,
    "groups:",
    "  sandbox: {}",
    ...GROUPS.map((g) => `  ${g}: {}`),
    ...(state.hosts.some((h) => h.groups.includes("backup")) ? ["  backup: {}"] : []),
    "hosts:",
  );
  for (const h of state.hosts) {
    lines.push(`  ${h.name}:`, `    address: ${h.address}`, `    groups: [${h.groups.join(", ")}]`, `    criticality: ${h.criticality}`);
    if (h.tags.length > 0) lines.push(`    tags: [${h.tags.join(", ")}]`);
  }
  return `${lines.join("\n")}\n`;
}

/** Writes known_hosts, ssh_config and the inventory of a started fleet. */
export async function writeClientFiles(state: FleetState): Promise<void> {
  await mkdir(dirname(state.inventory), { recursive: true });
  await Promise.all([
    writeFile(state.knownHosts, knownHostsText(state.hosts)),
    writeFile(state.sshConfig, sshConfigText(state)),
    writeFile(state.inventory, inventoryText(state)),
  ]);
}

/** Paths of a fleet's client files inside its folder. */
export function clientPaths(dir: string): Pick<FleetState, "identityFile" | "knownHosts" | "sshConfig" | "inventory"> {
  return {
    identityFile: join(dir, "id_ed25519"),
    knownHosts: join(dir, "known_hosts"),
    sshConfig: join(dir, "ssh_config"),
    inventory: join(dir, "inventory", "sandbox.yaml"),
  };
}
