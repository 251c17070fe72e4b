import { randomBytes } from "node:crypto";

/**
 * The wrapper shell's PID line, found in a command's stdout. The login shell runs its
 * startup files (a `~/.bashrc` that echoes a banner) before the wrapper prints anything,
 * so the PID line need not come first: it is recognised by a tag with a random nonce,
 * everything before it is the command's output as received (a caller may tell it from
 * its own), and the PID line itself is taken out.
 */

/** Longest PID the wrapper prints ("4194304" is 7 bytes) with room to spare. */
const MAX_PID_BYTES = 16;

export class PidHeader {
  /** What the wrapper prints before its PID; unique per command. */
  readonly tag = `@@steward-pid-${randomBytes(8).toString("hex")}@@ `;
  /** The wrapper's PID once its line has arrived and is one; undefined before, or when it never came. */
  pid: number | undefined;
  private readonly tagBytes = Buffer.from(this.tag, "latin1");
  private pending: Buffer = Buffer.alloc(0);
  private done = false;

  /** The shell command that prints the PID line: `printf` of the tag and `$$`. The tag needs no quoting beyond single quotes. */
  get command(): string {
    return `printf '%s%s\\n' '${this.tag}' "$$"`;
  }

  /**
   * Takes one chunk of stdout; returns the bytes that are output (possibly empty).
   * Before the PID line, at most the tag's length plus a PID is held back: a startup
   * file that prints without end is passed on, never buffered without bound.
   */
  push(data: Buffer): Buffer {
    if (this.done) return data;
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const at = this.pending.indexOf(this.tagBytes);
    if (at < 0) {
      // Only a tail shorter than the tag can still be its start.
      const keep = Math.min(this.pending.length, this.tagBytes.length - 1);
      return this.take(this.pending.length - keep);
    }
    const end = this.pending.indexOf(0x0a, at + this.tagBytes.length);
    if (end < 0) {
      if (this.pending.length - at - this.tagBytes.length <= MAX_PID_BYTES) return this.take(at);
      // A tag without a PID line after it is not the wrapper's: everything is output.
      return this.finish(this.pending);
    }
    const parsed = Number(this.pending.subarray(at + this.tagBytes.length, end).toString("latin1"));
    this.pid = Number.isSafeInteger(parsed) && parsed > 1 ? parsed : undefined;
    return this.finish(Buffer.concat([this.pending.subarray(0, at), this.pending.subarray(end + 1)]));
  }

  /** What is still held back, when the stream ends without the PID line. */
  end(): Buffer {
    return this.finish(this.pending);
  }

  private take(length: number): Buffer {
    const out = this.pending.subarray(0, length);
    this.pending = this.pending.subarray(length);
    return out;
  }

  private finish(out: Buffer): Buffer {
    this.done = true;
    this.pending = Buffer.alloc(0);
    return out;
  }
}
