/**
 * The Markdown body of a pull request, comment or issue, rendered from one Handlebars
 * template (src/template, Markdown mode) and kept under GitHub's limit of 65,536
 * characters for bodies and comments. Like Renovate, detail goes first: whole
 * sections are left out from the least important (the last) and the last one kept is
 * cut at a line, while the summary is never shortened — a summary too long to fit is
 * an error, since what it says must be read.
 */
import { plainLine } from "../core/text.ts";
import { compileTemplate } from "../template/index.ts";
import { PublishInputError } from "./errors.ts";
import { formatMarker, type Marker } from "./markers.ts";
import type { BodyParts } from "./types.ts";

/** GitHub's limit: a body or comment must be shorter than 65,536 characters. */
export const GITHUB_BODY_LIMIT = 65_535;

// summary and section bodies are Markdown steward wrote (values inside were escaped
// where they were made), so they go in raw. A section's title sits inside HTML, where
// Markdown escapes would show literally: it is one plain line, HTML-escaped.
const TEMPLATE = compileTemplate(
  `{{{marker}}}
{{{summary}}}
{{#each sections}}

<details><summary>{{{titleHtml}}}</summary>

{{{body}}}

</details>
{{/each}}
{{#if omitted}}

_{{omitted}} left out to stay within GitHub's size limit{{#if fullTextPath}}; the whole text is in \`{{fullTextPath}}\`{{/if}}._
{{/if}}
`,
  "markdown",
);

const CUT_NOTE = "\n\n… (cut to fit)";

/**
 * The body with its marker on the first line, at most `limit` characters (UTF-16 code
 * units, which never undercount GitHub's characters).
 * @throws PublishInputError when the marker and summary alone exceed `limit`.
 */
export function renderBody(marker: Marker, parts: BodyParts, limit = GITHUB_BODY_LIMIT): string {
  const render = (sections: ReadonlyArray<{ title: string; body: string }>, omitted: number): string =>
    TEMPLATE({
      marker: formatMarker(marker),
      summary: parts.summary.trimEnd(),
      sections: sections.map((s) => ({ titleHtml: htmlText(s.title), body: s.body })),
      omitted: omitted === 0 ? "" : omitted === 1 ? "1 section was" : `${omitted} sections were`,
      fullTextPath: parts.fullTextPath ?? "",
    });
  const whole = render(parts.details, 0);
  if (whole.length <= limit) return whole;
  const bare = render([], parts.details.length);
  if (bare.length > limit) {
    throw new PublishInputError(`the summary of this ${marker.kind} is ${bare.length} characters with its marker; GitHub allows ${limit}`, "shorten the summary: it is never cut, so move detail into sections");
  }
  // The most sections that fit whole, then as much of the next as fits, cut at a line.
  let kept = 0;
  while (kept < parts.details.length && render(parts.details.slice(0, kept + 1), parts.details.length - kept - 1).length <= limit) kept++;
  const fitted = parts.details.slice(0, kept);
  const next = parts.details[kept]!;
  const room = limit - render([...fitted, { title: next.title, body: CUT_NOTE }], parts.details.length - kept - 1).length;
  if (room > 200) {
    const cut = cutAtLine(next.body, room - CUT_NOTE.length - 8);
    if (cut !== "") {
      const out = render([...fitted, { title: next.title, body: closeFences(cut) + CUT_NOTE }], parts.details.length - kept - 1);
      if (out.length <= limit) return out;
    }
  }
  return render(fitted, parts.details.length - kept);
}

/** The longest prefix of whole lines within `max` characters. */
function cutAtLine(text: string, max: number): string {
  if (max <= 0) return "";
  const prefix = text.slice(0, max);
  const end = prefix.lastIndexOf("\n");
  return end <= 0 ? "" : prefix.slice(0, end);
}

/** Closes a code fence a cut left open, so the rest of the body is not shown as code. */
function closeFences(text: string): string {
  const fences = text.split("\n").filter((line) => /^\s*```/.test(line)).length;
  return fences % 2 === 1 ? `${text}\n\`\`\`` : text;
}

/** One line of text for HTML: controls and format characters removed, `& < > " '` escaped, `@` kept from mentioning. */
function htmlText(value: string): string {
  const neutral = plainLine(value).replace(/@(?=[A-Za-z0-9_-])/g, "@\u2060").replace(/#(?=\d)/g, "#\u2060");
  return neutral.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
