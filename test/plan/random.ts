/**
 * A small seeded pseudo-random generator (mulberry32) for property tests: every run
 * with the same seed sees the same cases, and a failure names the seed that found it.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next: () => number;
  /** Integer in [min, max], both included. */
  int: (min: number, max: number) => number;
  pick: <T>(items: readonly T[]) => T;
  bool: (probability?: number) => boolean;
  /** A random subset, order kept. */
  subset: <T>(items: readonly T[], probability?: number) => T[];
}

export function seeded(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: (items) => {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[int(0, items.length - 1)]!;
    },
    bool: (probability = 0.5) => next() < probability,
    subset: (items, probability = 0.5) => items.filter(() => next() < probability),
  };
}
