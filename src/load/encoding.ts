/**
 * Repository files are UTF-8 (YAML 1.2 allows UTF-16 and UTF-32 too, but every tool a
 * team uses on these files — git diffs, grep, editors' defaults — assumes UTF-8, and
 * a silent U+FFFD in a host name or a pinned key is worse than a refusal).
 */

/** The text of a file, or why its bytes are not UTF-8, with the 1-based position of the problem. */
export type Decoded = { ok: true; text: string } | { ok: false; line: number; column: number; message: string; hint: string };

const BOMS: Array<[number[], string]> = [
  // UTF-32 first: its little-endian BOM starts with UTF-16's.
  [[0xff, 0xfe, 0x00, 0x00], "UTF-32 (little-endian)"],
  [[0x00, 0x00, 0xfe, 0xff], "UTF-32 (big-endian)"],
  [[0xff, 0xfe], "UTF-16 (little-endian)"],
  [[0xfe, 0xff], "UTF-16 (big-endian)"],
];

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const SAVE_AS_UTF8 = "save it as UTF-8 (in most editors: File → Save with Encoding → UTF-8)";

/** Length of the UTF-8 sequence starting at `i`, or 0 when the bytes there are not valid UTF-8 (RFC 3629, table 3-7 of Unicode). */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < bytes.length && bytes[i + k]! >= lo && bytes[i + k]! <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/**
 * Decodes a file's bytes as UTF-8. A UTF-8 byte order mark is dropped (positions are
 * then counted after it); UTF-16/UTF-32 (recognised by their BOM, or by the NUL bytes
 * ASCII text has in them) and invalid UTF-8 are refused with the line and column of
 * the first bad byte, columns counted in characters.
 */
export function decodeUtf8(bytes: Uint8Array): Decoded {
  for (const [bom, name] of BOMS) {
    if (bom.every((b, i) => bytes[i] === b)) return { ok: false, line: 1, column: 1, message: `the file is encoded as ${name}, not UTF-8`, hint: SAVE_AS_UTF8 };
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const body = bytes.subarray(start);
  if (body.indexOf(0) < 0) {
    try {
      return { ok: true, text: strict.decode(body) };
    } catch {
      // Find where, below.
    }
  }
  let line = 1;
  let column = 1;
  for (let i = start; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b === 0x00) {
      // ASCII text saved as UTF-16 or UTF-32 is about half NUL bytes; a stray NUL is just that.
      const sample = bytes.subarray(start, Math.min(bytes.length, start + 4096));
      const wide = sample.filter((x) => x === 0).length * 4 >= sample.length;
      return { ok: false, line, column, message: wide ? "the file is full of NUL bytes: it looks like UTF-16 or UTF-32 without a byte order mark" : "the file holds a NUL byte; it is not a text file", hint: wide ? SAVE_AS_UTF8 : "YAML files are text; remove the byte or replace the file" };
    }
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      return { ok: false, line, column, message: `byte 0x${b.toString(16).padStart(2, "0")} is not valid UTF-8 (the file looks like ${b >= 0x80 && b <= 0x9f ? "Windows-1252" : "Latin-1 or another legacy encoding"})`, hint: SAVE_AS_UTF8 };
    }
    if (b === 0x0a) {
      line++;
      column = 1;
    } else {
      // Astral characters count as two, matching the UTF-16 columns the YAML parser reports.
      column += n === 4 ? 2 : 1;
    }
    i += n;
  }
  return { ok: true, text: strict.decode(body) };
}
