/**
 * Secret redaction. Every secret value the run knows (environment-provided passphrases,
 * tokens, templated secrets) is registered once; every string that leaves the process —
 * streamed command output, output tails, error messages, reports — passes through
 * `redact()` first. A value is replaced by `***` together with the encoded forms in
 * which it commonly reappears in logs (base64, as in HTTP basic auth or Kubernetes
 * secrets, and percent-encoding, as in URLs).
 */
export const REDACTED = "***";

export class Redactor {
  private readonly needles = new Set<string>();
  private pattern: RegExp | undefined;
  private longest = 0;

  /** Registers a secret. Empty values are ignored: they would match everywhere. */
  add(secret: string): void {
    if (secret.length === 0) return;
    const forms = [
      secret,
      Buffer.from(secret, "utf8").toString("base64"),
      Buffer.from(secret, "utf8").toString("base64").replace(/=+$/, ""),
      encodeURIComponent(secret),
    ];
    for (const form of forms) {
      if (form.length > 0) this.needles.add(form);
    }
    this.pattern = undefined;
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
