/**
 * Debian version ordering, as dpkg implements it (lib/dpkg/version.c,
 * deb-version(7)): `[epoch:]upstream[-revision]`, compared part by part. Within a part,
 * non-digit runs compare character by character where `~` sorts before everything
 * (even the end of the string), letters sort before other characters, and digit runs
 * compare numerically (leading zeros ignored).
 */

/** A version split into dpkg's three parts. */
export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/**
 * Splits a version string the way dpkg's parseversion does: the epoch is everything
 * before the first `:`, the revision everything after the last `-`. Missing parts are
 * 0 and "" (dpkg treats an absent revision as equal to an empty one, so "1.0" = "1.0-").
 */
export function parseDebianVersion(text: string): DebianVersion {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(":");
  let epoch = 0;
  let rest = trimmed;
  if (colon >= 0) {
    epoch = Number.parseInt(trimmed.slice(0, colon), 10);
    if (!Number.isFinite(epoch)) epoch = 0;
    rest = trimmed.slice(colon + 1);
  }
  const dash = rest.lastIndexOf("-");
  if (dash < 0) return { epoch, upstream: rest, revision: "" };
  return { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isLetter = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z]$/.test(c);

/** dpkg's order() weight of one character of a non-digit run; undefined is the end. */
function weight(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isLetter(c)) return c.charCodeAt(0);
  if (c === "~") return -1;
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: compares one part (upstream or revision). */
function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = weight(a[i]);
      const bc = weight(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    // The longer digit run is the larger number, whatever its first digits say.
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b` (dpkg order). */
export function compareDebianVersions(a: string, b: string): number {
  const va = parseDebianVersion(a);
  const vb = parseDebianVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch > vb.epoch ? 1 : -1;
  const upstream = comparePart(va.upstream, vb.upstream);
  if (upstream !== 0) return Math.sign(upstream);
  return Math.sign(comparePart(va.revision, vb.revision));
}
