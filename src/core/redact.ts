import { markdownEscape, shellQuote } from "../template/index.ts";

/**
 * Secret redaction. Every secret value the run knows (environment-provided passphrases,
 * tokens, templated secrets) is registered once; every string that leaves the process —
 * streamed command output, output tails, error messages, reports — passes through
 * `redact()` first. A value is replaced by `***` together with the encoded forms in
 * which it commonly reappears (see {@link secretForms}).
 */
export const REDACTED = "***";

/**
 * The forms in which a secret reappears in output, the value itself first:
 * - JSON-escaped (`JSON.stringify` without the quotes): facts, plans and `--json` output;
 * - percent-encoded as URLs and form bodies carry it (see {@link percentForms}):
 *   `encodeURIComponent`, strict RFC 3986 (Python's `quote(s, safe="")`, curl
 *   --data-urlencode), the WHATWG form encoding (URLSearchParams), each with upper-
 *   and lower-case hex and with a space as `%20` or `+`;
 * - base64 with and without padding, as in HTTP basic auth or Kubernetes secrets, plus
 *   the part that stays the same wherever the value sits inside a longer base64 text
 *   (`base64("user:" + secret)`, `echo "$secret" | base64` with its newline): base64
 *   works on 3-byte groups, so for each of the three alignments the characters that
 *   mix in neighbouring bytes are left out;
 * - shell-quoted exactly as templates render `{{value}}` into commands (src/template);
 * - Markdown-escaped as plans and reports render values.
 * Forms that equal another are listed once.
 */
export function secretForms(secret: string): string[] {
  if (secret.length === 0) return [];
  const bytes = Buffer.from(secret, "utf8");
  const base64 = bytes.toString("base64");
  const forms = [secret, JSON.stringify(secret).slice(1, -1), ...percentForms(secret), base64, base64.replace(/=+$/, "")];
  for (const offset of [0, 1, 2]) forms.push(base64Core(bytes, offset));
  forms.push(shellQuote(secret), markdownEscape(secret));
  return [...new Set(forms.filter((form) => form.length > 0))];
}

/**
 * Characters each percent-encoding leaves as they are; every other UTF-8 byte is `%XX`:
 * - encodeURIComponent (ECMA-262): letters, digits and `-_.!~*'()`;
 * - RFC 3986 §2.3 unreserved, everything else encoded: letters, digits and `-._~`;
 * - application/x-www-form-urlencoded (WHATWG URL §5.2, URLSearchParams): letters,
 *   digits and `*-._`.
 */
const PERCENT_KEPT = [/[A-Za-z0-9\-_.!~*'()]/, /[A-Za-z0-9\-._~]/, /[A-Za-z0-9*\-._]/];

/**
 * The percent-encoded forms of `secret`: each encoding of {@link PERCENT_KEPT}, with
 * hex digits upper-case (RFC 3986 §2.1 recommends it) and lower-case (both are
 * equivalent by that section), and each with a space as `%20` and as `+` (form bodies,
 * Python's `quote_plus`).
 */
function percentForms(secret: string): string[] {
  const forms: string[] = [];
  for (const kept of PERCENT_KEPT) {
    let upper = "";
    for (const char of secret) {
      upper += kept.test(char) ? char : [...Buffer.from(char, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
    }
    const lower = upper.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
    forms.push(upper, lower, upper.replaceAll("%20", "+"), lower.replaceAll("%20", "+"));
  }
  return forms;
}

/**
 * The base64 characters of `bytes` that do not depend on the bytes around it when it
 * starts `offset` bytes into a 3-byte group: a group's 4 characters each take 6 bits,
 * so with 1 (2) foreign bytes in front the first 2 (3) characters mix them in, and a
 * trailing partial group's last character mixes in the bytes after.
 */
function base64Core(bytes: Buffer, offset: number): string {
  const text = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64").replace(/=+$/, "");
  const head = [0, 2, 3][offset] ?? 0;
  const tail = (offset + bytes.length) % 3 === 0 ? 0 : 1;
  return text.slice(head, text.length - tail);
}

export class Redactor {
  private readonly needles = new Set<string>();
  private pattern: RegExp | undefined;
  private longest = 0;

  /**
   * Registers a secret with all its {@link secretForms}. Empty values are ignored: they
   * would match everywhere. Refusing values too short to be secrets is the caller's
   * job (RunSecrets in src/core/secrets.ts), which can name the variable.
   */
  add(secret: string): void {
    const before = this.needles.size;
    for (const form of secretForms(secret)) this.needles.add(form);
    if (this.needles.size !== before) this.pattern = undefined;
  }

  /** True when no secret is registered, so callers can skip buffering work. */
  get empty(): boolean {
    return this.needles.size === 0;
  }

  /** Length of the longest registered form: how much text a stream must hold back. */
  get maxLength(): number {
    this.compile();
    return this.longest;
  }

  /** Replaces every occurrence of every registered secret form with `***`. */
  redact(text: string): string {
    const pattern = this.compile();
    if (pattern === undefined) return text;
    return text.replace(pattern, REDACTED);
  }

  /**
   * Positions of complete secret occurrences in `text`, leftmost first and longest at
   * a position (the needles are sorted by length before they are joined).
   */
  matches(text: string): Array<{ start: number; end: number }> {
    const pattern = this.compile();
    if (pattern === undefined) return [];
    const found: Array<{ start: number; end: number }> = [];
    for (const match of text.matchAll(pattern)) {
      found.push({ start: match.index, end: match.index + match[0].length });
    }
    return found;
  }

  /** A redacting stream for output that arrives in chunks (see {@link StreamRedactor}). */
  stream(): StreamRedactor {
    return new StreamRedactor(this);
  }

  private compile(): RegExp | undefined {
    if (this.needles.size === 0) return undefined;
    if (this.pattern === undefined) {
      const sorted = [...this.needles].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
      this.longest = sorted[0]?.length ?? 0;
      this.pattern = new RegExp(sorted.map(escapeRegExp).join("|"), "g");
    }
    return this.pattern;
  }
}

/**
 * Redacts text that arrives in chunks. A secret may be split across two chunks
 * ("pass" + "word"), so each push holds back the last `maxLength - 1` characters —
 * the longest possible unfinished secret — and emits them with the next chunk or at
 * `end()`. A complete match that straddles the hold-back point is emitted whole.
 */
export class StreamRedactor {
  private held = "";

  constructor(private readonly redactor: Redactor) {}

  /** Returns the redacted text that is safe to emit now (possibly empty). */
  push(chunk: string): string {
    if (this.redactor.empty) return chunk;
    const text = this.held + chunk;
    let cut = Math.max(0, text.length - (this.redactor.maxLength - 1));
    for (const { start, end } of this.redactor.matches(text)) {
      if (start < cut && end > cut) cut = end;
    }
    this.held = text.slice(cut);
    return this.redactor.redact(text.slice(0, cut));
  }

  /** Flushes what was held back. */
  end(): string {
    const rest = this.redactor.redact(this.held);
    this.held = "";
    return rest;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
