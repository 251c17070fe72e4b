import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { UsageError } from "../../core/errors.ts";
import { downFleet, FAULT_KINDS, fleetStatus, healFault, injectFault, readFleetState, upFleet, type FaultKind, type HostStatus } from "../../sandbox/index.ts";
import type { CliIO, Command } from "../io.ts";

const USAGE = `usage: steward sandbox <subcommand> [--dir DIR]

Real, isolated SSH hosts on this machine for the demo and the tests (Linux, root).

subcommands:
  up [N] [--subnet X] [--disk-size SIZE]   start N hosts (default 5) at 127.0.X.1..N:2222 (X default 10)
  down                                     stop every host, unmount, delete the fleet's files
  status [--json]                          each host: address, state, sshd, boot id, disk, faults
  fault <kind> <host>                      kinds: ${FAULT_KINDS.join(", ")}; "heal" clears all

options:
  --dir DIR   fleet folder (default .steward/sandbox under the current directory)

'up' refuses when a fleet is already up in DIR: run 'down' first or pick another --dir.`;

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)}M`;
}

function statusTable(hosts: readonly HostStatus[]): string {
  const rows = [
    ["NAME", "ADDRESS", "STATE", "SSHD", "BOOT-ID", "DISK", "FAULTS"],
    ...hosts.map((h) => [
      h.name,
      h.address,
      h.state,
      h.sshd,
      h.bootId ?? "-",
      h.disk ? `${mib(h.disk.usedBytes)}/${mib(h.disk.sizeBytes)}` : "-",
      h.faults.join(",") || "-",
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? "").length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join("  ").trimEnd()).join("\n") + "\n";
}

function integer(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${what} must be a whole number, got '${value}'`);
  return Number(value);
}

async function up(positionals: string[], values: { dir: string; subnet?: string; "disk-size"?: string }, io: CliIO): Promise<number> {
  const started = Date.now();
  const state = await upFleet({
    dir: values.dir,
    count: integer(positionals[0], "host count"),
    subnet: integer(values.subnet, "--subnet"),
    diskSize: values["disk-size"],
    hide: [io.cwd],
  });
  const first = state.hosts[0];
  const last = state.hosts[state.hosts.length - 1];
  io.stdout(`${state.hosts.length} sandbox hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${first?.address} .. ${last?.address}, port ${state.port}\n`);
  io.stdout(`inventory: ${state.inventory}\n`);
  io.stdout(`try:       ssh -F ${state.sshConfig} ${first?.name}\n`);
  return 0;
}

/** `steward sandbox`: start, inspect, break and stop the local fleet of SSH hosts. */
export const sandbox: Command = {
  summary: "start, inspect, break and stop a local fleet of real SSH hosts",
  usage: USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const parsed = parseFlags({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        dir: { type: "string" },
        subnet: { type: "string" },
        "disk-size": { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const [subcommand, ...positionals] = parsed.positionals;
    const dir = resolve(io.cwd, parsed.values.dir ?? ".steward/sandbox");
    switch (subcommand) {
      case "up":
        return up(positionals, { ...parsed.values, dir }, io);
      case "down": {
        const result = await downFleet(dir);
        io.stdout(`stopped ${result.stoppedHosts} hosts, unmounted ${result.unmounted.length} file systems, removed the fleet in ${dir}\n`);
        return 0;
      }
      case "status": {
        const hosts = await fleetStatus(await readFleetState(dir));
        io.stdout(parsed.values.json ? `${JSON.stringify(hosts, null, 2)}\n` : statusTable(hosts));
        return 0;
      }
      case "fault": {
        const [kind, host] = positionals;
        if (kind === undefined || host === undefined) throw new UsageError("fault needs a kind and a host", `steward sandbox fault <${[...FAULT_KINDS, "heal"].join("|")}> <host>`);
        const state = await readFleetState(dir);
        if (kind === "heal") {
          const left = await healFault(state, host);
          io.stdout(left.length === 0 ? `${host}: healed\n` : `${host}: still shows ${left.join(", ")}\n`);
          return 0;
        }
        if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`unknown fault '${kind}'`, `kinds: ${FAULT_KINDS.join(", ")}, heal`);
        await injectFault(state, host, kind as FaultKind);
        io.stdout(`${host}: ${kind}\n`);
        return 0;
      }
      default:
        throw new UsageError(subcommand === undefined ? "missing subcommand" : `unknown subcommand '${subcommand}'`, "steward sandbox up|down|status|fault");
    }
  },
};
