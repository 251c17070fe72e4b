import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { StewardError, UsageError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/fs.ts";
import { History } from "../../report/history/index.ts";
import { statusMarkdown, trendsMarkdown } from "../../report/markdown.ts";
import { DEFAULT_STALE_AFTER_MS, statusReport } from "../../report/status.ts";
import { trendsReport } from "../../report/trends.ts";
import { FORECAST_USAGE, runForecastReport } from "../../report/forecast/command.ts";
import { renderHtmlReport } from "../../report/html/index.ts";
import { runPostmortem } from "../../report/postmortem/command.ts";
import { DAY, parseInstant, parseSince, parseStale } from "../../report/range.ts";
import { displayPath } from "../display-path.ts";
import { ExitCode } from "../exit-codes.ts";
import { outFile } from "../out-path.ts";
import type { Command } from "../io.ts";

const SUBCOMMANDS = ["status", "trends", "forecast", "postmortem"] as const;
const FORMATS = ["md", "json", "html"] as const;
/** Flags of any report that take a value: the subcommand is the first argument that is neither a flag nor such a value. */
const VALUE_FLAGS = new Set(["--root", "--since", "--until", "--format", "--out", "--now", "--stale-after", "--horizon", "--publisher"]);
const POSTMORTEM_USAGE = `usage: steward report postmortem <run-id> [--root DIR] [--stdout]

  writes incidents/postmortems/<run-id>.md for a failed or halted run (a file someone edited
  is kept as it is); --stdout prints it instead`;
/** Trends look back this far unless --since says otherwise. */
const DEFAULT_TRENDS_DAYS = 90;

export const report: Command = {
  summary: "report on the committed history: fleet status, trends, forecasts, post-incident write-ups",
  usage: `usage: steward report status|trends [--root DIR] [--since SPAN|DATE] [--until DATE] [--format md|json|html] [--out FILE] [--now ISO] [--stale-after SPAN]
       steward report forecast [options: see steward report forecast --help]
       steward report postmortem <run-id> [--root DIR] [--stdout]

  status           per host and group: pending updates by type and their age, pending reboots,
                   last successful maintenance, compliance per rule with evidence age, last backup
                   and last verified restore, open incidents
  trends           runs per runbook, success and failure rates, hosts changed, MTTR, patch latency,
                   security exposure, per group, with Mermaid charts
  forecast         disk, memory and load trends fitted with Sen's slope, days until full with an
                   interval, recommended work before each host's next window (--open-issues)
  postmortem       the post-incident write-up of a failed or halted run, incidents/postmortems/
  --root DIR       repository root (default: the current directory)
  --since SPAN     start of the range: 90d, 12w (back from --until), a date or an ISO time
                   (trends: 90d by default; status: the whole history)
  --until DATE     end of the range (default: --now)
  --format FMT     md (default: Markdown with Mermaid charts), json
                   (schemas/report-status.schema.json, schemas/report-trends.schema.json) or html
                   (one self-contained page with the same charts)
  --out FILE       write the report to FILE (atomically) instead of printing it; - prints it;
                   never inside runs/, plans/, facts/snapshots/, incidents/, inventory/,
                   runbooks/, schemas/, .git/ or .steward/ (exit 2)
  --now ISO        the time the report is made at (default: the clock), for reproducible reports
  --stale-after S  compliance evidence older than this is stale and not trusted (default 8d)

Every figure is computed from committed files only (runs/, incidents/, facts/snapshots/), so
any clone makes the same report; the report names the files and the commit it read.
A flag that takes a value is given once (exit 2 otherwise).
Exit codes: 0 written, 2 usage (a repeated flag, an --out inside steward's record), 3 a bad --since/--until/--now/--stale-after, 6 --out cannot be written.`,
  helpFor(argv) {
    const at = subcommandIndex(argv);
    const named = at === undefined ? undefined : argv[at];
    return named === "forecast" ? FORECAST_USAGE : named === "postmortem" ? POSTMORTEM_USAGE : undefined;
  },
  async run(argv, io) {
    // forecast and postmortem have their own flags: hand them everything but the subcommand.
    const at = subcommandIndex(argv);
    const named = at === undefined ? undefined : argv[at];
    if (named === "forecast" || named === "postmortem") {
      const rest = argv.filter((_, i) => i !== at);
      return named === "forecast" ? runForecastReport(rest, io) : runPostmortem(rest, io);
    }
    const { values, positionals } = parseFlags({
      args: argv,
      options: {
        root: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        format: { type: "string", default: "md" },
        out: { type: "string" },
        now: { type: "string" },
        "stale-after": { type: "string" },
      },
      strict: true,
      allowPositionals: true,
    });
    const sub = positionals[0];
    if (positionals.length !== 1 || !(SUBCOMMANDS as readonly string[]).includes(sub ?? "")) {
      throw new UsageError(positionals.length === 0 ? "name a report: steward report status|trends|forecast|postmortem" : `unknown report '${positionals.join(" ")}'`, `one of: ${SUBCOMMANDS.join(", ")}`);
    }
    const format = values.format as (typeof FORMATS)[number];
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format ${JSON.stringify(values.format)} is not a report format`, `use one of: ${FORMATS.join(", ")}`);
    const now = values.now === undefined ? new Date() : parseInstant("--now", values.now);
    const until = values.until === undefined ? now : parseInstant("--until", values.until);
    const since = values.since === undefined ? (sub === "trends" ? new Date(until.getTime() - DEFAULT_TRENDS_DAYS * DAY) : undefined) : parseSince(values.since, until);
    if (since !== undefined && since.getTime() >= until.getTime()) throw new StewardError("invalid-input", `--since (${since.toISOString()}) is not before --until (${until.toISOString()})`, "give a --since earlier than --until");
    const staleAfterMs = values["stale-after"] === undefined ? DEFAULT_STALE_AFTER_MS : parseStale(values["stale-after"]);
    const root = resolve(io.cwd, values.root ?? ".");
    // Refused before any work: a report is never written over the record it is made from.
    const out = await outFile(values.out, io.cwd, root);
    const history = new History(root);
    let text: string;
    if (sub === "status") {
      const r = await statusReport(history, { ...(since ? { since } : {}), until, now, staleAfterMs });
      text = format === "json" ? `${JSON.stringify(r, null, 2)}\n` : format === "html" ? renderHtmlReport(statusMarkdown(r), { title: "steward fleet status" }) : statusMarkdown(r);
    } else {
      const r = await trendsReport(history, { since: since!, until, now });
      text = format === "json" ? `${JSON.stringify(r, null, 2)}\n` : format === "html" ? renderHtmlReport(trendsMarkdown(r), { title: "steward trends" }) : trendsMarkdown(r);
    }
    if (out === undefined) io.stdout(text);
    else {
      await writeFileAtomic(out, text, { root, elsewhere: "write the report elsewhere with --out FILE, or omit --out to print it" });
      io.stderr(`report written to ${displayPath(io.cwd, out)}\n`);
    }
    return ExitCode.ok;
  },
};

/** Index of the subcommand in `argv`: the first argument that is not a flag nor a flag's value. */
function subcommandIndex(argv: readonly string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return i + 1 < argv.length ? i + 1 : undefined;
    if (a.startsWith("-")) {
      if (VALUE_FLAGS.has(a)) i++;
      continue;
    }
    return i;
  }
  return undefined;
}
