import { ConnectTimeoutError } from "../errors.ts";
import type { HostTarget } from "../types.ts";

/** Node fires longer timers at once (TimeoutOverflowWarning); longer limits wait this long. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The time one attempt to connect to a host may take, fixed when the attempt starts:
 * the host's own `connectTimeoutMs` when it sets one, else the transport's. Every step
 * of the attempt (reading keys, the jump host's forward, TCP connect, handshake,
 * authentication) draws on the same budget, and running out of it is a
 * ConnectTimeoutError that names the limit in force.
 */
export class ConnectDeadline {
  readonly timeoutMs: number;
  private readonly expiresAt: number;

  constructor(
    private readonly target: HostTarget,
    fallbackMs: number,
  ) {
    this.timeoutMs = target.connectTimeoutMs ?? fallbackMs;
    this.expiresAt = Date.now() + this.timeoutMs;
  }

  /** Milliseconds left, never negative. */
  remaining(): number {
    return Math.max(0, this.expiresAt - Date.now());
  }

  error(options?: ErrorOptions): ConnectTimeoutError {
    return new ConnectTimeoutError(this.target.name, this.timeoutMs, options);
  }

  /** Calls `onExpire` when the budget runs out; the returned function cancels it. */
  onExpire(onExpire: () => void): () => void {
    const timer = setTimeout(onExpire, Math.min(this.remaining(), MAX_TIMER_MS));
    return () => clearTimeout(timer);
  }

  /**
   * Settles as `step` does, or rejects with ConnectTimeoutError when the budget runs
   * out first; `discard` then receives what the step yields late (an open stream to
   * close, say).
   */
  race<T>(step: Promise<T>, discard?: (late: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let expired = false;
      const cancel = this.onExpire(() => {
        expired = true;
        reject(this.error());
      });
      step.then(
        (value) => {
          cancel();
          if (expired) discard?.(value);
          else resolve(value);
        },
        (error: unknown) => {
          cancel();
          reject(error);
        },
      );
    });
  }
}
