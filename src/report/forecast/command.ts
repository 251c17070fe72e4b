/**
 * `steward report forecast`: disk, memory and load trends of every host from the
 * committed facts snapshots, the recommended work they lead to, and with
 * `--open-issues` those recommendations published (one issue or file each).
 * Core's `steward report` dispatcher calls {@link runForecastReport} with the
 * arguments after `forecast`.
 */
import { resolve } from "node:path";
import { parseFlags } from "../../cli/args.ts";
import { StewardError, UsageError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/fs.ts";
import { git } from "../../core/git.ts";
import { terminalText } from "../../core/text.ts";
import type { CommandIO } from "../../cli/io.ts";
import { displayPath } from "../../cli/display-path.ts";
import { outFile } from "../../cli/out-path.ts";
import { publisherFor } from "../../publish/select.ts";
import { validateRepository } from "../../validate/index.ts";
import type { SnapshotProblem } from "../history/snapshots.ts";
import { renderHtmlReport } from "../html/index.ts";
import { parseInstant, parseSince } from "../range.ts";
import { collectSnapshotSeries } from "./collect.ts";
import { renderForecastMarkdown } from "./markdown.ts";
import { hostWindows, type HostWindow } from "./recommend.ts";
import { buildForecast, type ForecastReport } from "./report.ts";
import { recommendationSet } from "./publication.ts";

export const FORECAST_USAGE = `usage: steward report forecast [--root DIR] [--since 90d|12w|DATE] [--until DATE] [--now ISO]
                               [--horizon 14d] [--format md|json|html] [--out FILE] [--open-issues]
                               [--publisher git|github]

  --since       readings from this long before --until (90d, 12w) or this date on (default 90d)
  --until       readings up to this date-time (default: now)
  --now         the clock days are counted from (ISO 8601 with a zone; default: the real time)
  --horizon     the deadline for hosts no runbook with a window targets (default 14d)
  --format      md (default), json (schemas/report-forecast.schema.json) or html
  --out FILE    write the report there (atomically) instead of standard output; - is
                standard output; never inside runs/, plans/, facts/snapshots/, incidents/,
                inventory/, runbooks/, schemas/, .git/ or .steward/ (exit 2)
  --open-issues publish the recommendations: one GitHub issue each (found again by a
                hidden marker, updated in place, closed when it no longer holds), or with
                the git publisher one file each, recommendations/<id>.md, on
                steward/recommendations`;

const FORMATS = ["md", "json", "html"] as const;
const DAY_MS = 86_400_000;

/** What the report command produced, for a dispatcher that renders formats itself. */
export interface ForecastOutput {
  report: ForecastReport;
  markdown: string;
}

/** Parsed options of the forecast command. */
export interface ForecastArgs {
  root: string;
  since: Date;
  until: Date;
  now: Date;
  horizonDays: number;
}

/**
 * Builds the forecast from the repository at `args.root`. Bad snapshot lines and an
 * inventory or runbooks with errors are reported to `warn` (the report goes on without
 * them: windows unknown means every host is judged against the horizon).
 */
export async function forecastReport(args: ForecastArgs, warn: (line: string) => void): Promise<ForecastOutput> {
  const problems: SnapshotProblem[] = [];
  // One point a day at most: the UTC days the range touches.
  const days = Math.floor(args.until.getTime() / DAY_MS) - Math.floor(args.since.getTime() / DAY_MS) + 1;
  const collected = await collectSnapshotSeries(args.root, { since: args.since, until: args.until }, days, (p) => problems.push(p));
  if (problems.length > 0) {
    const where = (p: SnapshotProblem): string => (p.line > 0 ? `${p.file}:${p.line}` : p.file);
    warn(`${problems.length} snapshot line(s) or file(s) skipped (listed in the report): ${problems.slice(0, 3).map((p) => `${where(p)} ${p.message}`).join("; ")}${problems.length > 3 ? "; …" : ""}`);
  }
  let windows: Map<string, HostWindow> = new Map();
  const validation = await validateRepository(args.root, { now: args.now });
  if (validation.errors > 0) warn(`maintenance windows not read: inventory/ and runbooks/ have ${validation.errors} error(s) (run steward validate); every host is judged against the ${args.horizonDays}-day horizon`);
  else windows = hostWindows(validation.inventory, validation.runbooks, args.now);
  const head = await git(args.root, ["rev-parse", "--verify", "--quiet", "HEAD"]).catch(() => undefined);
  const commit = head?.code === 0 ? head.stdout.toString("utf8").trim() : undefined;
  const { report, charts } = buildForecast(collected, { now: args.now, since: args.since, until: args.until, windows, horizonDays: args.horizonDays, skipped: problems, ...(commit !== undefined ? { commit } : {}) });
  for (const p of report.problems) warn(`${p.host} ${p.resource}: ${p.message}`);
  return { report, markdown: renderForecastMarkdown(report, charts) };
}

/** `steward report forecast …`: returns the exit code. @throws UsageError (exit 2) for bad flags. */
export async function runForecastReport(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    options: { root: { type: "string" }, since: { type: "string" }, until: { type: "string" }, now: { type: "string" }, horizon: { type: "string" }, format: { type: "string", default: "md" }, out: { type: "string" }, "open-issues": { type: "boolean" }, publisher: { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, FORECAST_USAGE.split("\n")[0]);
  const format = values.format as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new UsageError(`unknown format '${values.format}'`, `use one of: ${FORMATS.join(", ")}`);
  const now = values.now === undefined ? new Date() : parseInstant("--now", values.now);
  const until = values.until === undefined ? now : parseInstant("--until", values.until);
  const since = values.since === undefined ? new Date(until.getTime() - 90 * DAY_MS) : parseSince(values.since, until);
  if (since.getTime() >= until.getTime()) throw new StewardError("invalid-input", `--since (${since.toISOString()}) is not before --until (${until.toISOString()})`, "give a --since earlier than --until");
  const horizonDays = values.horizon === undefined ? 14 : days(values.horizon, "--horizon");
  const root = resolve(io.cwd, values.root ?? ".");
  const out = await outFile(values.out, io.cwd, root);
  const warn = (line: string): void => io.stderr(`note: ${terminalText(line)}\n`);
  const { report, markdown } = await forecastReport({ root, since, until, now, horizonDays }, warn);
  const text = format === "json" ? `${JSON.stringify(report, null, 2)}\n` : format === "html" ? renderHtmlReport(markdown, { title: "steward forecast" }) : markdown;
  if (out !== undefined) {
    await writeFileAtomic(out, text, { root, elsewhere: "write the report elsewhere with --out FILE, or omit --out to print it" });
    io.stderr(`report written to ${displayPath(io.cwd, out)}\n`);
  } else io.stdout(text);
  if (values["open-issues"] === true) {
    const publisher = publisherFor(values.publisher, root, io);
    const outcome = await publisher.recommendations(recommendationSet(report));
    for (const o of outcome.outcomes) io.stderr(`recommendation ${terminalText(o.id)}: ${o.action} (${terminalText(o.review.url)})\n`);
    if (outcome.outcomes.length === 0) io.stderr("recommendations: none hold, none were open\n");
    if (outcome.branch !== undefined) io.stderr(`${outcome.committed ? `committed ${outcome.commit?.slice(0, 12)} to` : "nothing to commit on"} ${outcome.branch}\n`);
  }
  return 0;
}

function days(text: string, flag: string): number {
  const m = /^(\d{1,5})d$/.exec(text);
  if (m === null || Number(m[1]) === 0) throw new StewardError("invalid-input", `${flag} ${JSON.stringify(text.slice(0, 60))} is not a number of days`, `write it as days, e.g. ${flag} 90d (1 to 99999)`);
  return Number(m[1]);
}
