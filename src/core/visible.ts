/**
 * Text from YAML shown so that a reader sees exactly what is in the file. Where
 * src/core/text.ts removes what a terminal would act on, validation output must show
 * it instead, because the character *is* the problem the reader has to find: an escape
 * sequence in a key, a right-to-left override in a name, a zero-width space that makes
 * `na​me` differ from `name`. Each such character becomes its code point, `<U+001B>`.
 *
 * Shown as code points (ECMA-48, Unicode UAX #9 and the Default_Ignorable set):
 * C0 controls except tab, DEL, C1 controls, bidi controls (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069), line and paragraph separators (U+2028, U+2029),
 * zero-width and invisible characters (U+00AD, U+180E, U+200B–U+200D, U+2060–U+2064,
 * U+FEFF) and no-break spaces (U+00A0, U+2007, U+202F), which look like spaces but are
 * not to YAML.
 */
const INVISIBLE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u00a0\u00ad\u061c\u180e\u2007\u200b-\u200f\u2028-\u202f\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** The code point of one character as `U+XXXX`. */
export function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Unicode names of the characters people paste by accident, for messages that name them. */
const NAMES: Record<string, string> = {
  "\u00a0": "NO-BREAK SPACE",
  "\u00ad": "SOFT HYPHEN",
  "\u200b": "ZERO WIDTH SPACE",
  "\u200c": "ZERO WIDTH NON-JOINER",
  "\u200d": "ZERO WIDTH JOINER",
  "\u200e": "LEFT-TO-RIGHT MARK",
  "\u200f": "RIGHT-TO-LEFT MARK",
  "\u2028": "LINE SEPARATOR",
  "\u2029": "PARAGRAPH SEPARATOR",
  "\u202e": "RIGHT-TO-LEFT OVERRIDE",
  "\u2060": "WORD JOINER",
  "\ufeff": "ZERO WIDTH NO-BREAK SPACE (BOM)",
  "\uff1a": "FULLWIDTH COLON",
  "\u3000": "IDEOGRAPHIC SPACE",
};

/** `U+200B ZERO WIDTH SPACE`, or the code point alone when the name is not listed. */
export function characterName(c: string): string {
  const name = NAMES[c];
  return name ? `${codePoint(c)} ${name}` : codePoint(c);
}

/** The text with every control, bidi and invisible character written as `<U+XXXX>`; tabs kept. */
export function visibleText(value: unknown): string {
  const text = value === undefined || value === null ? "" : String(value);
  return text.replace(INVISIBLE, (c) => `<${codePoint(c)}>`);
}

/** Longest value quoted in a message; a longer one is cut, saying how much was left out. */
export const QUOTE_LIMIT = 80;

/**
 * At most `limit` characters of a value quoted in a message, saying how many were left
 * out: a 500 KB key must not become a 500 KB message.
 */
export function clip(text: string, limit = QUOTE_LIMIT): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}
