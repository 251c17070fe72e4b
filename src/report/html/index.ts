/**
 * `steward report … --format html`: one self-contained HTML page from a report's
 * Markdown, with the same Mermaid charts GitHub draws, readable offline and safe to
 * open whatever the report holds.
 *
 * ```ts
 * const page = renderHtmlReport(markdown, { title: "Fleet status 2026-W49" });
 * await writeFileAtomic("status.html", page);
 * ```
 *
 * - **Self-contained**: the stylesheet (style.ts) and Mermaid's browser bundle
 *   (mermaid.ts, ~3.5 MB) are inlined; a report without charts carries no script at all.
 * - **Fetches nothing**: a Content-Security-Policy `<meta>` (W3C CSP Level 3) sets
 *   `default-src 'none'`, so no script, style sheet, font, image, frame or connection
 *   may come from anywhere; scripts run only when their sha256 matches the two the page
 *   inlines; images only from `data:`. Links a report holds stay links (followed only
 *   when clicked, without a referrer).
 * - **Host strings stay text**: raw HTML in the Markdown is escaped, link targets are
 *   checked, and chart sources reach Mermaid as text, drawn with
 *   `securityLevel: 'strict'` (markdown.ts, mermaid.ts).
 */
import { plainLine } from "../../core/text.ts";
import { escapeHtml, markdownToHtml } from "./markdown.ts";
import { DRAW_CHARTS, inlineScript, mermaidBundle } from "./mermaid.ts";
import { REPORT_CSS } from "./style.ts";

export { escapeHtml, markdownToHtml, safeLinkTarget } from "./markdown.ts";

export interface HtmlReportOptions {
  /** The page's `<title>`: one line, shown as text (controls and format characters removed). */
  title: string;
}

/**
 * The Content-Security-Policy of a report page. `scriptHashes` are CSP hash-sources
 * (`'sha256-…'`); none means no script may run. `style-src 'unsafe-inline'` is needed
 * because Mermaid writes each chart's styles into its SVG; styles cannot fetch anything
 * under `default-src 'none'` (no fonts, no images but `data:`).
 */
export function reportCsp(scriptHashes: readonly string[]): string {
  return [
    "default-src 'none'",
    `script-src ${scriptHashes.length === 0 ? "'none'" : scriptHashes.join(" ")}`,
    "style-src 'unsafe-inline'",
    "img-src data:",
    "connect-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

/**
 * The report as one HTML document (UTF-8 text, `<!DOCTYPE html>` first). Never throws
 * on any Markdown; charts, when there are any, are drawn when the page is opened, and
 * `<body data-charts>` says when they are (`done`, or `failed: N` with each failed
 * chart's source left on the page and a note).
 * @throws EnvironmentError when the Markdown has a chart and Mermaid's browser bundle
 * cannot be read from node_modules (mermaid.ts).
 */
export function renderHtmlReport(markdown: string, opts: HtmlReportOptions): string {
  const { html, stats } = markdownToHtml(markdown);
  const scripts = stats.charts === 0 ? [] : [mermaidBundle(), inlineScript(DRAW_CHARTS)];
  const title = escapeHtml(plainLine(opts.title).trim() || "steward report");
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(reportCsp(scripts.map((s) => s.hashSource)))}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="steward">',
    `<title>${title}</title>`,
    `<style>${REPORT_CSS}</style>`,
    "</head>",
    `<body data-charts="${stats.charts === 0 ? "done" : "pending"}">`,
    "<main>",
    html,
    "</main>",
    ...scripts.map((s) => `<script>${s.text}</script>`),
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
