import type { Diagnostic } from "../core/diagnostic.ts";
import { markdownText } from "../core/text.ts";
import { clip, visibleText } from "../core/visible.ts";
import type { ValidationResult } from "./index.ts";

/**
 * Every piece of a diagnostic comes from the user's files (a key, a name, a path), so
 * every piece is shown through visibleText: escape sequences and bidi controls cannot act
 * on the reader's terminal, and invisible characters become visible `<U+XXXX>`.
 */
const shown = (value: string | undefined, limit = 400): string => clip(visibleText(value ?? ""), limit);

/** Annotations GitHub shows per kind and step; the rest go to the step summary. */
export const GITHUB_ANNOTATION_LIMIT = 10;
/** GitHub refuses step summaries over 1 MiB; stay below with room for other steps. */
export const STEP_SUMMARY_LIMIT = 900 * 1024;

/** Widest excerpt shown; a longer line is cut around the column. */
export const EXCERPT_WIDTH = 120;

/** Lines of each file, split once: splitting per diagnostic is quadratic in a big file. */
function lineCache(texts: Map<string, string>): (file: string) => string[] | undefined {
  const cache = new Map<string, string[]>();
  return (file) => {
    let lines = cache.get(file);
    if (!lines) {
      const text = texts.get(file);
      if (text === undefined) return undefined;
      lines = text.split("\n");
      cache.set(file, lines);
    }
    return lines;
  };
}

/**
 * The offending line with a caret under the column. Characters are shown as visibleText
 * shows them (a `<U+001B>` is wider than the byte it stands for, so the caret follows);
 * a line wider than EXCERPT_WIDTH is cut around the column, and the cut says so.
 */
function excerpt(d: Diagnostic, linesOf: (file: string) => string[] | undefined): string {
  const raw = linesOf(d.file)?.[d.line - 1]?.replace(/\r$/, "");
  if (raw === undefined) return "";
  const column = Math.max(0, Math.min(d.column - 1, raw.length));
  const from = Math.max(0, column - EXCERPT_WIDTH / 2);
  const to = Math.min(raw.length, from + EXCERPT_WIDTH);
  const before = `${from > 0 ? "…" : ""}${visibleText(raw.slice(from, column)).replace(/\t/g, " ")}`;
  const rest = visibleText(raw.slice(column, to)).replace(/\t/g, " ");
  const cut = from > 0 || to < raw.length ? `       | (line ${d.line} is ${raw.length} characters long; showing ${from + 1}–${to})\n` : "";
  return `  ${String(d.line).padStart(4)} | ${before}${rest}${to < raw.length ? "…" : ""}\n       | ${" ".repeat(before.length)}^\n${cut}`;
}

function summaryLine(result: ValidationResult): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (result.errors === 0 && result.warnings === 0) return `✓ ${plural(result.files, "file")} valid\n`;
  return `${plural(result.errors, "error")}, ${plural(result.warnings, "warning")} in ${plural(result.files, "file")}\n`;
}

/** Human text: one block per problem with the offending line, then a summary. */
export function formatText(result: ValidationResult, texts: Map<string, string> = new Map()): string {
  const linesOf = lineCache(texts);
  const parts: string[] = [];
  for (const d of result.diagnostics) {
    let out = `${shown(d.file)}:${d.line}:${d.column}: ${d.severity}: ${shown(d.message, 1000)} [${shown(d.rule)}]\n`;
    out += excerpt(d, linesOf);
    if (d.pointer) out += `  at ${shown(d.pointer)}\n`;
    if (d.hint) out += `  hint: ${shown(d.hint, 1000)}\n`;
    parts.push(`${out}\n`);
  }
  return parts.join("") + summaryLine(result);
}

/** Stable machine-readable output: every field of every diagnostic. */
export function formatJson(result: ValidationResult): string {
  const { errors, warnings, files, diagnostics } = result;
  return `${JSON.stringify({ version: 1, ok: errors === 0, errors, warnings, files, diagnostics }, null, 2)}\n`;
}

const escapeData = (s: string): string => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/**
 * GitHub Actions workflow commands: the first annotations of each severity (GitHub
 * shows about ten per step) and, for the step summary, a Markdown table of all.
 */
export function formatGithub(result: ValidationResult): { log: string; summary: string } {
  let log = "";
  const counts = { error: 0, warning: 0 };
  for (const d of result.diagnostics) {
    if (counts[d.severity]++ >= GITHUB_ANNOTATION_LIMIT) continue;
    const message = d.hint ? `${shown(d.message, 1000)}\n${shown(d.hint, 1000)}` : shown(d.message, 1000);
    log += `::${d.severity} file=${escapeProperty(shown(d.file))},line=${d.line},col=${d.column},title=${escapeProperty(shown(d.rule))}::${escapeData(message)}\n`;
  }
  const hidden = Math.max(0, counts.error - GITHUB_ANNOTATION_LIMIT) + Math.max(0, counts.warning - GITHUB_ANNOTATION_LIMIT);
  if (hidden > 0) log += `${hidden} more problems are listed in the step summary.\n`;
  log += summaryLine(result);

  // Never a code span: a backtick in a key would close it and let the rest render.
  const cell = (s: string | undefined, limit = 1000): string => markdownText(shown(s, limit));
  let summary = `## steward validate\n\n${summaryLine(result)}\n`;
  if (result.diagnostics.length > 0) {
    summary += "| | Location | Problem | Hint |\n|---|---|---|---|\n";
    let shown = 0;
    for (const d of result.diagnostics) {
      const row = `| ${d.severity === "error" ? "❌" : "⚠️"} | ${cell(`${d.file}:${d.line}:${d.column}`)} | ${cell(d.message)} | ${cell(d.hint)} |\n`;
      if (summary.length + row.length > STEP_SUMMARY_LIMIT) {
        summary += `\n${result.diagnostics.length - shown} more problems were left out to keep the summary under GitHub's size limit; run \`steward validate\` locally for the full list.\n`;
        break;
      }
      summary += row;
      shown++;
    }
  }
  return { log, summary };
}
