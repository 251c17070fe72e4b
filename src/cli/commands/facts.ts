import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { factsForRepository } from "../../facts/run.ts";
import { DAILY_RETENTION_DAYS, snapshotOf, writeSnapshots } from "../../facts/snapshot.ts";
import type { Inventory } from "../../model/types.ts";
import type { FactsResult } from "../../facts/types.ts";
import { terminalCell, terminalFirstLine, terminalText } from "../../core/text.ts";
import { localAllowedByEnvironment } from "../../transport/registry.ts";
import { ExitCode } from "../exit-codes.ts";
import type { Command } from "../io.ts";

/** One host's cells; hosts report most of them, so every cell is made safe for a terminal. */
function row(result: FactsResult): string[] {
  return rawRow(result).map(terminalCell);
}

function rawRow(result: FactsResult): string[] {
  if (!result.ok) return [result.host, `error: ${result.error.kind}`, terminalFirstLine(result.error.message)];
  const f = result.facts;
  const security = f.upgradable.filter((p) => p.security).length;
  const broken = f.installed.filter((p) => p.status !== undefined).length;
  const disk = Math.max(0, ...f.disks.map((d) => d.usedPercent));
  return [
    result.host,
    `${f.os.id} ${f.os.versionId}`.trim(),
    `${f.installed.length}${broken > 0 ? ` (${broken} broken)` : ""}`,
    `${f.upgradable.length}${security > 0 ? ` (${security} security)` : ""}`,
    f.reboot.required ? "yes" : "no",
    `${disk}%`,
  ];
}

/** A plain table: columns padded to their widest cell; error rows run past the columns. */
export function factsTable(results: readonly FactsResult[]): string {
  const header = ["HOST", "OS", "PKGS", "UPGRADABLE", "REBOOT", "DISK MAX"];
  const rows = results.map(row);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length === header.length).map((r) => (r[i] ?? "").length)));
  const format = (cells: string[]): string => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i] ?? c.length) : c)).join("  ");
  return `${[header, ...rows].map(format).join("\n")}\n`;
}

export const facts: Command = {
  summary: "gather facts from hosts over SSH, read-only (OS, packages, reboot, disk, memory)",
  usage: `usage: steward facts [--root DIR] [--limit SELECTOR] [--refresh] [--json] [--cache] [--snapshot] [--allow-local]

  --root DIR         repository root (default: the current directory)
  --limit SELECTOR   only hosts the selector matches (e.g. 'group:web & !tag:canary')
  --refresh          refresh package lists first (apt-get update), through become
  --json             print the results as JSON (schemas/facts.schema.json, one per host)
  --cache            also write .steward/facts/<host>.json
  --snapshot         also record each host's compact line in facts/snapshots/<YYYY-MM-DD>.jsonl
                     (commit it: reports read it); every day is kept ${DAILY_RETENTION_DAYS} days, older
                     days are thinned to the last one of each ISO week
  --allow-local      allow hosts with transport: local, whose commands run on this machine
                     (also STEWARD_ALLOW_LOCAL=1); only for repositories whose YAML you trust

Exit codes (see README, Exit codes):
  0  every host answered
  1  some hosts failed (unreachable, host key, authentication, become, timeout); each is a
     row with its reason; or a host's snapshot line broke the snapshot grammar (named, not written)
  2  usage: bad flag, or a --limit that is malformed or selects no host
  3  invalid input: the inventory has validation errors (run 'steward validate')
  6  environment: the facts cache or the snapshot could not be written (read-only, full, a symbolic link),
     or a secret is shorter than 8 characters`,
  async run(argv, io) {
    const { values } = parseFlags({
      args: argv,
      options: {
        root: { type: "string" },
        limit: { type: "string" },
        refresh: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        cache: { type: "boolean", default: false },
        snapshot: { type: "boolean", default: false },
        "allow-local": { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    const root = resolve(io.cwd, values.root ?? ".");
    let inventory: Inventory | undefined;
    const results = await factsForRepository({
      root,
      onInventory: (i) => (inventory = i),
      ...(values.limit !== undefined ? { limit: values.limit } : {}),
      refresh: values.refresh,
      cache: values.cache,
      env: io.env,
      secrets: io.secrets,
      allowLocal: values["allow-local"] || localAllowedByEnvironment(io.env),
    });
    io.stdout(values.json ? `${JSON.stringify(results, null, 2)}\n` : factsTable(results));
    if (values.snapshot && results.length > 0) {
      const lines = results.map((r) => snapshotOf(r, inventory?.hosts.get(r.host)?.memberOf ?? []));
      const written = await writeSnapshots(root, lines);
      for (const p of written.problems) io.stderr(`steward facts: ${terminalText(p.line > 0 ? `${p.file}:${p.line}` : p.file)}: ${terminalText(p.message)} (not kept)\n`);
      for (const r of written.refused) io.stderr(`steward facts: host ${terminalText(r.host)}: ${terminalText(r.message)}; not written to the snapshot\n`);
      const dropped = written.problems.length > 0 ? `; ${written.problems.length} unreadable line(s) of the day's file not kept (named above; the committed file in git still has them)` : "";
      const note = `snapshot: ${results.length - written.refused.length} host(s) in ${written.written.join(", ") || "no file"}${written.pruned.length > 0 ? `; retention removed ${written.pruned.length} older file(s)` : ""}${dropped}\n`;
      (values.json ? io.stderr : io.stdout)(note);
      // A host whose facts cannot be recorded failed as a host does: the others are recorded.
      // Lines of the existing file that could not be carried over are a loss to look at: not a clean run either.
      if (written.refused.length > 0 || written.problems.length > 0) return ExitCode.hostsFailed;
    }
    return results.every((r) => r.ok) ? ExitCode.ok : ExitCode.hostsFailed;
  },
};
