/**
 * Shell-style globs for host, group and tag names in selectors and for package names
 * in policy and step filters: `*` any run of characters, `?` one character, `[abc]`,
 * `[a-z]` and `[!abc]` one character of (or not of) a class. A `]` right after `[` or
 * `[!` is a member, as in POSIX fnmatch.
 *
 * Matching never builds a regular expression: package names come from hosts, and a
 * backtracking regex turned `a*a*a*a*a*a*a*a*a*b` against a 63-character name into
 * minutes of CPU. The matcher below is the classic iterative wildcard algorithm with a
 * single backtrack point (the last `*` seen): O(pattern × name) in the worst case, with
 * no recursion. Characters are UTF-16 code units; every name it matches is ASCII by
 * schema.
 */

/** A glob that cannot be compiled, e.g. a `[` never closed. */
export class GlobSyntaxError extends Error {
  /** 0-based index of the offending character in the pattern. */
  readonly index: number;
  constructor(message: string, index: number) {
    super(message);
    this.index = index;
  }
}

/** One pattern element: a literal code unit, any one character, a class, or a star. */
type Token = { t: "lit"; c: number } | { t: "any" } | { t: "star" } | { t: "class"; negate: boolean; ranges: number[] };

/** A compiled glob. `test` is safe on hostile names of any length. */
export interface Glob {
  readonly pattern: string;
  test(name: string): boolean;
}

/** True when the text uses glob syntax (`*`, `?` or `[`). */
export const isGlob = (text: string): boolean => /[*?[]/.test(text);

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") {
      // Consecutive stars match the same as one; collapsing them keeps the matcher's work linear in them.
      if (tokens.at(-1)?.t !== "star") tokens.push({ t: "star" });
    } else if (ch === "?") {
      tokens.push({ t: "any" });
    } else if (ch === "[") {
      const open = i;
      let j = i + 1;
      const negate = pattern[j] === "!";
      if (negate) j++;
      const ranges: number[] = [];
      let first = true;
      while (j < pattern.length && (pattern[j] !== "]" || first)) {
        const lo = pattern.charCodeAt(j);
        if (pattern[j + 1] === "-" && j + 2 < pattern.length && pattern[j + 2] !== "]") {
          const hi = pattern.charCodeAt(j + 2);
          if (hi < lo) throw new GlobSyntaxError(`the range '${pattern.slice(j, j + 3)}' runs backwards; write it low to high`, j);
          ranges.push(lo, hi);
          j += 3;
        } else {
          ranges.push(lo, lo);
          j++;
        }
        first = false;
      }
      if (j >= pattern.length) throw new GlobSyntaxError("this '[' is never closed; add ']' after the characters it allows (e.g. web-0[12])", open);
      tokens.push({ t: "class", negate, ranges });
      i = j;
    } else {
      tokens.push({ t: "lit", c: pattern.charCodeAt(i) });
    }
  }
  return tokens;
}

function matchesOne(token: Token, c: number): boolean {
  switch (token.t) {
    case "lit":
      return token.c === c;
    case "any":
      return true;
    case "class": {
      let inside = false;
      for (let k = 0; k < token.ranges.length; k += 2) {
        if (c >= token.ranges[k]! && c <= token.ranges[k + 1]!) {
          inside = true;
          break;
        }
      }
      return inside !== token.negate;
    }
    case "star":
      return false;
  }
}

/** Whether `name` matches the tokens, in O(tokens × name) steps. */
function matchTokens(tokens: readonly Token[], name: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < name.length) {
    const token = tokens[p];
    if (token?.t === "star") {
      starP = p++;
      starT = t;
    } else if (token !== undefined && matchesOne(token, name.charCodeAt(t))) {
      p++;
      t++;
    } else if (starP >= 0) {
      // Let the last star absorb one more character and retry what follows it; earlier
      // stars never need revisiting, which is what bounds the work.
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (tokens[p]?.t === "star") p++;
  return p === tokens.length;
}

const cache = new Map<string, Glob>();

/**
 * Compiles a glob once (compiled globs are cached by pattern text).
 * Throws GlobSyntaxError, with the index of the `[`, for a class never closed, and for
 * a range written backwards (`[z-a]`).
 */
export function compileGlob(pattern: string): Glob {
  const known = cache.get(pattern);
  if (known) return known;
  let glob: Glob;
  if (!isGlob(pattern)) {
    glob = { pattern, test: (name) => name === pattern };
  } else {
    const tokens = tokenize(pattern);
    glob = { pattern, test: (name) => matchTokens(tokens, name) };
  }
  cache.set(pattern, glob);
  return glob;
}
