import { isAlias, isCollection, isPair, isScalar, visit, YAMLParseError, type Alias, type Document, type Node, type YAMLError } from "yaml";
import type { LineIndex } from "./yaml-positions.ts";

/** Alias expansions allowed per document; stops billion-laughs documents before they expand. */
export const MAX_ALIAS_COUNT = 1000;

/**
 * The YAML parser's errors, turned into what to fix: plain words for its codes, the
 * place that needs the fix (not where the parser gave up), aliases that refer to
 * nothing or expand like a bomb, and duplicate keys found in linear time.
 */

export const friendly: Record<string, (raw: string) => { message: string; hint?: string }> = {
  DUPLICATE_KEY: () => ({
    message: "the same key appears twice in one mapping",
    hint: "YAML keeps only one of them; delete or rename the duplicate",
  }),
  TAB_AS_INDENT: () => ({
    message: "a tab is used for indentation; YAML allows only spaces",
    hint: "replace the tab with spaces (configure your editor to insert spaces in YAML files)",
  }),
  BAD_INDENT: (raw) => ({ message: raw, hint: "align the key with its siblings, using spaces" }),
  MISSING_CHAR: (raw) => (/quote/.test(raw) ? { message: "this quote is never closed", hint: "add the matching quote where the value ends" } : { message: raw, hint: "a quote, bracket or brace is not closed" }),
  BLOCK_AS_IMPLICIT_KEY: (raw) => ({ message: raw, hint: "a ':' after a value starts a new key; quote the value if the ':' belongs to it" }),
  MULTILINE_IMPLICIT_KEY: (raw) => ({ message: raw, hint: "check for a missing ':' after the key on the line above, or an unclosed quote" }),
};

/**
 * An alias that refers to no anchor before it, or the alias at which alias expansions
 * pass MAX_ALIAS_COUNT. Each alias counts once plus
 * the aliases inside what it copies, so nested aliases (`b: [*a, *a]`, `c: [*b, *b]`)
 * count the way they multiply.
 */
export function checkAliases(doc: Document.Parsed): { unresolved?: Alias; overflow?: Alias } {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  const ordered: Alias[] = [];
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) {
        targets.set(node, anchors.get(node.source));
        ordered.push(node);
      } else if (node.anchor) {
        anchors.set(node.anchor, node);
      }
    },
  });
  if (ordered.length === 0) return {};
  const unresolved = ordered.find((a) => targets.get(a) === undefined);
  if (unresolved) return { unresolved };
  const weights = new Map<unknown, number>();
  const inProgress = new Set<unknown>();
  const weight = (node: unknown): number => {
    const known = weights.get(node);
    if (known !== undefined) return known;
    // An alias inside the node it refers to would expand forever.
    if (inProgress.has(node)) return MAX_ALIAS_COUNT + 1;
    inProgress.add(node);
    let w = 0;
    if (isAlias(node)) w = 1 + weight(targets.get(node));
    else if (isPair(node)) w = weight(node.key) + weight(node.value);
    else if (isCollection(node)) for (const item of node.items) w = Math.min(MAX_ALIAS_COUNT + 1, w + weight(item));
    inProgress.delete(node);
    weights.set(node, w);
    return w;
  };
  let total = 0;
  for (const alias of ordered) {
    total += weight(alias);
    if (total > MAX_ALIAS_COUNT) return { overflow: alias };
  }
  return {};
}

/** Where a YAML error is best shown, when the parser's own position is not the place to fix. */
export function errorPosition(error: YAMLError, doc: Document.Parsed, text: string, lines: LineIndex): { line: number; col: number } {
  const pos = lines.linePos(error.pos[0]);
  if (error.code === "MISSING_CHAR" && /quote/.test(error.message)) {
    // The parser stops where the text runs out; the opening quote is what needs a partner.
    let start: number | undefined;
    visit(doc, {
      Scalar: (_key, node) => {
        const range = node.range;
        if ((node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE") && range && range[0] < error.pos[0] && range[1] >= error.pos[0] && (start === undefined || range[0] > start)) start = range[0];
      },
    });
    if (start !== undefined) return lines.linePos(start);
  }
  if (error.code === "BAD_INDENT") {
    // Point at the misplaced key, not at the start of its line.
    const lineText = text.split("\n", pos.line)[pos.line - 1] ?? "";
    const indent = /^ */.exec(lineText)?.[0].length ?? 0;
    if (pos.col <= indent && indent < lineText.length) return { line: pos.line, col: indent + 1 };
  }
  return pos;
}

/**
 * For the parser's "Flow sequence … must end with a ]" (or mapping, `}`): the bracket
 * that is never closed, the last one before the error left open. Undefined for other
 * errors, or when no open bracket is found.
 */
export function unclosedFlow(error: YAMLError, text: string, lines: LineIndex): { line: number; col: number; bracket: "[" | "{" } | undefined {
  const m = /end with an? ([\]}])/.exec(error.message);
  if (!m) return undefined;
  const open = m[1] === "]" ? "[" : "{";
  const close = m[1]!;
  let depth = 0;
  for (let i = Math.min(error.pos[0], text.length) - 1; i >= 0; i--) {
    if (text[i] === close) depth++;
    else if (text[i] === open && depth-- === 0) return { ...lines.linePos(i), bracket: open };
  }
  return undefined;
}

export function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
}

/**
 * The error the parser's `uniqueKeys` check would give for each repeated scalar key,
 * found in one pass per mapping (the parser's check is quadratic in the number of keys).
 */
export function duplicateKeys(doc: Document.Parsed): YAMLParseError[] {
  const out: YAMLParseError[] = [];
  visit(doc, {
    Map: (_key, node) => {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const key = pair.key.value;
        if (seen.has(key)) {
          const at = pair.key.range?.[0] ?? 0;
          out.push(new YAMLParseError([at, at + 1], "DUPLICATE_KEY", "Map keys must be unique"));
        }
        seen.add(key);
      }
    },
  });
  return out;
}
