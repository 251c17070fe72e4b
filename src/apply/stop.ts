/**
 * Stop requests for a run, as the CLI turns SIGINT/SIGTERM into them. The first
 * request is graceful: no host starts any more and each host in flight finishes its
 * current step. The second is hard: work stops at once. Both are recorded.
 */
import { setMaxListeners } from "node:events";

export type StopMode = "graceful" | "hard";

export class StopController {
  readonly #graceful = new AbortController();
  readonly #hard = new AbortController();
  #reasons: string[] = [];

  constructor() {
    // Every host in flight listens to both signals: hundreds of listeners are expected, not a leak.
    setMaxListeners(0, this.#graceful.signal, this.#hard.signal);
  }

  /** Aborted on the first request: finish the current step, start nothing new. */
  get stop(): AbortSignal {
    return this.#graceful.signal;
  }

  /** Aborted on the second request: stop at once. */
  get abort(): AbortSignal {
    return this.#hard.signal;
  }

  /** Why each request came (`SIGINT`, `SIGTERM`, …), in order. */
  get reasons(): readonly string[] {
    return this.#reasons;
  }

  /**
   * Requests a stop; `reason` names its cause (a signal name). Returns which stop this
   * request made; a third request and later change nothing and return "hard".
   */
  request(reason: string): StopMode {
    this.#reasons.push(reason);
    if (!this.#graceful.signal.aborted) {
      this.#graceful.abort(reason);
      return "graceful";
    }
    if (!this.#hard.signal.aborted) this.#hard.abort(reason);
    return "hard";
  }
}
