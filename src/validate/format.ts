import type { Diagnostic } from "../core/diagnostic.ts";
import type { ValidationResult } from "./index.ts";

/** Annotations GitHub shows per kind and step; the rest go to the step summary. */
export const GITHUB_ANNOTATION_LIMIT = 10;
/** GitHub refuses step summaries over 1 MiB; stay below with room for other steps. */
export const STEP_SUMMARY_LIMIT = 900 * 1024;

function excerpt(d: Diagnostic, texts: Map<string, string>): string {
  const text = texts.get(d.file);
  if (!text) return "";
  const line = text.split("\n", d.line)[d.line - 1];
  if (line === undefined) return "";
  const shown = line.replace(/\t/g, " ");
  return `  ${String(d.line).padStart(4)} | ${shown}\n       | ${" ".repeat(Math.max(0, d.column - 1))}^\n`;
}

function summaryLine(result: ValidationResult): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (result.errors === 0 && result.warnings === 0) return `✓ ${plural(result.files, "file")} valid\n`;
  return `${plural(result.errors, "error")}, ${plural(result.warnings, "warning")} in ${plural(result.files, "file")}\n`;
}

/** Human text: one block per problem with the offending line, then a summary. */
export function formatText(result: ValidationResult, texts: Map<string, string> = new Map()): string {
  let out = "";
  for (const d of result.diagnostics) {
    out += `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.rule}]\n`;
    out += excerpt(d, texts);
    if (d.pointer) out += `  at ${d.pointer}\n`;
    if (d.hint) out += `  hint: ${d.hint}\n`;
    out += "\n";
  }
  return out + summaryLine(result);
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
    const message = d.hint ? `${d.message}\n${d.hint}` : d.message;
    log += `::${d.severity} file=${escapeProperty(d.file)},line=${d.line},col=${d.column},title=${escapeProperty(d.rule)}::${escapeData(message)}\n`;
  }
  const hidden = Math.max(0, counts.error - GITHUB_ANNOTATION_LIMIT) + Math.max(0, counts.warning - GITHUB_ANNOTATION_LIMIT);
  if (hidden > 0) log += `${hidden} more problems are listed in the step summary.\n`;
  log += summaryLine(result);

  const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  let summary = `## steward validate\n\n${summaryLine(result)}\n`;
  if (result.diagnostics.length > 0) {
    summary += "| | Location | Problem | Hint |\n|---|---|---|---|\n";
    let shown = 0;
    for (const d of result.diagnostics) {
      const row = `| ${d.severity === "error" ? "❌" : "⚠️"} | \`${cell(d.file)}:${d.line}:${d.column}\` | ${cell(d.message)} | ${cell(d.hint ?? "")} |\n`;
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
