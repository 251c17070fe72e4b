/**
 * A linear pre-scan of JSON text that steward reads back (plan files, cached facts),
 * for what JSON.parse does not say:
 * - nesting depth: JSON.parse of 32 MiB of `[[[…` takes seconds and gigabytes before
 *   it fails, and steward's own files are shallow, so the scan stops at the first
 *   level past the limit, before anything is parsed;
 * - duplicate keys: RFC 8259 §4 leaves their meaning open and JSON.parse keeps the
 *   last, so `"createdAt": "2099-…"` inserted before the real member shows a reader
 *   one value and the program another. A duplicate is named by its RFC 6901 JSON
 *   pointer, never by its value.
 * The scan trusts nothing but does not validate: text that is not JSON is left for
 * JSON.parse to refuse with its own position.
 */

/** What the scan found; both absent when the text is neither too deep nor has a duplicate. */
export interface JsonShape {
  /** Set when some value nests deeper than the limit; the scan stopped there. */
  tooDeep?: true;
  /** JSON pointer of the first member whose key repeats one before it in its object. */
  duplicate?: string;
}

type Frame = { object: true; keys: Set<string>; key: string; expectKey: boolean } | { object: false; index: number };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Scans `text`, with at most `maxDepth` nested objects and arrays (the top value is level 1). */
export function scanJsonShape(text: string, maxDepth: number): JsonShape {
  const stack: Frame[] = [];
  let duplicate: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) break;
      const top = stack[stack.length - 1];
      if (top?.object === true && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          break;
        }
        if (top.keys.has(key) && duplicate === undefined) duplicate = pointer(stack, key);
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (stack.length >= maxDepth) return { tooDeep: true };
      stack.push(c === 0x7b ? { object: true, keys: new Set(), key: "", expectKey: true } : { object: false, index: 0 });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top?.object === true) top.expectKey = true;
      else if (top !== undefined) top.index++;
    }
  }
  return duplicate === undefined ? {} : { duplicate };
}

/** Index of the quote closing the string that opens at `start`, or -1 when it is not closed. */
function stringEnd(text: string, start: number): number {
  let j = start + 1;
  for (;;) {
    const k = text.indexOf('"', j);
    if (k < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(k - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return k;
    j = k + 1;
  }
}

/** RFC 6901 pointer of `key` in the innermost object of `stack`. */
function pointer(stack: readonly Frame[], key: string): string {
  const parts = stack.slice(0, -1).map((f) => (f.object ? f.key : String(f.index)));
  return [...parts, key].map((p) => `/${p.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}
