/**
 * A wake-up signal for one waiter: the engine's loop waits on `next()` and every event
 * that could let a host start (a host landed, a halt, a signal) calls `notify()`. A
 * notify that comes while nobody waits is kept, so the next wait returns at once and no
 * wake-up is lost; several notifies before a wait count as one.
 */
export class Wakeup {
  #wake: (() => void) | null = null;
  #woken = false;

  /** Resolves at the next notify(), or at once if one came since the last wait. */
  next(): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.#wake = resolve));
  }

  /** Wakes the waiter, or leaves the wake-up for the next wait. */
  notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    if (wake === null) this.#woken = true;
    else wake();
  }
}
