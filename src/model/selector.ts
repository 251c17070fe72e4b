import { didYouMean } from "../core/suggest.ts";
import { compileGlob, GlobSyntaxError, isGlob } from "./glob.ts";
import { CRITICALITIES, type Inventory } from "./types.ts";

export { isGlob } from "./glob.ts";

/**
 * Host selectors, used by runbook `targets`, step `hosts` and `--limit`.
 *
 *   expr    := union
 *   union   := inter ( ("|" | ",") inter )*
 *   inter   := unary ( "&" unary )*
 *   unary   := "!" unary | "(" expr ")" | term
 *   term    := "all" | "group:" GLOB | "tag:" GLOB | "host:" GLOB | "criticality:" LEVEL | GLOB
 *
 * A bare GLOB matches hosts by name and the members of groups by name. `!x` is every
 * host not matched by x. `&` binds tighter than `|`, and `!` tighter than both.
 * GLOB is src/model/glob.ts: `*`, `?`, `[abc]`, `[a-z]`, `[!abc]`.
 *
 * Selectors come from YAML and from `--limit`, so their cost is bounded: `(` and `!`
 * nest at most MAX_SELECTOR_DEPTH deep (the parser and evaluator recurse on them), and
 * a selector has at most MAX_SELECTOR_TERMS terms.
 */
export type Selector =
  | { op: "all" }
  | { op: "term"; kind: "group" | "tag" | "host" | "criticality" | "name"; pattern: string; at: number; length: number }
  | { op: "not"; of: Selector }
  | { op: "and" | "or"; left: Selector; right: Selector };

export class SelectorSyntaxError extends Error {
  /** 0-based index into the selector text where the problem is. */
  readonly index: number;
  /** A likely correction, e.g. "did you mean `group`?". */
  readonly hint: string | undefined;
  constructor(message: string, index: number, hint?: string) {
    super(message);
    this.index = index;
    this.hint = hint;
  }
}

const TERM_CHARS = /[A-Za-z0-9._\-*?:]/;
const KINDS = ["group", "tag", "host", "criticality"] as const;
/** Deepest nesting of `(` and `!`; far beyond any real selector, far below the stack's limit. */
export const MAX_SELECTOR_DEPTH = 64;
/** Most terms in one selector: a long `--limit` list of host names stays well inside it. */
export const MAX_SELECTOR_TERMS = 10_000;

/**
 * Parses a selector. Throws SelectorSyntaxError with the index of the offending
 * character: an operator with nothing after it, an unclosed `(` or `[`, an unknown kind,
 * nesting deeper than MAX_SELECTOR_DEPTH, more than MAX_SELECTOR_TERMS terms.
 */
export function parseSelector(text: string): Selector {
  let i = 0;
  let depth = 0;
  let terms = 0;
  const deeper = (at: number): void => {
    if (++depth > MAX_SELECTOR_DEPTH) throw new SelectorSyntaxError(`the selector nests '(' and '!' more than ${MAX_SELECTOR_DEPTH} deep`, at, "flatten it: '!(a | b)' is '!a & !b', and '((x))' is 'x'");
  };
  /** The last operator read, so a selector that ends after one can point at it. */
  let operator: { char: string; at: number } | undefined;
  const skip = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const peek = (): string | undefined => {
    skip();
    return text[i];
  };
  const parseUnion = (): Selector => {
    const operands = [parseInter()];
    for (let c = peek(); c === "|" || c === ","; c = peek()) {
      operator = { char: c, at: i++ };
      operands.push(parseInter());
    }
    return balanced("or", operands);
  };
  const parseInter = (): Selector => {
    const operands = [parseUnary()];
    while (peek() === "&") {
      operator = { char: "&", at: i++ };
      operands.push(parseUnary());
    }
    return balanced("and", operands);
  };
  const parseUnary = (): Selector => {
    const c = peek();
    if (c === "!") {
      deeper(i);
      operator = { char: "!", at: i++ };
      const of = parseUnary();
      depth--;
      return { op: "not", of };
    }
    if (c === "(") {
      deeper(i);
      const open = i++;
      operator = { char: "(", at: open };
      const inner = parseUnion();
      if (peek() !== ")") throw new SelectorSyntaxError("this '(' is never closed", open);
      i++;
      depth--;
      return inner;
    }
    if (c === undefined) {
      if (operator) throw new SelectorSyntaxError(`nothing follows this '${operator.char}'; a host, group or tag was expected`, operator.at);
      throw new SelectorSyntaxError("the selector is empty; a host, group or tag was expected", 0);
    }
    const start = i;
    i = scanWord(text, start);
    if (i === start) throw new SelectorSyntaxError(`unexpected ${shown(c)}; expected a host, group:NAME, tag:NAME, '!' or '('`, start);
    if (++terms > MAX_SELECTOR_TERMS) throw new SelectorSyntaxError(`the selector has more than ${MAX_SELECTOR_TERMS} terms`, start, "select by group or tag instead of listing hosts one by one");
    const word = text.slice(start, i);
    if (word === "all" || word === "*") return { op: "all" };
    const colon = word.indexOf(":");
    if (colon < 0) {
      checkGlob(word, start);
      return { op: "term", kind: "name", pattern: word, at: start, length: word.length };
    }
    const kind = word.slice(0, colon);
    const pattern = word.slice(colon + 1);
    if (!(KINDS as readonly string[]).includes(kind)) {
      throw new SelectorSyntaxError(`unknown selector kind '${kind}:'; use group:, tag:, host: or criticality:`, start, didYouMean(kind, KINDS));
    }
    if (pattern === "") throw new SelectorSyntaxError(`'${kind}:' needs a name after the colon`, start + colon + 1);
    checkGlob(pattern, start + colon + 1);
    if (kind === "criticality" && !(CRITICALITIES as readonly string[]).includes(pattern)) {
      throw new SelectorSyntaxError(`unknown criticality '${pattern}'; use one of ${CRITICALITIES.join(", ")}`, start + colon + 1, didYouMean(pattern, CRITICALITIES));
    }
    return { op: "term", kind: kind as (typeof KINDS)[number], pattern, at: start, length: word.length };
  };
  const result = parseUnion();
  const rest = peek();
  if (rest !== undefined) {
    throw new SelectorSyntaxError(rest === ")" ? "this ')' has no matching '('" : `unexpected ${shown(rest)}; join terms with '&', '|' or ','`, i);
  }
  return result;
}

/** A character quoted for a message; invisible and control characters by their code point. */
function shown(c: string): string {
  return /^[\x21-\x7e]$/.test(c) ? `'${c}'` : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Joins operands of one associative operator into a balanced tree, so a `--limit` list
 * of thousands of hosts is a tree of logarithmic depth for the recursive evaluator.
 * Three operands give the left-leaning `(a | b) | c`.
 */
function balanced(op: "and" | "or", operands: Selector[]): Selector {
  if (operands.length === 1) return operands[0]!;
  const mid = Math.ceil(operands.length / 2);
  return { op, left: balanced(op, operands.slice(0, mid)), right: balanced(op, operands.slice(mid)) };
}

/**
 * The end of the term starting at `start`: term characters, and bracket classes whose
 * `!` and `]` would otherwise end it. An unclosed `[` is reported at the bracket.
 */
function scanWord(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    if (text[i] === "[") {
      let j = i + 1;
      if (text[j] === "!") j++;
      if (text[j] === "]") j++;
      while (j < text.length && text[j] !== "]" && TERM_CHARS.test(text[j]!)) j++;
      if (text[j] !== "]") throw new SelectorSyntaxError("this '[' is never closed; add ']' after the characters it allows (e.g. web-0[12])", i);
      i = j + 1;
    } else if (TERM_CHARS.test(text[i]!)) {
      i++;
    } else {
      break;
    }
  }
  return i;
}

/** Compiles a term's glob now, so a bad one is a syntax error at its character. */
function checkGlob(pattern: string, at: number): void {
  try {
    compileGlob(pattern);
  } catch (error) {
    if (error instanceof GlobSyntaxError) throw new SelectorSyntaxError(error.message, at + error.index);
    throw error;
  }
}

/** Lookups a selector evaluates against, built once per inventory. */
export interface SelectorIndex {
  all: Set<string>;
  /** Hosts in each group, including hosts of its descendant groups. */
  byGroup: Map<string, Set<string>>;
  byTag: Map<string, Set<string>>;
  byCriticality: Map<string, Set<string>>;
}

export function indexInventory(inventory: Inventory): SelectorIndex {
  const index: SelectorIndex = { all: new Set(), byGroup: new Map(), byTag: new Map(), byCriticality: new Map() };
  const add = (map: Map<string, Set<string>>, key: string, host: string): void => {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(host);
  };
  for (const g of inventory.groups.keys()) index.byGroup.set(g, new Set());
  for (const host of inventory.hosts.values()) {
    index.all.add(host.name);
    for (const g of host.memberOf) add(index.byGroup, g, host.name);
    for (const t of host.tags) add(index.byTag, t, host.name);
    add(index.byCriticality, host.criticality, host.name);
  }
  return index;
}

function unionOf(map: Map<string, Set<string>>, pattern: string): Set<string> {
  if (!isGlob(pattern)) return map.get(pattern) ?? new Set();
  const glob = compileGlob(pattern);
  const out = new Set<string>();
  for (const [key, set] of map) if (glob.test(key)) for (const h of set) out.add(h);
  return out;
}

/** The names of the hosts a selector matches. */
export function evaluateSelector(selector: Selector, index: SelectorIndex): Set<string> {
  switch (selector.op) {
    case "all":
      return new Set(index.all);
    case "not": {
      const inner = evaluateSelector(selector.of, index);
      return new Set([...index.all].filter((h) => !inner.has(h)));
    }
    case "and": {
      const left = evaluateSelector(selector.left, index);
      const right = evaluateSelector(selector.right, index);
      return new Set([...left].filter((h) => right.has(h)));
    }
    case "or":
      return new Set([...evaluateSelector(selector.left, index), ...evaluateSelector(selector.right, index)]);
    case "term":
      return evaluateTerm(selector, index);
  }
}

function evaluateTerm(term: Extract<Selector, { op: "term" }>, index: SelectorIndex): Set<string> {
  switch (term.kind) {
    case "group":
      return unionOf(index.byGroup, term.pattern);
    case "tag":
      return unionOf(index.byTag, term.pattern);
    case "criticality":
      return new Set(index.byCriticality.get(term.pattern) ?? []);
    case "host":
    case "name": {
      const glob = compileGlob(term.pattern);
      const hosts = isGlob(term.pattern) ? [...index.all].filter((h) => glob.test(h)) : index.all.has(term.pattern) ? [term.pattern] : [];
      return term.kind === "host" ? new Set(hosts) : new Set([...hosts, ...unionOf(index.byGroup, term.pattern)]);
    }
  }
}

/** Every term of a selector, for checks that each term names something that exists. */
export function termsOf(selector: Selector): Array<Extract<Selector, { op: "term" }>> {
  switch (selector.op) {
    case "all":
      return [];
    case "term":
      return [selector];
    case "not":
      return termsOf(selector.of);
    case "and":
    case "or":
      return [...termsOf(selector.left), ...termsOf(selector.right)];
  }
}
