import { characterName, codePoint } from "../core/visible.ts";
import type { YamlHint } from "./yaml-hints.ts";

/**
 * Characters that look like YAML syntax, or like nothing, where YAML needs the real
 * thing. They arrive by copying from web pages, chat and word processors, and the
 * parser's own words for them ("Implicit keys need to be on a single line", "unknown
 * key `na​me`") do not show what is wrong. Each finding names the character and its
 * place. Text inside values (quoted or plain) and comments is left alone: an accent,
 * a CJK word or a no-break space in a description is the author's choice.
 *
 * - in indentation: anything but spaces (U+00A0 NO-BREAK SPACE, U+3000 IDEOGRAPHIC
 *   SPACE, U+2007, U+202F);
 * - anywhere outside quotes: U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR,
 *   which some parsers take for a line break and others for a space;
 * - in a key: zero-width and invisible characters (U+200B–U+200D, U+2060, U+FEFF,
 *   U+00AD), bidi controls, and Cyrillic or Greek letters among Latin ones (`nаme` with
 *   U+0430 is a homoglyph of `name`);
 * - U+FF1A FULLWIDTH COLON where a key's ':' belongs.
 */

const ODD_SPACE = /[\u00a0\u3000\u2007\u202f]/;
const SEPARATORS = /[\u2028\u2029]/;
const INVISIBLE_IN_KEY = /[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;
const HOMOGLYPH = /[\u0370-\u03ff\u0400-\u04ff]/;

/** Why a character of each kind misleads, for the message. */
function why(c: string): string {
  if (c === "\uff1a") return "it looks like ':', but YAML needs an ASCII ':' after a key";
  if (ODD_SPACE.test(c)) return "it looks like a space, but YAML indents only with ASCII spaces";
  if (SEPARATORS.test(c)) return "an invisible line break that YAML parsers read differently";
  if (HOMOGLYPH.test(c)) return "it looks like a Latin letter, so the key is not the one it seems";
  return "it is invisible, so the key is not the one it seems";
}

function finding(line: number, column: number, c: string, where: string): YamlHint {
  return {
    line,
    column,
    rule: "yaml/invisible-character",
    message: `${characterName(c)} ${where} at ${line}:${column}: ${why(c)}`,
    hint: c === "\uff1a" ? "retype it as ':' followed by a space" : `delete it and retype ${where.replace(/^in /, "")} (such characters come from copying out of web pages and chat)`,
  };
}

/** The part of a line outside quotes and before a comment: where YAML syntax is. */
function unquoted(lineText: string): string {
  let out = "";
  let quote: string | undefined;
  for (let i = 0; i < lineText.length; i++) {
    const c = lineText[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      out += " ";
    } else if (c === "'" || c === '"') {
      quote = c;
      out += " ";
    } else if (c === "#" && (i === 0 || /\s/.test(lineText[i - 1]!))) {
      break;
    } else {
      out += c;
    }
  }
  return out;
}

/** Every invisible or confusable character in YAML syntax positions, one finding per line. */
export function invisibleCharacters(text: string): YamlHint[] {
  if (/^[\x00-\x7f]*$/.test(text)) return [];
  const out: YamlHint[] = [];
  const lines = text.split("\n");
  let block = -1;
  for (let l = 0; l < lines.length; l++) {
    const lineText = lines[l]!;
    const indent = /^[ \t\u00a0\u3000\u2007\u202f]*/.exec(lineText)![0];
    // Lines of a block scalar (`|`, `>`) are text: skip them while they are indented deeper.
    if (block >= 0 && (lineText.trim() === "" || indent.replace(ODD_SPACE, " ").length > block)) continue;
    block = -1;
    const odd = ODD_SPACE.exec(indent);
    if (odd) {
      out.push(finding(l + 1, odd.index + 1, odd[0], "in the indentation"));
      continue;
    }
    const syntax = unquoted(lineText);
    const separator = SEPARATORS.exec(syntax);
    if (separator) {
      out.push(finding(l + 1, separator.index + 1, separator[0], "in the line"));
      continue;
    }
    const key = /^(\s*(?:-\s+)*)([^\s#][^:\uff1a]*?)([:\uff1a])(\s|$)/.exec(syntax);
    if (key) {
      const start = key[1]!.length;
      const name = key[2]!;
      const hidden = INVISIBLE_IN_KEY.exec(name) ?? (/[A-Za-z]/.test(name) ? HOMOGLYPH.exec(name) : null);
      if (hidden) {
        out.push(finding(l + 1, start + hidden.index + 1, hidden[0], `in the key \`${name.replace(INVISIBLE_IN_KEY, (c) => `<${codePoint(c)}>`)}\``));
        continue;
      }
      if (key[3] === "\uff1a") {
        out.push(finding(l + 1, start + name.length + 1, "\uff1a", "after the key"));
        continue;
      }
    }
    if (/[|>][-+0-9]*\s*$/.test(syntax)) block = indent.length;
  }
  return out;
}
