/**
 * Report Markdown to HTML with `marked` (GitHub-flavoured: tables, strikethrough,
 * autolinks), as a reader can trust it whatever the report holds. A report carries
 * strings hosts provided (package names, messages), so nothing in the Markdown becomes
 * markup the page did not intend:
 * - raw HTML in the Markdown (a block or an inline tag) is shown as text, escaped;
 * - a link keeps its anchor only for a relative target, a `#fragment`, `http:`,
 *   `https:` or `mailto:` (checked after removing what a browser's URL parser ignores:
 *   tabs, newlines, leading controls and spaces; WHATWG URL, "basic URL parser"), and
 *   opens with no referrer; a target holding a character reference (`&#106;avascript:`) or any other scheme (`javascript:`, `data:`, `vbscript:`…) is
 *   shown as its text;
 * - an image is never fetched: a `data:image/png|jpeg|gif|webp` image is shown, any other
 *   is its alt text;
 * - a ```` ```mermaid ```` block becomes a chart figure whose source is escaped text
 *   (mermaid.ts draws it); any other code block stays code.
 */
import { Marked, type Tokens } from "marked";

/** `& < > " '` as character references: text that is safe in element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A URL the way a browser reads it: leading/trailing C0 controls and spaces trimmed, tabs and newlines removed. */
function browserUrl(href: string): string {
  return href.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "").replace(/[\t\n\r]/g, "");
}

/** True for a link target the page may keep: relative, a fragment, or http(s)/mailto. */
export function safeLinkTarget(href: string): boolean {
  const url = browserUrl(href);
  // A character reference would read as one to a CommonMark renderer (`&#106;avascript:`): refuse it rather than guess.
  if (/[\x00-\x1f\x7f]/.test(url) || /&(#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);/i.test(url)) return false;
  const scheme = /^([^:/?#]*):/.exec(url);
  if (scheme === null) return true; // relative: no scheme before the first / ? or #
  return /^(https?|mailto)$/i.test(scheme[1]!);
}

const DATA_IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/;

/** Counts what the Markdown held, for the page's own checks and tests. */
export interface MarkdownStats {
  charts: number;
}

/**
 * The HTML of a report's Markdown (no `<html>` wrapper), and how many charts it holds.
 * Never throws on any input string.
 */
export function markdownToHtml(markdown: string): { html: string; stats: MarkdownStats } {
  const stats: MarkdownStats = { charts: 0 };
  const marked = new Marked({
    gfm: true,
    async: false,
    renderer: {
      html(token: Tokens.HTML | Tokens.Tag): string {
        const text = escapeHtml(token.text);
        return "block" in token && token.block ? `<p class="raw">${text}</p>\n` : text;
      },
      link(token: Tokens.Link): string {
        const text = this.parser.parseInline(token.tokens);
        if (!safeLinkTarget(token.href)) return `<span class="refused-link">${text}</span>`;
        const title = token.title ? ` title="${escapeHtml(token.title)}"` : "";
        return `<a href="${escapeHtml(browserUrl(token.href))}"${title} rel="noopener noreferrer">${text}</a>`;
      },
      image(token: Tokens.Image): string {
        const alt = escapeHtml(token.text);
        if (!DATA_IMAGE.test(token.href)) return `<span class="image-alt">[image: ${alt}]</span>`;
        return `<img src="${escapeHtml(token.href)}" alt="${alt}">`;
      },
      code(token: Tokens.Code): string {
        const lang = (token.lang ?? "").trim().split(/\s+/)[0] ?? "";
        if (lang === "mermaid") {
          const n = stats.charts++;
          return `<figure class="chart" id="figure-${n}"><pre class="mermaid-source">${escapeHtml(token.text)}</pre></figure>\n`;
        }
        const cls = lang === "" ? "" : ` class="language-${escapeHtml(lang)}"`;
        return `<pre><code${cls}>${escapeHtml(token.text)}</code></pre>\n`;
      },
      table(token: Tokens.Table): string {
        const align = (a: Tokens.TableCell["align"]): string => (a === null ? "" : ` class="align-${a}"`);
        const cell = (c: Tokens.TableCell, tag: "th" | "td"): string => `<${tag}${align(c.align)}>${this.parser.parseInline(c.tokens)}</${tag}>`;
        const head = `<tr>${token.header.map((c) => cell(c, "th")).join("")}</tr>`;
        const rows = token.rows.map((r) => `<tr>${r.map((c) => cell(c, "td")).join("")}</tr>`).join("\n");
        return `<div class="table"><table>\n<thead>${head}</thead>\n${rows === "" ? "" : `<tbody>\n${rows}\n</tbody>\n`}</table></div>\n`;
      },
    },
  });
  const html = marked.parse(markdown, { async: false });
  return { html, stats };
}
