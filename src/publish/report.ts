/**
 * The weekly report as a publication: the Markdown and JSON `steward report status`,
 * `trends` and `forecast` printed (read from the files the caller names), joined into
 * `reports/<week>.md` and `reports/<week>.json`, with a commit message whose trailers
 * name the week and each report's sources, and a pull-request body (a short summary,
 * each report folded under its title).
 */
import { lstat, readFile, realpath, stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { StewardError } from "../core/errors.ts";
import { jsonQuoted, plainLine, quotedName } from "../core/text.ts";
import { isoWeekName } from "./markers.ts";
import type { ReportPublication } from "./types.ts";

/** The largest report file read (16 MiB): a year of a 1,000-host fleet is far below it. */
export const REPORT_FILE_LIMIT = 16 * 1024 * 1024;

/** One report as `steward report … --format md|json` wrote it. */
export type ReportPart = { kind: "md"; source: string; text: string } | { kind: "json"; source: string; value: { report: string; [key: string]: unknown } };

/**
 * Refuses one file named twice, however it is spelt: `a.md` and `./a.md`, a path through
 * `..`, a symbolic link to it, or a hard link (the same device and inode). Publishing it
 * twice would put the same report in the week's file twice, and its figures would read
 * as two reports.
 * @throws StewardError (usage) naming both arguments.
 */
async function refuseRepeats(files: readonly { path: string; shown: string }[]): Promise<void> {
  const seen = new Map<string, string>();
  for (const { path, shown } of files) {
    // A file that cannot be stat'ed is named by its resolved path; reading it says what is wrong.
    const info = await stat(path).catch(() => null);
    const identity = info === null ? `path:${await realpath(path).catch(() => resolve(path))}` : `inode:${info.dev}:${info.ino}`;
    const first = seen.get(identity);
    if (first !== undefined) {
      throw new StewardError("usage", `${jsonQuoted(first)} and ${jsonQuoted(shown)} are the same file: a report is published once`, "name each report file once");
    }
    seen.set(identity, shown);
  }
}

/**
 * Reads the report files to publish: `.md` files as Markdown, `.json` files as one
 * report object each (`{ "report": "status"|"trends"|"forecast", … }`).
 * @throws StewardError (usage) naming the file: named twice (both arguments), not a regular file, larger than
 * {@link REPORT_FILE_LIMIT}, not UTF-8 text, JSON that is not a report object, or
 * another extension.
 */
export async function readReportParts(files: readonly { path: string; shown: string }[]): Promise<ReportPart[]> {
  await refuseRepeats(files);
  const parts: ReportPart[] = [];
  for (const { path, shown: given } of files) {
    const shown = quotedName(given);
    const fix = "name the files `steward report … --out FILE` wrote (.md or .json)";
    const info = await lstat(path).catch(() => null);
    if (info === null || !info.isFile()) throw new StewardError("usage", `${shown} ${info === null ? "does not exist" : "is not a regular file"}`, fix);
    if (info.size > REPORT_FILE_LIMIT) throw new StewardError("usage", `${shown} is ${info.size} bytes, more than a report may be (${REPORT_FILE_LIMIT})`, fix);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(await readFile(path));
    } catch {
      throw new StewardError("usage", `${shown} is not UTF-8 text`, fix);
    }
    if (/\.md$/i.test(path)) parts.push({ kind: "md", source: given, text: text.endsWith("\n") ? text : `${text}\n` });
    else if (/\.json$/i.test(path)) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new StewardError("usage", `${shown} is not JSON: ${plainLine((error as Error).message)}`, fix);
      }
      if (typeof value !== "object" || value === null || Array.isArray(value) || typeof (value as { report?: unknown }).report !== "string" || !/^[a-z][a-z0-9-]{0,40}$/.test((value as { report: string }).report)) {
        throw new StewardError("usage", `${shown} is not a report's JSON: it needs a "report" field naming the report (status, trends, forecast)`, "write it with steward report … --format json");
      }
      parts.push({ kind: "json", source: given, value: value as { report: string } });
    } else throw new StewardError("usage", `${shown} is neither .md nor .json`, fix);
  }
  if (!parts.some((p) => p.kind === "md")) throw new StewardError("usage", "the weekly report needs at least one Markdown report", "steward publish report status.md trends.md forecast.md [status.json …]");
  return parts;
}

/** A report's title: its first `# ` heading, as one plain line, else the file's name. */
function titleOf(part: Extract<ReportPart, { kind: "md" }>): string {
  const heading = /^# +(.+)$/m.exec(part.text)?.[1];
  return plainLine(heading ?? basename(part.source)).replace(/\\(.)/g, "$1").slice(0, 200);
}

/** The summary of a report: what comes before its first `## ` heading. */
function summaryOf(text: string): string {
  const at = text.search(/^## /m);
  return (at === -1 ? text : text.slice(0, at)).trim();
}

/** A trailer value: one plain line of `[A-Za-z0-9._:/ ,-]`, so it cannot add a trailer or a line. */
const trailerValue = (value: unknown): string => plainLine(value).replace(/[^A-Za-z0-9._:/ ,+-]/g, "_").slice(0, 200);

/**
 * The week's publication: `reports/<week>.md` (each Markdown report in the order given,
 * separated by a rule) and, when JSON reports are given, `reports/<week>.json`
 * (`{"week", "reports": [ … ]}`, two-space indented).
 * @throws PublishInputError for a week that is not `YYYY-Www`.
 */
export function reportPublication(week: string, parts: readonly ReportPart[]): ReportPublication {
  isoWeekName(week);
  const md = parts.filter((p): p is Extract<ReportPart, { kind: "md" }> => p.kind === "md");
  const json = parts.filter((p): p is Extract<ReportPart, { kind: "json" }> => p.kind === "json");
  const mdPath = `reports/${week}.md`;
  const files = [{ path: mdPath, content: md.map((p) => p.text.trimEnd()).join("\n\n---\n\n") + "\n" }];
  if (json.length > 0) files.push({ path: `reports/${week}.json`, content: `${JSON.stringify({ week, reports: json.map((p) => p.value) }, null, 2)}\n` });
  const titles = md.map(titleOf);
  const kinds = json.length > 0 ? json.map((p) => p.value.report) : titles;
  const sources = json.map((p) => {
    const s = p.value["source"] as { commit?: unknown; since?: unknown; until?: unknown; files?: unknown } | undefined;
    return `Steward-Report-Source: ${trailerValue(p.value.report)} ${trailerValue(s?.since ?? "?")}..${trailerValue(s?.until ?? "?")}, ${trailerValue(s?.files ?? "?")} files${s?.commit !== undefined ? ` at ${trailerValue(s.commit)}` : ""}`;
  });
  const message = `report ${week}: ${trailerValue(kinds.join(", "))}\n\nThe weekly report, computed from the committed history only: any clone\nreproduces it. Report: ${mdPath}\n\nSteward-Report: ${week}\n${sources.join("\n")}${sources.length > 0 ? "\n" : ""}`;
  const summary = [`**Weekly report ${week}**: ${titles.map((t) => t.replace(/[\\`*_[\]|<>~&!$@#]/g, "\\$&")).join(" · ")}.`, "", ...md.map((p) => summaryOf(p.text).replace(/^# .*\n*/, "")).filter((s) => s !== "").map((s) => `${s}\n`), `Merge to keep the report in \`${mdPath}\`.`].join("\n");
  return {
    week,
    title: `Weekly report ${week}`,
    message,
    files,
    body: { summary: summary.length > 20_000 ? `**Weekly report ${week}**: the whole report is in \`${mdPath}\`.` : summary, details: md.map((p, i) => ({ title: titles[i]!, body: p.text })), fullTextPath: mdPath },
    labels: [],
  };
}
