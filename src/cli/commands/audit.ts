import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { UsageError } from "../../core/errors.ts";
import { terminalText } from "../../core/text.ts";
import { verifyAudit } from "../../audit/verify.ts";
import { ExitCode } from "../exit-codes.ts";
import type { Command } from "../io.ts";

const FORMATS = ["text", "json"] as const;

export const audit: Command = {
  summary: "check the recorded run history (runs/audit.jsonl, run folders, commits) is complete and untampered",
  usage: `usage: steward audit verify [--root DIR] [--format text|json]

  --root DIR      repository root (default: the current directory)
  --format FMT    text (default) or json ({entries, runs, gitChecked, findings})

Checks the hash chain of runs/audit.jsonl; that every run folder has an entry and every
entry a folder; that each run's journal, results and report match what its latest entry
recorded and its journal still begins with what earlier entries recorded; and, in a git
repository, that each applied plan was committed before its apply started and is in the
approving commit, and that no committed version of a run's files went unrecorded.
Every finding names the entry (line and seq), the file and the commit.
Exit codes: 0 verified, 2 usage, 5 a gap or tampering was found.`,
  async run(argv, io) {
    const { values, positionals } = parseFlags({ args: argv, options: { root: { type: "string" }, format: { type: "string", default: "text" } }, strict: true, allowPositionals: true });
    if (positionals.length !== 1 || positionals[0] !== "verify") throw new UsageError(positionals.length === 0 ? "name what to do: steward audit verify" : `unknown audit command '${positionals.join(" ")}'`, "steward audit verify [--root DIR]");
    const format = values.format as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`unknown format '${values.format}'`, `use one of: ${FORMATS.join(", ")}`);
    const root = resolve(io.cwd, values.root ?? ".");
    const result = await verifyAudit(root);
    const errors = result.findings.filter((f) => f.severity === "error");
    if (format === "json") io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const lines = result.findings.map((f) => `${f.severity === "error" ? "error" : "note"}: ${terminalText(f.message)}`);
      lines.push(errors.length === 0 ? `audit verified: ${result.entries} entr${result.entries === 1 ? "y" : "ies"}, ${result.runs} run folder(s)${result.gitChecked ? ", commits checked" : ""}` : `audit FAILED: ${errors.length} finding(s) over ${result.entries} entr${result.entries === 1 ? "y" : "ies"} and ${result.runs} run folder(s)`);
      io.stdout(`${lines.join("\n")}\n`);
    }
    return errors.length === 0 ? ExitCode.ok : ExitCode.stalePlan;
  },
};
