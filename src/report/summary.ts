/**
 * The GitHub Actions job summary: Markdown appended to the file `$GITHUB_STEP_SUMMARY`
 * names, shown on the run's page. GitHub allows at most 1 MiB per step ("Adding a job
 * summary", GitHub Actions docs: "Step summaries are isolated per step and each step's
 * summary is limited to a maximum of 1MiB"); more fails the upload and shows nothing.
 *
 * A report is summary first, then `## ` sections (report-shared contract 2). When it
 * does not fit, detail goes, never the summary: sections are left out from the last,
 * the last one kept is cut at a line (an open code fence closed), and a note says how
 * much was left out and where the whole report is.
 */
import { open, stat } from "node:fs/promises";
import { EnvironmentError } from "../core/errors.ts";
import { plainLine } from "../core/text.ts";

/** GitHub's limit for one step's summary, in bytes. */
export const STEP_SUMMARY_LIMIT = 1024 * 1024;

export interface JobSummaryOptions {
  /** The summary file, already checked (src/cli/out-path.ts jobSummaryFile); when absent, GITHUB_STEP_SUMMARY of `env` as it is. */
  path?: string;
  /** Where GITHUB_STEP_SUMMARY is read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Where the whole report is (a file or an artifact), named when detail is left out. */
  fullTextPath?: string;
  /** The step's budget in bytes (default {@link STEP_SUMMARY_LIMIT}); what the file already holds counts. */
  limit?: number;
}

export type JobSummaryOutcome =
  | { written: false; reason: string }
  | { written: true; path: string; bytes: number; sectionsOmitted: number; cut: boolean };

const NOTE = (omitted: number, cut: boolean, where: string | undefined): string => {
  const what = [omitted > 0 ? `${omitted} section${omitted === 1 ? " was" : "s were"} left out` : "", cut ? "the last section shown was cut" : ""].filter(Boolean).join(" and ");
  return `\n\n> [!NOTE]\n> ${what} to stay within GitHub's 1 MiB job-summary limit${where === undefined ? "" : `; the whole report is in \`${plainLine(where).replace(/`/g, "'")}\``}.\n`;
};

const bytes = (text: string): number => Buffer.byteLength(text, "utf8");

/**
 * Appends `markdown` to the job summary when running in GitHub Actions
 * (`GITHUB_STEP_SUMMARY` set); does nothing otherwise. Never writes more than the
 * step's remaining budget.
 * @throws EnvironmentError (see {@link appendJobSummary}) when the summary file cannot be
 * appended to (the runner creates it; a failure there is the runner's, and should be seen).
 */
export async function writeJobSummary(markdown: string, options: JobSummaryOptions = {}): Promise<JobSummaryOutcome> {
  const path = options.path ?? (options.env ?? process.env)["GITHUB_STEP_SUMMARY"];
  if (path === undefined || path === "") return { written: false, reason: "GITHUB_STEP_SUMMARY is not set (not running in GitHub Actions)" };
  const limit = options.limit ?? STEP_SUMMARY_LIMIT;
  const already = await stat(path).then((s) => s.size, () => 0);
  const fitted = fitSummary(markdown, limit - already - 1, options.fullTextPath);
  if (fitted === undefined) return { written: false, reason: `the step summary already holds ${already} bytes of its ${limit}` };
  const text = `${already > 0 ? "\n" : ""}${fitted.text}`;
  await appendJobSummary(path, text);
  return { written: true, path, bytes: bytes(text), sectionsOmitted: fitted.omitted, cut: fitted.cut };
}

/**
 * Appends `text` to the job summary file at `path` (checked by the caller, e.g. with
 * src/cli/out-path.ts jobSummaryFile), creating it when missing as the runner would.
 * @throws EnvironmentError (exit 6) naming GITHUB_STEP_SUMMARY, the path and the
 * system's reason (ENOENT: its folder is missing; EACCES; EISDIR…).
 */
export async function appendJobSummary(path: string, text: string): Promise<void> {
  try {
    const file = await open(path, "a");
    try {
      // Checked on the file opened, not only on the name beforehand (jobSummaryFile):
      // a hard link may be a record file (runs/audit.jsonl) under another name.
      const links = (await file.stat()).nlink;
      if (links > 1) throw new EnvironmentError(`GITHUB_STEP_SUMMARY ${plainLine(path)} is a file with ${links} names (hard links): it could be one of steward's record files under another name; nothing was appended`, "GitHub Actions creates this file for each step: do not set or override GITHUB_STEP_SUMMARY in the workflow");
      await file.appendFile(text, "utf8");
    } finally {
      await file.close();
    }
  } catch (error) {
    if (error instanceof EnvironmentError) throw error;
    const reason = (error as NodeJS.ErrnoException).code ?? "error";
    const message = plainLine((error as Error).message);
    throw new EnvironmentError(`GITHUB_STEP_SUMMARY ${plainLine(path)}: cannot append the job summary (${message.startsWith(`${reason}:`) ? message : `${reason}: ${message}`})`, "GitHub Actions creates this file for each step: run the command in a workflow step, or point GITHUB_STEP_SUMMARY at a writable file (or unset it)", { cause: error });
  }
}

/**
 * `markdown` within `room` bytes (UTF-8): whole when it fits, else the summary (all
 * before the first `## ` heading outside a code fence) and as many sections as fit, the
 * next one cut at a line when enough of it fits to be useful, and a note. A summary too
 * long on its own is cut at a line too (the note says so). Undefined when not even the
 * note fits.
 */
export function fitSummary(markdown: string, room: number, fullTextPath?: string): { text: string; omitted: number; cut: boolean } | undefined {
  const whole = markdown.endsWith("\n") ? markdown : `${markdown}\n`;
  if (bytes(whole) <= room) return { text: whole, omitted: 0, cut: false };
  const [summary, ...sections] = splitSections(whole);
  let text = "";
  let kept = 0;
  const noteFor = (omitted: number, cut: boolean): number => bytes(NOTE(omitted, cut, fullTextPath));
  if (bytes(summary!) + noteFor(sections.length, false) > room) {
    const cut = cutAtLine(summary!, room - noteFor(sections.length, true));
    if (cut === undefined) return bytes(NOTE(sections.length, true, fullTextPath)) <= room ? { text: NOTE(sections.length, true, fullTextPath).trimStart(), omitted: sections.length, cut: true } : undefined;
    return { text: cut + NOTE(sections.length, true, fullTextPath), omitted: sections.length, cut: true };
  }
  text = summary!;
  let size = bytes(text);
  while (kept < sections.length && size + bytes(sections[kept]!) + noteFor(sections.length - kept - 1, false) <= room) {
    size += bytes(sections[kept]!);
    text += sections[kept++]!;
  }
  const rest = sections.length - kept;
  // Worth cutting the next section only when a useful part of it fits (its heading and some lines).
  const partial = cutAtLine(sections[kept]!, room - size - noteFor(rest - 1, true));
  if (partial !== undefined && bytes(partial) >= 512) return { text: text + partial + NOTE(rest - 1, true, fullTextPath), omitted: rest - 1, cut: true };
  return { text: text + NOTE(rest, false, fullTextPath), omitted: rest, cut: false };
}

/** The text before the first `## ` heading, then each `## ` section, splitting only outside code fences. */
function splitSections(markdown: string): string[] {
  const parts: string[] = [""];
  let fence: string | undefined;
  for (const line of markdown.split(/(?<=\n)/)) {
    const opener = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && opener !== undefined) fence = opener;
    else if (fence !== undefined && opener !== undefined && opener[0] === fence[0] && opener.length >= fence.length && line.trim() === opener) fence = undefined;
    else if (fence === undefined && /^## /.test(line)) parts.push("");
    parts[parts.length - 1] += line;
  }
  return parts;
}

/** The longest prefix of whole lines within `max` bytes with any open code fence closed, or undefined when no line fits. */
function cutAtLine(text: string, max: number): string | undefined {
  if (max <= 0) return undefined;
  const lines = text.split(/(?<=\n)/);
  let out = "";
  let size = 0;
  let fence: string | undefined;
  for (const line of lines) {
    const opener = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    const nextFence = fence === undefined ? opener : opener !== undefined && opener[0] === fence[0] && line.trim() === opener ? undefined : fence;
    const closing = nextFence === undefined ? 0 : nextFence.length + 2;
    const add = bytes(line);
    if (size + add + closing > max) break;
    out += line;
    size += add;
    fence = nextFence;
  }
  if (out === "") return undefined;
  const body = out.endsWith("\n") ? out : `${out}\n`;
  return fence === undefined ? body : `${body}${fence}\n`;
}
