/**
 * Alpine package version ordering, as apk-tools implements it (src/version.c,
 * `apk_version_compare`): `digit{.digit}...{letter}{_suffix{#}}...{~hash}{-r#}`, read
 * token by token. Pre-release suffixes (`_alpha`, `_beta`, `_pre`, `_rc`) sort before
 * the bare version, post-release ones (`_cvs`, `_svn`, `_git`, `_hg`, `_p`) after it;
 * `-rN` is the package revision. A component with a leading zero compares as text
 * (Gentoo's rule), so `1.01` < `1.1`.
 */

// Token kinds in apk's order: a longer version wins over one that ends, unless what it
// continues with sorts lower than what the other continues with (a pre-release suffix).
const INITIAL_DIGIT = 0;
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const COMMIT_HASH = 5;
const REVISION_NO = 6;
const END = 7;
const INVALID = 8;

/** Suffix ranks; NONE (5) is where a version without a suffix stands. */
const SUFFIXES: Readonly<Record<string, number>> = { alpha: 1, beta: 2, pre: 3, rc: 4, cvs: 6, svn: 7, git: 8, hg: 9, p: 10 };
const SUFFIX_NONE = 5;

/** One token and the cursor after it. */
interface Token {
  kind: number;
  /** The token's text (digits, letter, suffix word or hash). */
  value: string;
  /** Its number, for digit runs. */
  number: bigint;
  suffix: number;
  at: number;
}

function span(text: string, from: number, ok: (c: string) => boolean): number {
  let i = from;
  while (i < text.length && ok(text[i] ?? "")) i++;
  return i;
}

const isDigit = (c: string): boolean => c >= "0" && c <= "9";
const isLower = (c: string): boolean => c >= "a" && c <= "z";
const isHex = (c: string): boolean => isDigit(c) || (c >= "a" && c <= "f") || (c >= "A" && c <= "F");

function digits(t: Token, text: string): void {
  const end = span(text, t.at, isDigit);
  t.value = text.slice(t.at, end);
  t.number = t.value === "" ? 0n : BigInt(t.value);
  t.at = end;
  if (t.value === "") t.kind = INVALID;
}

/** apk's token_next: the kind of what follows, checked against what may follow the previous token. */
function next(t: Token, text: string): void {
  if (t.at >= text.length) {
    t.kind = END;
    return;
  }
  const c = text[t.at] ?? "";
  if (isLower(c)) {
    if (t.kind > DIGIT) return void (t.kind = INVALID);
    t.value = c;
    t.kind = LETTER;
    t.at++;
  } else if (c === "." || isDigit(c)) {
    if (c === ".") {
      if (t.kind > DIGIT) return void (t.kind = INVALID);
      t.at++;
    }
    if (t.kind === INITIAL_DIGIT || t.kind === DIGIT) t.kind = DIGIT;
    else if (t.kind === SUFFIX) t.kind = SUFFIX_NO;
    else return void (t.kind = INVALID);
    digits(t, text);
  } else if (c === "_") {
    if (t.kind > SUFFIX_NO) return void (t.kind = INVALID);
    const end = span(text, t.at + 1, isLower);
    t.value = text.slice(t.at + 1, end);
    t.at = end;
    t.suffix = SUFFIXES[t.value] ?? 0;
    t.kind = t.suffix === 0 ? INVALID : SUFFIX;
  } else if (c === "~") {
    if (t.kind >= COMMIT_HASH) return void (t.kind = INVALID);
    const end = span(text, t.at + 1, isHex);
    t.value = text.slice(t.at + 1, end);
    t.at = end;
    t.kind = t.value === "" ? INVALID : COMMIT_HASH;
  } else if (c === "-") {
    if (t.kind >= REVISION_NO || text[t.at + 1] !== "r") return void (t.kind = INVALID);
    t.at += 2;
    t.kind = REVISION_NO;
    digits(t, text);
  } else {
    t.kind = INVALID;
  }
}

/** apk's token_cmp for two tokens of the same kind. */
function compareTokens(a: Token, b: Token): number {
  const byText = (): number => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
  switch (a.kind) {
    case DIGIT:
      if (a.value.startsWith("0") || b.value.startsWith("0")) return byText();
      return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
    case INITIAL_DIGIT:
    case SUFFIX_NO:
    case REVISION_NO:
      return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
    case LETTER:
      return byText();
    case SUFFIX:
      return Math.sign(a.suffix - b.suffix);
    default:
      return byText();
  }
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b` (apk order). */
export function compareApkVersions(a: string, b: string): number {
  const ta: Token = { kind: INITIAL_DIGIT, value: "", number: 0n, suffix: 0, at: 0 };
  const tb: Token = { ...ta };
  const textA = a.trim();
  const textB = b.trim();
  digits(ta, textA);
  digits(tb, textB);
  while (ta.kind === tb.kind && ta.kind < END) {
    const r = compareTokens(ta, tb);
    if (r !== 0) return r;
    next(ta, textA);
    next(tb, textB);
  }
  if (ta.kind === tb.kind) return 0;
  if (ta.kind === SUFFIX && ta.suffix < SUFFIX_NONE) return -1;
  if (tb.kind === SUFFIX && tb.suffix < SUFFIX_NONE) return 1;
  if (ta.kind > tb.kind) return -1;
  if (tb.kind > ta.kind) return 1;
  return 0;
}
