/**
 * Redaction of structured values before they are serialised. A writer redacts the
 * strings of the value, not its JSON text: in JSON text a secret holding a quote or a
 * backslash appears escaped, where a text redactor would not find it, and replacing
 * text inside an escape could leave invalid JSON.
 */

/** A text redactor, e.g. the run's `Redactor.redact` (src/core/redact.ts). */
export type RedactText = (text: string) => string;

/**
 * A copy of a JSON-shaped value with `redact` applied to every string, object keys
 * included; numbers, booleans and null are kept. Values that are not changed keep
 * their identity, so an unredacted value costs one walk and no copies.
 */
export function redactStrings<T>(value: T, redact: RedactText): T {
  return walk(value, redact) as T;
}

function walk(value: unknown, redact: RedactText): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = walk(item, redact);
      if (next !== item) (out ??= [...value])[i] = next;
    });
    return out ?? value;
  }
  if (value !== null && typeof value === "object") {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const k = redact(key);
      const next = walk(item, redact);
      if (k !== key || next !== item) changed = true;
      out[k] = next;
    }
    return changed ? out : value;
  }
  return value;
}
