import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { StewardError, UsageError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/fs.ts";
import { History } from "../../report/history/index.ts";
import { statusMarkdown, trendsMarkdown } from "../../report/markdown.ts";
import { DEFAULT_STALE_AFTER_MS, statusReport } from "../../report/status.ts";
import { trendsReport } from "../../report/trends.ts";
import { ExitCode } from "../exit-codes.ts";
import type { Command } from "../io.ts";

const SUBCOMMANDS = ["status", "trends"] as const;
const FORMATS = ["md", "json"] as const;
const DAY = 86_400_000;
/** Trends look back this far unless --since says otherwise. */
const DEFAULT_TRENDS_DAYS = 90;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const invalid = (flag: string, value: string, what: string): StewardError => new StewardError("invalid-input", `${flag} ${JSON.stringify(value.slice(0, 60))} is not ${what}`, `write ${flag} as ${flag === "--since" ? "a span back from --until (90d, 12w) or " : ""}a date (2026-12-01) or an ISO 8601 time with a zone (2026-12-01T00:00:00Z)`);

/** An absolute time: YYYY-MM-DD (00:00 UTC) or ISO 8601 with a zone. @throws StewardError invalid-input naming the flag. */
export function parseInstant(flag: string, value: string): Date {
  if (!ISO_DATE.test(value) && !ISO_TIME.test(value)) throw invalid(flag, value, "a date or an ISO 8601 time with a zone");
  const t = Date.parse(ISO_DATE.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(t) || new Date(t).getUTCFullYear() < 2000 || new Date(t).getUTCFullYear() > 9999) throw invalid(flag, value, "a real date between the years 2000 and 9999");
  return new Date(t);
}

/** --since: `<N>d` or `<N>w` back from `until`, or an absolute time. @throws StewardError invalid-input naming the flag. */
export function parseSince(value: string, until: Date): Date {
  const m = /^(\d{1,5})([dw])$/.exec(value);
  if (m === null) return parseInstant("--since", value);
  const n = Number(m[1]) * (m[2] === "w" ? 7 : 1);
  if (n === 0) throw invalid("--since", value, "a span of at least one day");
  return new Date(until.getTime() - n * DAY);
}

/** --stale-after: `<N>d` or `<N>h`. */
function parseStale(value: string): number {
  const m = /^(\d{1,4})([dh])$/.exec(value);
  if (m === null || Number(m[1]) === 0) throw new StewardError("invalid-input", `--stale-after ${JSON.stringify(value.slice(0, 60))} is not a span like 8d or 36h`, "write --stale-after as days (8d) or hours (36h)");
  return Number(m[1]) * (m[2] === "d" ? DAY : 3_600_000);
}

export const report: Command = {
  summary: "report on the committed history: fleet status, trends",
  usage: `usage: steward report status|trends [--root DIR] [--since SPAN|DATE] [--until DATE] [--format md|json] [--out FILE] [--now ISO] [--stale-after SPAN]

  status           per host and group: pending updates by type and their age, pending reboots,
                   last successful maintenance, compliance per rule with evidence age, last backup
                   and last verified restore, open incidents
  trends           runs per runbook, success and failure rates, hosts changed, MTTR, patch latency,
                   security exposure, per group, with Mermaid charts
  --root DIR       repository root (default: the current directory)
  --since SPAN     start of the range: 90d, 12w (back from --until), a date or an ISO time
                   (trends: 90d by default; status: the whole history)
  --until DATE     end of the range (default: --now)
  --format FMT     md (default: Markdown with Mermaid charts) or json
                   (schemas/report-status.schema.json, schemas/report-trends.schema.json)
  --out FILE       write the report to FILE (atomically) instead of printing it
  --now ISO        the time the report is made at (default: the clock), for reproducible reports
  --stale-after S  compliance evidence older than this is stale and not trusted (default 8d)

Every figure is computed from committed files only (runs/, incidents/, facts/snapshots/), so
any clone makes the same report; the report names the files and the commit it read.
Exit codes: 0 written, 2 usage, 3 a bad --since/--until/--now/--stale-after, 6 --out cannot be written.`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
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
      throw new UsageError(positionals.length === 0 ? "name a report: steward report status|trends" : `unknown report '${positionals.join(" ")}'`, `one of: ${SUBCOMMANDS.join(", ")} (forecast is not available in this build)`);
    }
    const format = values.format as (typeof FORMATS)[number];
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format ${JSON.stringify(values.format)} is not a report format`, `use one of: ${FORMATS.join(", ")} (html is not available in this build)`);
    const now = values.now === undefined ? new Date() : parseInstant("--now", values.now);
    const until = values.until === undefined ? now : parseInstant("--until", values.until);
    const since = values.since === undefined ? (sub === "trends" ? new Date(until.getTime() - DEFAULT_TRENDS_DAYS * DAY) : undefined) : parseSince(values.since, until);
    if (since !== undefined && since.getTime() >= until.getTime()) throw new StewardError("invalid-input", `--since (${since.toISOString()}) is not before --until (${until.toISOString()})`, "give a --since earlier than --until");
    const staleAfterMs = values["stale-after"] === undefined ? DEFAULT_STALE_AFTER_MS : parseStale(values["stale-after"]);
    const history = new History(resolve(io.cwd, values.root ?? "."));
    let text: string;
    if (sub === "status") {
      const r = await statusReport(history, { ...(since ? { since } : {}), until, now, staleAfterMs });
      text = format === "json" ? `${JSON.stringify(r, null, 2)}\n` : statusMarkdown(r);
    } else {
      const r = await trendsReport(history, { since: since!, until, now });
      text = format === "json" ? `${JSON.stringify(r, null, 2)}\n` : trendsMarkdown(r);
    }
    if (values.out === undefined) io.stdout(text);
    else {
      const out = resolve(io.cwd, values.out);
      await writeFileAtomic(out, text, { elsewhere: "write the report elsewhere with --out FILE, or omit --out to print it" });
      io.stderr(`report written to ${values.out}\n`);
    }
    return ExitCode.ok;
  },
};
