/**
 * Text from hosts and YAML made safe for the places humans read it. Hosts are not
 * trusted: a package name, an OS name or an error message may carry terminal escape
 * sequences (clear the screen, set the window title, rewrite earlier lines with `\r`),
 * bidirectional controls that make text read differently than it is (CVE-2021-42574,
 * "Trojan Source"), or Markdown that forges a heading or pings a team on GitHub.
 *
 * - terminalText / terminalCell: for anything printed to a terminal (tables, errors).
 * - markdownText: for every value placed in Markdown that GitHub renders.
 *
 * What is removed, by ECMA-48 (ISO 6429) and Unicode UAX #9:
 * - escape sequences, whole: CSI (`ESC [` or U+009B, parameters, intermediates, a final
 *   byte), string controls OSC/DCS/SOS/PM/APC (`ESC ]`, `ESC P`, `ESC X`, `ESC ^`,
 *   `ESC _` or U+009D, U+0090, U+0098, U+009E, U+009F) up to BEL or ST (`ESC \`,
 *   U+009C) — to the end of the text when unterminated, as a terminal would swallow it —
 *   and two-character `ESC` sequences (`ESC c`, `ESC 7`, `ESC ( B`);
 * - every other C0 control except tab and line feed, DEL, and every C1 control;
 * - bidi controls: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069.
 * A lone `\r`, `\r\n`, U+0085, U+2028 and U+2029 are line breaks: they become `\n`, so
 * a `\r` can never return to the start of a line and overwrite what was printed.
 */

/** String-control introducers after ESC (OSC, DCS, SOS, PM, APC), and their C1 forms. */
const STRING_INTRODUCERS = new Set(["]", "P", "X", "^", "_"]);
const C1_STRING = new Set([0x9d, 0x90, 0x98, 0x9e, 0x9f]);
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
const LINE_BREAKS = /\r\n|[\r\u0085\u2028\u2029]/g;

/** End (exclusive) of a string control's body starting at `from`: after BEL or ST, or the end. */
function endOfString(text: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x07 || c === 0x9c) return j + 1;
    if (c === 0x1b && text[j + 1] === "\\") return j + 2;
  }
  return text.length;
}

/** End (exclusive) of a CSI sequence whose parameters start at `from`. */
function endOfCsi(text: string, from: number): number {
  let j = from;
  while (j < text.length && /[\x30-\x3f]/.test(text[j]!)) j++;
  while (j < text.length && /[\x20-\x2f]/.test(text[j]!)) j++;
  return j < text.length && /[\x40-\x7e]/.test(text[j]!) ? j + 1 : j;
}

/** Removes escape sequences whole, then the remaining C0/C1 controls (tab and `\n` kept). */
function stripControls(text: string): string {
  // Fast path: most text has no control character at all.
  if (!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(text)) return text;
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x1b) {
      const next = text[i + 1];
      if (next === "[") i = endOfCsi(text, i + 2);
      else if (next !== undefined && STRING_INTRODUCERS.has(next)) i = endOfString(text, i + 2);
      else {
        // ESC, intermediates (0x20–0x2F), one final byte (0x30–0x7E): `ESC c`, `ESC ( B`.
        let j = i + 1;
        while (j < text.length && /[\x20-\x2f]/.test(text[j]!)) j++;
        i = j < text.length && /[\x30-\x7e]/.test(text[j]!) ? j + 1 : j;
      }
    } else if (c === 0x9b) {
      i = endOfCsi(text, i + 1);
    } else if (C1_STRING.has(c)) {
      i = endOfString(text, i + 1);
    } else if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) {
      i++;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

/** Any value as text: undefined and null are empty. */
const asText = (value: unknown): string => (value === undefined || value === null ? "" : String(value));

/**
 * Text safe to print to a terminal, lines kept: line breaks normalised to `\n` (a lone
 * `\r` included), escape sequences, other controls and bidi controls removed.
 */
export function terminalText(value: unknown): string {
  return stripControls(asText(value).replace(LINE_BREAKS, "\n")).replace(BIDI, "");
}

/** terminalText on one line, for a table cell: line breaks and tabs become spaces. */
export function terminalCell(value: unknown): string {
  return terminalText(value).replace(/[\n\t]/g, " ");
}

/** The first line of a text, made safe for a terminal (an error in a table row). */
export function terminalFirstLine(value: unknown): string {
  return terminalText(value).split("\n")[0] ?? "";
}

/** Unicode format characters (Cf): the bidi controls above, zero-width characters, U+FEFF, soft hyphens. */
const FORMAT = /\p{Cf}/gu;

/**
 * A value as one plain line for a data file a human may read (a plan's skip detail):
 * escape sequences and other controls removed, every format character (Unicode Cf,
 * the bidi controls included) removed, line breaks and tabs become spaces. Text from
 * a host or a cache file then cannot start a line of its own or read backwards.
 */
export function plainLine(value: unknown): string {
  return stripControls(asText(value).replace(LINE_BREAKS, " ")).replace(FORMAT, "").replace(/[\n\t]/g, " ");
}

/** U+2060 WORD JOINER: invisible, and it breaks GitHub's autolinking of what follows. */
const JOINER = "\u2060";

/**
 * A value as inline Markdown text (GitHub-flavoured), rendered literally wherever it is
 * placed in a line, including table cells and headings:
 * - controls and bidi controls removed, every line break a space (a value never starts
 *   a new line, so it cannot start a heading, a list or a table row);
 * - `\ ` `` ` `` `*` `_` `[` `]` `|` `<` `>` `~` `&` `!` `$` escaped with a backslash
 *   (emphasis, code, links, images, table cells, HTML and entities, strikethrough,
 *   math), and `(` `)` after a `]`;
 * - at the start of the value, line-start syntax is escaped too, in case a template
 *   puts the value first on a line: `#` (heading), `-` `+` `=` (lists, setext
 *   underlines, thematic breaks), `>` (quote) and `1.`/`1)` (ordered list);
 * - GitHub references are neutralised with U+2060 WORD JOINER, which GitHub's
 *   autolinker does not cross while the text reads the same: `@name` and
 *   `@org/team` mentions (they notify people), `#123`, `owner/repo#123` and `GH-123`
 *   issue references. A backslash does not stop these: GitHub links references after
 *   Markdown is rendered, in the text that escaping produced;
 * - autolinks likewise: GFM's autolink extension (GitHub Flavored Markdown spec, §6.9)
 *   links `www.` and `http://`, `https://`, `ftp://` in plain text, so a group or host
 *   name `www.evil.example` would reach the reviewer as a live link; a word joiner after
 *   `www` and after the scheme breaks the pattern.
 */
export function markdownText(value: unknown): string {
  let text = stripControls(asText(value).replace(LINE_BREAKS, " ")).replace(BIDI, "").replace(/[\n\t]/g, " ");
  text = text.replace(/[\\`*_[\]|<>~&!$]/g, "\\$&").replace(/(?<=\\\])[()]/g, "\\$&");
  // An ordered-list marker needs a space or the end after it, so versions like 1.2.3 stay as they are.
  text = text.replace(/^(#|[-+=]|\d{1,9}(?=[.)](\s|$)))/, (m) => (/^\d/.test(m) ? `${m}\\` : `\\${m}`));
  text = text.replace(/(?<![A-Za-z0-9])(www)(?=\.)/gi, `$1${JOINER}`).replace(/(?<![A-Za-z0-9])(https?|ftp)(?=:\/\/)/gi, `$1${JOINER}`);
  return text.replace(/@(?=[A-Za-z0-9_-])/g, `@${JOINER}`).replace(/#(?=\d)/g, `#${JOINER}`).replace(/(GH)-(?=\d)/gi, `$1-${JOINER}`);
}

/** C0 and C1 controls, DEL, line and paragraph separators, and Unicode format characters (Cf, bidi controls among them). */
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\p{Cf}]/u;
const UNPRINTABLE_ALL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\p{Cf}]/gu;

/** True when a name holds a character {@link quotedName} would escape: a file name that can forge output or hide what it is. */
export function hasUnprintable(value: string): boolean {
  return UNPRINTABLE.test(value);
}

/**
 * A name the user gave (a path, a run id) as an error message quotes it: as it is when
 * every character prints, else JSON-quoted with every control, line separator and format
 * character escaped (`"a\nb.md"`, `"x\u202eb"`) — JSON.stringify's form, with the C1,
 * bidi and other format characters it leaves raw escaped too — so a name can neither
 * start a line of its own nor read differently than it is, and the reader sees exactly
 * which character is wrong. The one quoting every command uses for such names.
 */
export function quotedName(value: string): string {
  return UNPRINTABLE.test(value) ? jsonQuoted(value) : value;
}

/** A name always in double quotes, escaped as {@link quotedName} escapes it: for a message that quotes every name it gives. */
export function jsonQuoted(value: string): string {
  return JSON.stringify(value).replace(UNPRINTABLE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
