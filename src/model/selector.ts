import { didYouMean } from "../core/suggest.ts";
import { CRITICALITIES, type Inventory } from "./types.ts";

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

const TERM_CHARS = /[A-Za-z0-9._\-*?:\[\]]/;
const KINDS = ["group", "tag", "host", "criticality"] as const;

export function parseSelector(text: string): Selector {
  let i = 0;
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
    let left = parseInter();
    for (let c = peek(); c === "|" || c === ","; c = peek()) {
      operator = { char: c, at: i++ };
      left = { op: "or", left, right: parseInter() };
    }
    return left;
  };
  const parseInter = (): Selector => {
    let left = parseUnary();
    while (peek() === "&") {
      operator = { char: "&", at: i++ };
      left = { op: "and", left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): Selector => {
    const c = peek();
    if (c === "!") {
      operator = { char: "!", at: i++ };
      return { op: "not", of: parseUnary() };
    }
    if (c === "(") {
      const open = i++;
      operator = { char: "(", at: open };
      const inner = parseUnion();
      if (peek() !== ")") throw new SelectorSyntaxError("this '(' is never closed", open);
      i++;
      return inner;
    }
    if (c === undefined) {
      if (operator) throw new SelectorSyntaxError(`nothing follows this '${operator.char}'; a host, group or tag was expected`, operator.at);
      throw new SelectorSyntaxError("the selector is empty; a host, group or tag was expected", 0);
    }
    const start = i;
    while (i < text.length && TERM_CHARS.test(text[i]!)) i++;
    if (i === start) throw new SelectorSyntaxError(`unexpected '${c}'; expected a host, group:NAME, tag:NAME, '!' or '('`, start);
    const word = text.slice(start, i);
    if (word === "all" || word === "*") return { op: "all" };
    const colon = word.indexOf(":");
    if (colon < 0) return { op: "term", kind: "name", pattern: word, at: start, length: word.length };
    const kind = word.slice(0, colon);
    const pattern = word.slice(colon + 1);
    if (!(KINDS as readonly string[]).includes(kind)) {
      throw new SelectorSyntaxError(`unknown selector kind '${kind}:'; use group:, tag:, host: or criticality:`, start, didYouMean(kind, KINDS));
    }
    if (pattern === "") throw new SelectorSyntaxError(`'${kind}:' needs a name after the colon`, start + colon + 1);
    if (kind === "criticality" && !(CRITICALITIES as readonly string[]).includes(pattern)) {
      throw new SelectorSyntaxError(`unknown criticality '${pattern}'; use one of ${CRITICALITIES.join(", ")}`, start + colon + 1, didYouMean(pattern, CRITICALITIES));
    }
    return { op: "term", kind: kind as (typeof KINDS)[number], pattern, at: start, length: word.length };
  };
  const result = parseUnion();
  const rest = peek();
  if (rest !== undefined) {
    throw new SelectorSyntaxError(rest === ")" ? "this ')' has no matching '('" : `unexpected '${rest}'; join terms with '&', '|' or ','`, i);
  }
  return result;
}

const globCache = new Map<string, RegExp>();
/** Shell-style glob: `*` any run of characters, `?` one, `[abc]` a class. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    re = new RegExp(`^${body}$`);
    globCache.set(glob, re);
  }
  return re;
}

export const isGlob = (s: string): boolean => /[*?[]/.test(s);

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
  const re = globToRegExp(pattern);
  const out = new Set<string>();
  for (const [key, set] of map) if (re.test(key)) for (const h of set) out.add(h);
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
      const re = globToRegExp(term.pattern);
      const hosts = isGlob(term.pattern) ? [...index.all].filter((h) => re.test(h)) : index.all.has(term.pattern) ? [term.pattern] : [];
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
