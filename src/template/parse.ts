import Handlebars from "handlebars";
import { templateSpelling } from "../load/yaml-hints.ts";
import { ansibleEquivalent } from "./jinja.ts";

/** A template that cannot be parsed, with the position of the mistake. */
export class TemplateSyntaxError extends Error {
  /** 1-based line and column within the template text. */
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(message);
    this.line = line;
    this.column = column;
  }
}

/** 1-based line and column of a 0-based offset. */
function positionOf(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset);
  return { line: before.split("\n").length, column: offset - before.lastIndexOf("\n") };
}

/** 0-based offset of a 1-based line and 0-based column. */
function offsetOf(source: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = source.indexOf("\n", offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return offset + column;
}

/**
 * The usual causes of a template that ends too early, found by scanning the text: a
 * `{{` without its `}}` (reported at the `{{`), or a `{{#block}}` never closed
 * (reported at the block). The parser itself only says where the text ran out.
 */
function findUnclosed(source: string): TemplateSyntaxError | undefined {
  const blocks: Array<{ name: string; at: number }> = [];
  let from = 0;
  for (;;) {
    const at = source.indexOf("{{", from);
    if (at < 0) break;
    if (at > 0 && source[at - 1] === "\\") {
      from = at + 2;
      continue;
    }
    const comment = source.startsWith("{{!--", at);
    const close = comment ? source.indexOf("--}}", at + 5) : source.indexOf("}}", at + 2);
    const next = source.indexOf("{{", at + 2);
    if (close < 0 || (!comment && next >= 0 && next < close)) {
      const { line, column } = positionOf(source, at);
      return new TemplateSyntaxError("this {{ is never closed; add }} after the expression", line, column);
    }
    const inner = source.slice(at + 2, close);
    const opens = /^[{~]?\s*#\*?>?\s*([^\s}~]+)/.exec(inner);
    const ends = /^~?\s*\/\s*([^\s}~]+)/.exec(inner);
    if (opens) blocks.push({ name: opens[1]!, at });
    else if (ends && blocks.at(-1)?.name === ends[1]) blocks.pop();
    from = close + 2;
  }
  const open = blocks.at(-1);
  if (!open) return undefined;
  const { line, column } = positionOf(source, open.at);
  return new TemplateSyntaxError(`this {{#${open.name}}} is never closed; add {{/${open.name}}}`, line, column);
}

/**
 * A `{{ x | filter(…) }}` expression (Jinja's filter syntax) or Ansible's
 * `{{hostvars[…]}}` / `{{groups[…]}}`, which Handlebars cannot parse: its own error ("Expecting 'CLOSE_RAW_BLOCK'…") says nothing useful. Block
 * parameters (`{{#each list as |item|}}`) are Handlebars' own use of `|` and are skipped.
 */
function findJinjaFilter(source: string): TemplateSyntaxError | undefined {
  for (const m of source.matchAll(/\{\{(?!!)([^{}]*)\}\}/g)) {
    const inner = m[1]!;
    // Ansible's hostvars[…] and groups[…] index with brackets, which Handlebars cannot parse either.
    const indexed = /^\s*(hostvars|groups)\s*\[/.exec(inner);
    if (indexed) {
      const { line, column } = positionOf(source, m.index);
      return new TemplateSyntaxError(`\`${m[0]}\` is Ansible's syntax; ${ansibleEquivalent([indexed[1]!])}`, line, column);
    }
    if (!inner.includes("|") || /\bas\s+\|/.test(inner)) continue;
    const { line, column } = positionOf(source, m.index);
    return new TemplateSyntaxError(`\`${m[0]}\` uses a Jinja filter; ${templateSpelling(inner)}`, line, column);
  }
  return undefined;
}

/**
 * Parses a template; throws TemplateSyntaxError placed at the mistake (an unclosed
 * `{{`, the closing tag that does not match, the token the parser choked on).
 */
export function parse(source: string): hbs.AST.Program {
  try {
    return Handlebars.parse(source);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const jinja = findJinjaFilter(source);
    if (jinja) throw jinja;
    const e = error as { lineNumber?: number; column?: number };
    if (e.lineNumber !== undefined) {
      const closes = /^(\S+) doesn't match (\S+)/.exec(message);
      if (closes) {
        // Handlebars reports the opening block; the mistake is the closing tag that does not match it.
        const text = `{{/${closes[2]}}} closes {{#${closes[1]}}}; close blocks in the order they were opened`;
        const opened = offsetOf(source, e.lineNumber, e.column ?? 0);
        const tag = new RegExp(`\\{\\{~?\\s*/\\s*${closes[2]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?=[\\s}~])`, "g");
        tag.lastIndex = opened;
        const found = tag.exec(source);
        const at = found ? positionOf(source, found.index) : { line: e.lineNumber, column: (e.column ?? 0) + 1 };
        throw new TemplateSyntaxError(text, at.line, at.column);
      }
      throw new TemplateSyntaxError(message.replace(/ - \d+:\d+$/, ""), e.lineNumber, (e.column ?? 0) + 1);
    }
    const unclosed = findUnclosed(source);
    if (unclosed) throw unclosed;
    // Jison's message: "Parse error on line N:", the text around the error, a caret line, "Expecting …, got 'TOKEN'".
    const [head = "", snippet = "", caret = "", expecting = ""] = message.split("\n");
    const line = Number(/line (\d+)/.exec(head)?.[1] ?? 1);
    const lineText = source.split("\n")[line - 1] ?? "";
    const at = caret.indexOf("^");
    const column = !snippet.startsWith("...") && at >= 0 && at <= lineText.length ? at + 1 : 1;
    const got = /got '(\w+)'/.exec(expecting)?.[1];
    const text =
      got === "EOF"
        ? "the template ends before a {{ … }} or a {{#block}} is closed"
        : got === "INVALID"
          ? "unexpected text inside {{ … }}: expected a variable like vars.name or a helper call"
          : `the template cannot be parsed (${expecting || head})`;
    throw new TemplateSyntaxError(text, line, column);
  }
}
