/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transpositions, the
 * commonest typo), bounded: stops early once the distance exceeds `max`.
 */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, before[j - 2]! + 1);
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
    before = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/** True when `short` is `long` with letters left out, keeping the first: `grp` for `group`. */
function isAbbreviation(short: string, long: string): boolean {
  if (short[0] !== long[0]) return false;
  let j = 0;
  for (const c of long) if (c === short[j]) j++;
  return j === short.length;
}

/**
 * A candidate the word is a longer or shorter form of (`monday` for `mon`, `crit` for
 * `critical`, `hostname` for `name`, `grp` for `group`), when exactly one fits. Catches
 * what an edit distance misses; the shorter of the two must have at least 3 letters.
 */
function affixMatch(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const found = new Set<string>();
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    if (c === w || Math.min(c.length, w.length) < 3) continue;
    if (w.startsWith(c) || w.endsWith(c) || isAbbreviation(w, c)) found.add(candidate);
  }
  return found.size === 1 ? [...found][0] : undefined;
}

/** The closest candidate to `word`, if one is close enough to be a plausible typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  const max = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = max + 1;
  for (const candidate of list) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase(), max);
    if (d < bestDistance || (d === bestDistance && best !== undefined && candidate < best)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= max ? best : affixMatch(word, list);
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const match = closest(word, candidates);
  return match === undefined ? undefined : `did you mean \`${match}\`?`;
}
