/**
 * RPM version ordering, as rpm implements it: `rpmvercmp` (rpmio/rpmvercmp.c) on each
 * of epoch, version and release (`[epoch:]version[-release]`, lib/rpmver.c).
 */

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isAlpha = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z]$/.test(c);
const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAlpha(c);

/**
 * rpmvercmp: both strings are split into runs of digits and runs of letters; anything
 * else separates runs. Digit runs compare numerically (leading zeros ignored) and beat
 * letter runs; letter runs compare as bytes. `~` sorts before everything, even the end
 * (1.0~rc1 < 1.0); `^` sorts after the end but before any further run (1.0 < 1.0^git1
 * < 1.0.1). When one string runs out, the longer one is newer.
 */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== "~" && a[i] !== "^") i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== "~" && b[j] !== "^") j++;
    if (a[i] === "~" || b[j] === "~") {
      if (a[i] !== "~") return 1;
      if (b[j] !== "~") return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === "^" || b[j] === "^") {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== "^") return 1;
      if (b[j] !== "^") return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const inRun = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && inRun(a[ei])) ei++;
    while (ej < b.length && inRun(b[ej])) ej++;
    // Runs of different kinds: a number is newer than letters.
    if (ej === j) return numeric ? 1 : -1;
    let one = a.slice(i, ei);
    let two = b.slice(j, ej);
    if (numeric) {
      one = one.replace(/^0+/, "");
      two = two.replace(/^0+/, "");
      if (one.length !== two.length) return one.length > two.length ? 1 : -1;
    }
    if (one !== two) return one < two ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** An EVR split as rpm does: epoch before the first `:`, release after the last `-`. */
function parseEvr(text: string): { epoch: number; version: string; release: string | undefined } {
  const colon = text.indexOf(":");
  const epoch = colon >= 0 && /^\d+$/.test(text.slice(0, colon)) ? Number(text.slice(0, colon)) : 0;
  const rest = colon >= 0 ? text.slice(colon + 1) : text;
  const dash = rest.lastIndexOf("-");
  return dash < 0 ? { epoch, version: rest, release: undefined } : { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/**
 * Negative, zero or positive as `a` sorts before, equal to or after `b` in rpm's order
 * of `[epoch:]version[-release]`. A missing epoch is 0; a release is compared only when
 * both have one (rpm's rpmverCmp), so `4.18.0` equals `4.18.0-348.el8`.
 */
export function compareRpmVersions(a: string, b: string): number {
  const va = parseEvr(a.trim());
  const vb = parseEvr(b.trim());
  if (va.epoch !== vb.epoch) return va.epoch > vb.epoch ? 1 : -1;
  const version = rpmvercmp(va.version, vb.version);
  if (version !== 0 || va.release === undefined || vb.release === undefined) return version;
  return rpmvercmp(va.release, vb.release);
}
