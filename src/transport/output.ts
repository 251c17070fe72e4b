import { StringDecoder } from "node:string_decoder";
import type { Redactor, StreamRedactor } from "../core/redact.ts";
import { ExecError } from "./errors.ts";
import type { ExecResult } from "./types.ts";

/** Default bytes of each output stream kept in memory. */
export const DEFAULT_TAIL_BYTES = 64 * 1024;

/** Default output budget of one command, stdout and stderr together. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * The bytes one command may print, shared by its two streams. The first chunk past the
 * limit is refused and `onExceeded` runs once (the transport kills the command there),
 * so a host printing without end is stopped early instead of read to its end.
 */
export class OutputBudget {
  private used = 0;
  private over = false;

  constructor(
    readonly limitBytes: number,
    private readonly onExceeded: () => void,
  ) {}

  /** True once the command printed more than the limit. */
  get exceeded(): boolean {
    return this.over;
  }

  /** Counts `bytes`; false, and nothing more is taken, once the total is over the limit. */
  take(bytes: number): boolean {
    if (this.over) return false;
    this.used += bytes;
    if (this.used <= this.limitBytes) return true;
    this.over = true;
    this.onExceeded();
    return false;
  }
}

/**
 * One output stream of a command (stdout or stderr): decodes UTF-8 across chunk
 * boundaries, redacts secrets (holding back a possible split secret), forwards the
 * redacted text to the caller's listener and keeps only the last `tailBytes` bytes;
 * with an `OutputBudget`, it also stops taking output past the command's budget.
 */
export class OutputCollector {
  private readonly decoder = new StringDecoder("utf8");
  private readonly redacting: StreamRedactor | undefined;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(
    private readonly tailBytes: number,
    redactor: Redactor | undefined,
    private readonly listener: ((chunk: string) => void) | undefined,
    private readonly budget?: OutputBudget,
  ) {
    this.redacting = redactor?.stream();
  }

  /** Takes one chunk; past the budget the chunk and all after it are dropped. */
  push(data: Buffer): void {
    if (this.budget !== undefined && !this.budget.take(data.length)) return;
    this.emit(this.decoder.write(data));
  }

  /** Flushes held-back text; returns the tail and whether earlier output was dropped. */
  end(): { text: string; truncated: boolean } {
    this.emit(this.decoder.end(), true);
    const tail = Buffer.concat(this.chunks);
    // The cut may have split a multi-byte character: skip continuation bytes.
    let start = 0;
    if (this.dropped) {
      while (start < tail.length && ((tail[start] ?? 0) & 0xc0) === 0x80) start++;
    }
    return { text: tail.subarray(start).toString("utf8"), truncated: this.dropped };
  }

  private emit(text: string, final = false): void {
    let safe = this.redacting === undefined ? text : this.redacting.push(text);
    if (final && this.redacting !== undefined) safe += this.redacting.end();
    if (safe.length === 0) return;
    this.listener?.(safe);
    const bytes = Buffer.from(safe, "utf8");
    this.chunks.push(bytes);
    this.size += bytes.length;
    while (this.size > this.tailBytes && this.chunks.length > 0) {
      const first = this.chunks[0];
      if (first === undefined) break;
      const excess = this.size - this.tailBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
      this.dropped = true;
    }
  }
}

/**
 * The result of a finished command, or its ExecError when it failed and the caller did
 * not opt out with `check: false`. Shared by every transport so they agree exactly.
 */
export function settleExec(
  host: string,
  command: string,
  status: { exitCode: number | null; signal: string | null },
  out: { text: string; truncated: boolean },
  err: { text: string; truncated: boolean },
  started: number,
  check: boolean | undefined,
): ExecResult {
  const { exitCode, signal } = status;
  if (check !== false && (exitCode !== 0 || signal !== null)) {
    throw new ExecError(host, { command, exitCode, signal, stdoutTail: out.text, stderrTail: err.text });
  }
  return {
    host,
    command,
    exitCode,
    signal,
    stdout: out.text,
    stderr: err.text,
    stdoutTruncated: out.truncated,
    stderrTruncated: err.truncated,
    durationMs: Date.now() - started,
  };
}
