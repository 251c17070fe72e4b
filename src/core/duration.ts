const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

/** Parses '90s', '15m', '2h30m', '1d' into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match || text === "") return undefined;
  const [, d, h, m, s] = match;
  return Number(d ?? 0) * UNIT_MS.d + Number(h ?? 0) * UNIT_MS.h + Number(m ?? 0) * UNIT_MS.m + Number(s ?? 0) * UNIT_MS.s;
}

export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join("") || "0s";
}

const UNIT_WORDS: Record<string, keyof typeof UNIT_MS> = {
  d: "d", day: "d", days: "d",
  h: "h", hr: "h", hrs: "h", hour: "h", hours: "h",
  m: "m", min: "m", mins: "m", minute: "m", minutes: "m",
  s: "s", sec: "s", secs: "s", second: "s", seconds: "s",
};

/**
 * How to write a malformed duration: `3 hours` → did you mean `3h`?, `10` → add a unit.
 * Undefined when the value does not look like an attempt at a duration.
 */
export function durationHint(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return `add a unit: \`${value}s\`, \`${value}m\` or \`${value}h\``;
  if (typeof value !== "string") return undefined;
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) return `add a unit: \`${text}s\`, \`${text}m\` or \`${text}h\``;
  let total = 0;
  let rest = text;
  for (const [whole, n, word] of text.matchAll(/(\d+)\s*([a-z]+)/g)) {
    const unit = UNIT_WORDS[word!];
    if (unit === undefined) return undefined;
    total += Number(n) * UNIT_MS[unit];
    rest = rest.replace(whole, "");
  }
  if (rest.replace(/\s|,|\band\b/g, "") !== "" || rest === text || total === 0) return undefined;
  return `did you mean \`${formatDuration(total)}\`?`;
}
