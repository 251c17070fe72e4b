/**
 * Alpine package version ordering, as apk-tools implements it (src/version.c, 2.x):
 * `number{.number}[letter]{_suffix[number]}[-rN]`, read token by token. Pre-release
 * suffixes (`_alpha`, `_beta`, `_pre`, `_rc`) sort before the bare version, post-release
 * ones (`_cvs`, `_svn`, `_git`, `_hg`, `_p`) after it; `-rN` is the package revision.
 */

const INVALID = -1;
const DIGIT_OR_ZERO = 0;
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const REVISION_NO = 5;
const END = 6;

const PRE_SUFFIXES = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES = ["cvs", "svn", "git", "hg", "p"];

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isLower = (c: string | undefined): boolean => c !== undefined && c >= "a" && c <= "z";

/** A cursor over one version string, with the kind of the token it stands before. */
interface Cursor {
  text: string;
  at: number;
  type: number;
}

/** apk's next_token: the kind of what follows, consuming its separator. */
function nextToken(c: Cursor): void {
  let n = INVALID;
  const ch = c.text[c.at];
  if (c.at >= c.text.length) n = END;
  else if ((c.type === DIGIT || c.type === DIGIT_OR_ZERO) && isLower(ch)) n = LETTER;
  else if (c.type === LETTER && isDigit(ch)) n = DIGIT;
  else if (c.type === SUFFIX && isDigit(ch)) n = SUFFIX_NO;
  else {
    if (ch === ".") n = DIGIT_OR_ZERO;
    else if (ch === "_") n = SUFFIX;
    else if (ch === "-" && c.text[c.at + 1] === "r") {
      n = REVISION_NO;
      c.at++;
    }
    c.at++;
  }
  if (n < c.type && !((n === DIGIT_OR_ZERO && c.type === DIGIT) || (n === SUFFIX && c.type === SUFFIX_NO) || (n === DIGIT && c.type === LETTER))) n = INVALID;
  c.type = n;
}

/** apk's get_token: the value of the token at the cursor, moving past it. */
function getToken(c: Cursor): number {
  if (c.at >= c.text.length) {
    c.type = END;
    return 0;
  }
  let i = c.at;
  let value = 0;
  let following = INVALID;
  const rest = c.text.slice(c.at);
  switch (c.type) {
    case DIGIT_OR_ZERO:
    case DIGIT:
    case SUFFIX_NO:
    case REVISION_NO:
      // After a dot, leading zeros are a token of their own, valued below any number.
      if (c.type === DIGIT_OR_ZERO && c.text[i] === "0") {
        while (c.text[i] === "0") i++;
        following = DIGIT;
        value = -(i - c.at);
        break;
      }
      while (isDigit(c.text[i])) value = value * 10 + Number(c.text[i++]);
      if (i - c.at >= 18) {
        c.type = INVALID;
        return -1;
      }
      break;
    case LETTER:
      value = c.text.charCodeAt(i++);
      break;
    case SUFFIX: {
      const pre = PRE_SUFFIXES.findIndex((s) => rest.startsWith(s));
      if (pre >= 0) {
        value = pre - PRE_SUFFIXES.length;
        i += PRE_SUFFIXES[pre]?.length ?? 0;
        break;
      }
      const post = POST_SUFFIXES.findIndex((s) => rest.startsWith(s));
      if (post >= 0) {
        value = post;
        i += POST_SUFFIXES[post]?.length ?? 0;
        break;
      }
      c.type = INVALID;
      return -1;
    }
    default:
      c.type = INVALID;
      return -1;
  }
  c.at = i;
  if (c.at >= c.text.length) c.type = END;
  else if (following !== INVALID) c.type = following;
  else nextToken(c);
  return value;
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b` (apk order). */
export function compareApkVersions(a: string, b: string): number {
  const ca: Cursor = { text: a.trim(), at: 0, type: DIGIT };
  const cb: Cursor = { text: b.trim(), at: 0, type: DIGIT };
  let av = 0;
  let bv = 0;
  while (ca.type === cb.type && ca.type !== END && ca.type !== INVALID && av === bv) {
    av = getToken(ca);
    bv = getToken(cb);
  }
  if (av !== bv) return av < bv ? -1 : 1;
  if (ca.type === cb.type) return 0;
  // Equal so far: the longer version is newer, unless what it has more is a pre-release suffix.
  if (ca.type === SUFFIX && getToken({ ...ca }) < 0) return -1;
  if (cb.type === SUFFIX && getToken({ ...cb }) < 0) return 1;
  if (ca.type > cb.type) return -1;
  if (cb.type > ca.type) return 1;
  return 0;
}
