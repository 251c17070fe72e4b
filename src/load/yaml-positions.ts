import type { Scalar } from "yaml";

/**
 * Source positions that the YAML parser does not give directly: line and column of an
 * offset, and the offset of each character of a scalar's value.
 */

/**
 * 1-based line and column of a character offset, from the text itself. The parser's own
 * LineCounter misses line breaks inside some malformed tokens and then reports columns
 * past the end of a line; counting here is always right.
 */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(private readonly text: string) {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.starts.push(i + 1);
  }
  linePos(offset: number): { line: number; col: number } {
    const at = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: at - this.starts[lo]! + 1 };
  }
}

/** Length of a double-quoted escape (YAML 1.2 §5.7) starting at a backslash. */
function escapeLength(text: string, at: number): number {
  const c = text[at + 1];
  return c === "x" ? 4 : c === "u" ? 6 : c === "U" ? 10 : 2;
}

/**
 * The source offset of each character of a scalar's value (plus one past the end), by
 * walking value and source together: folded line breaks, stripped indentation, escapes
 * and doubled single quotes are stepped over. Undefined when the two cannot be matched.
 */
export function valueOffsets(text: string, node: Scalar): number[] | undefined {
  const [start, , end] = node.range ?? [0, 0, 0];
  const value = typeof node.value === "string" ? node.value : String(node.value);
  const block = node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED";
  let j = start;
  if (block) j = text.indexOf("\n", start) + 1;
  else if (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE") j = start + 1;
  if (j <= 0) return undefined;
  let indent = 0;
  if (block) {
    // Block indentation is that of the first line with content (YAML 1.2 §8.1.1.1).
    const m = /^(?:[ ]*\r?\n)*([ ]*)/.exec(text.slice(j, end));
    indent = m?.[1]?.length ?? 0;
  }
  const skipIndent = (): void => {
    if (block) for (let k = 0; k < indent && text[j] === " "; k++) j++;
    else while (text[j] === " " || text[j] === "\t") j++;
  };
  if (block) skipIndent();
  const offsets: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    for (;;) {
      if (j >= end) return undefined;
      const s = text[j]!;
      if (node.type === "QUOTE_DOUBLE" && s === "\\") {
        if (text[j + 1] === "\n" || text[j + 1] === "\r") {
          // An escaped line break joins lines without a character of its own.
          j = text.indexOf("\n", j) + 1;
          skipIndent();
          continue;
        }
        offsets.push(j);
        j += escapeLength(text, j);
        break;
      }
      if (node.type === "QUOTE_SINGLE" && s === "'" && c === "'" && text[j + 1] === "'") {
        offsets.push(j);
        j += 2;
        break;
      }
      if (s === c || (s === "\n" && (c === " " || c === "\n"))) {
        offsets.push(j);
        j++;
        if (s === "\n") skipIndent();
        break;
      }
      if (s === "\n") {
        j++;
        skipIndent();
      } else {
        j++;
      }
    }
  }
  offsets.push(j);
  return offsets;
}
