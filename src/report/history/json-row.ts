/**
 * JSON (RFC 8259) checked from its bytes without building it: the scanners a reader of
 * snapshot rows splits a row with (./row-bytes.ts, splitWriterRow), so that it can
 * decode only the values it uses and tell a value unchanged since the host's previous
 * line by its bytes, where JSON.parse would build every array, string and number of
 * every row (365,000 rows in a year of a thousand hosts) only for most to be dropped.
 *
 * The scanners are conservative: every value they accept JSON.parse accepts too
 * (test/report/json-row.test.ts checks this on random and mutated text), but they
 * decline nesting deeper than {@link MAX_DEPTH}: the caller then parses the line with
 * JSON.parse and judges it as before. Bytes at or above 0x80 in a string are taken as
 * they are, as JSON.parse of the line decoded as UTF-8 takes them (an invalid sequence
 * becomes U+FFFD there, never an error). Also here: {@link firstDuplicateKey}.
 */

/** Deepest nesting of arrays and objects {@link scanContainer} accepts, the outermost counted (a snapshot row nests 3 deep). */
export const MAX_DEPTH = 32;
/** Most top-level values a {@link RowSlices} records (a snapshot row has 11). */
export const MAX_VALUES = 31;

/** Where each top-level value of a split line lies in its buffer, and which are plain strings. */
export class RowSlices {
  /** Top-level values found. */
  count = 0;
  /** Byte offset of value i's first byte (its `"`, `[`, digit…). */
  readonly starts = new Int32Array(MAX_VALUES);
  /** Byte offset just past value i's last byte. */
  readonly ends = new Int32Array(MAX_VALUES);
  /**
   * Bit i set: value i is a string of printable ASCII (0x20–0x7e) with no escape, so the
   * bytes between its quotes are its text, read as Latin-1 exactly.
   */
  plain = 0;

  /** True when value i is a plain string (see {@link RowSlices.plain}). */
  isPlain(i: number): boolean {
    return ((this.plain >>> i) & 1) === 1;
  }
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const isSpace = (c: number): boolean => c === SPACE || c === TAB || c === LF || c === CR;
/** The first offset from `i` that is not JSON white space (or `end`). */
function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(b[i]!)) i++;
  return i;
}
const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;
const isHex = (c: number): boolean => (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

// Set by scanString: whether the string just scanned was plain (see RowSlices.plain).
let lastPlain = false;

/** Whether the string {@link scanString} scanned last was plain (see RowSlices.plain). */
export function lastStringPlain(): boolean {
  return lastPlain;
}

/** The offset past the string starting at `i` (its opening quote), or -1 when it is not a JSON string. */
export function scanString(b: Uint8Array, i: number, end: number): number {
  let plain = true;
  i++;
  while (i < end) {
    const c = b[i]!;
    if (c === QUOTE) {
      lastPlain = plain;
      return i + 1;
    }
    if (c === BACKSLASH) {
      plain = false;
      const e = b[i + 1];
      if (e === 0x75) {
        // \uXXXX
        if (i + 5 >= end || !isHex(b[i + 2]!) || !isHex(b[i + 3]!) || !isHex(b[i + 4]!) || !isHex(b[i + 5]!)) return -1;
        i += 6;
        continue;
      }
      // \" \\ \/ \b \f \n \r \t
      if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
      i += 2;
      continue;
    }
    if (c < SPACE) return -1;
    if (c > 0x7e) plain = false;
    i++;
  }
  return -1;
}

/** The offset past the number starting at `i`, or -1 when it is not a JSON number (RFC 8259 §6). */
function scanNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === MINUS) i++;
  if (i >= end) return -1;
  if (b[i] === ZERO) i++;
  else if (isDigit(b[i]!)) while (i < end && isDigit(b[i]!)) i++;
  else return -1;
  if (i < end && b[i] === DOT) {
    i++;
    if (i >= end || !isDigit(b[i]!)) return -1;
    while (i < end && isDigit(b[i]!)) i++;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === PLUS || b[i] === MINUS)) i++;
    if (i >= end || !isDigit(b[i]!)) return -1;
    while (i < end && isDigit(b[i]!)) i++;
  }
  return i;
}

/** The offset past the literal `word` (true, false, null: given as bytes) at `i`, or -1. */
export function scanLiteral(b: Uint8Array, i: number, end: number, word: readonly number[]): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

/** The bytes of the literals true and false. */
export const TRUE = [0x74, 0x72, 0x75, 0x65];
export const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** The offset past a scalar (string, number, literal) at `i`, or -1; sets lastPlain for a string. */
function scanScalar(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  lastPlain = false;
  if (c === QUOTE) return scanString(b, i, end);
  if (c === MINUS || isDigit(c)) return scanNumber(b, i, end);
  if (c === 0x74) return scanLiteral(b, i, end, TRUE);
  if (c === 0x66) return scanLiteral(b, i, end, FALSE);
  if (c === 0x6e) return scanLiteral(b, i, end, NULL);
  return -1;
}

// The open containers of the value being scanned: true for an object.
const stack: boolean[] = [];

/**
 * The offset past the array or object starting at `i`, scanned without recursion (an
 * explicit stack of at most {@link MAX_DEPTH}), or -1 when it is not JSON or nests deeper.
 */
export function scanContainer(b: Uint8Array, i: number, end: number): number {
  stack.length = 0;
  stack.push(b[i] === OPEN_OBJECT);
  i++;
  // After an opening bracket: a value (or a key) or the closing bracket may come.
  let first = true;
  for (;;) {
    i = skipSpace(b, i, end);
    if (i >= end) return -1;
    const inObject = stack[stack.length - 1]!;
    let c = b[i]!;
    if (first && (c === (inObject ? CLOSE_OBJECT : CLOSE_ARRAY))) {
      // An empty container: fall through to its closing below.
    } else {
      if (inObject) {
        if (c !== QUOTE) return -1;
        i = scanString(b, i, end);
        if (i < 0) return -1;
        i = skipSpace(b, i, end);
        if (i >= end || b[i] !== COLON) return -1;
        i++;
        i = skipSpace(b, i, end);
        if (i >= end) return -1;
        c = b[i]!;
      }
      if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        if (stack.length >= MAX_DEPTH) return -1;
        stack.push(c === OPEN_OBJECT);
        i++;
        first = true;
        continue;
      }
      i = scanScalar(b, i, end);
      if (i < 0) return -1;
      i = skipSpace(b, i, end);
      if (i >= end) return -1;
      c = b[i]!;
      if (c === COMMA) {
        i++;
        first = false;
        continue;
      }
    }
    // c must close the innermost container; then the one around it goes on.
    for (;;) {
      if (c !== (stack[stack.length - 1] ? CLOSE_OBJECT : CLOSE_ARRAY)) return -1;
      stack.pop();
      i++;
      if (stack.length === 0) return i;
      i = skipSpace(b, i, end);
      if (i >= end) return -1;
      c = b[i]!;
      if (c === COMMA) {
        i++;
        first = false;
        break;
      }
    }
  }
}

/** Deepest nesting {@link firstDuplicateKey} looks into (a format-1 line nests 3 deep). */
const MAX_KEY_DEPTH = 64;

/**
 * The first member name that appears twice in one object anywhere in the JSON text
 * `b[start, end)`, or null. JSON.parse keeps the last of two members of one name
 * silently (RFC 8259 §4 leaves it to the reader), so a hand-edited line could show a
 * reviewer one value and a report another. For lines JSON.parse accepted; objects
 * nested deeper than 64 levels are not looked into.
 */
export function firstDuplicateKey(b: Uint8Array, start: number, end: number): string | null {
  duplicate = null;
  walkValue(b, skipSpace(b, start, end), end, 0);
  return duplicate;
}

let duplicate: string | null = null;

/** The offset past the value at `i`, noting in `duplicate` the first member name repeated in one object; -1 when it is not JSON. */
function walkValue(b: Uint8Array, i: number, end: number, depth: number): number {
  const c = b[i];
  if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) return scanScalar(b, i, end);
  if (depth >= MAX_KEY_DEPTH) return scanContainer(b, i, end);
  const object = c === OPEN_OBJECT;
  const close = object ? CLOSE_OBJECT : CLOSE_ARRAY;
  const names = object ? new Set<string>() : undefined;
  i = skipSpace(b, i + 1, end);
  if (b[i] === close) return i + 1;
  for (;;) {
    if (names !== undefined) {
      const keyStart = i;
      i = scanString(b, i, end);
      if (i < 0) return -1;
      const name = lastPlain ? Buffer.from(b.buffer, b.byteOffset + keyStart + 1, i - keyStart - 2).toString("latin1") : (JSON.parse(Buffer.from(b.buffer, b.byteOffset + keyStart, i - keyStart).toString("utf8")) as string);
      if (names.has(name)) duplicate ??= name;
      names.add(name);
      i = skipSpace(b, i, end);
      if (b[i] !== COLON) return -1;
      i = skipSpace(b, i + 1, end);
    }
    i = walkValue(b, i, end, depth + 1);
    if (i < 0) return -1;
    i = skipSpace(b, i, end);
    if (b[i] === close) return i + 1;
    if (b[i] !== COMMA) return -1;
    i = skipSpace(b, i + 1, end);
  }
}
