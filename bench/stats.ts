/** Small helpers to measure CPU time and summarise repeated runs. */
export interface Summary {
  min: number;
  median: number;
  max: number;
}

export function summarise(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! };
}

/** CPU milliseconds (user + system) spent by this process while `fn` runs. */
export async function cpuMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

export const fmt = (s: Summary, unit = "ms"): string => `min ${s.min.toFixed(0)}${unit}, median ${s.median.toFixed(0)}${unit}, max ${s.max.toFixed(0)}${unit}`;
