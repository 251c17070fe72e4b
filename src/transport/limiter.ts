import { readFileSync } from "node:fs";

/**
 * Concurrency primitives for talking to many hosts: a FIFO semaphore, a rate limiter
 * for new connections, and a worker pool that never lets a slow host hold up the rest.
 */

/** A counting semaphore; waiters are served first come, first served. */
export class Semaphore {
  private readonly waiters: Array<() => void> = [];
  private inUse = 0;

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`semaphore limit must be at least 1, got ${limit}`);
  }

  /** Resolves with a release function once a slot is free. */
  async acquire(): Promise<() => void> {
    if (this.inUse < this.limit) {
      this.inUse++;
    } else {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so a burst cannot overtake it.
      if (next !== undefined) next();
      else this.inUse--;
    };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }

  /** Slots taken now. */
  get active(): number {
    return this.inUse;
  }

  /** Tasks waiting for a slot. */
  get pending(): number {
    return this.waiters.length;
  }
}

/**
 * Spaces out starts to at most `perSecond` a second. Opening hundreds of SSH
 * connections at once trips sshd's MaxStartups and bastions' rate limits, which drop
 * connections that would have succeeded a moment later.
 */
export class RateLimiter {
  private next = 0;

  constructor(private readonly perSecond: number) {
    if (!(perSecond > 0)) throw new RangeError(`rate must be positive, got ${perSecond}`);
  }

  /** Resolves when the caller may start. */
  async wait(): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.next);
    this.next = slot + 1000 / this.perSecond;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }
}

/**
 * Runs `task` over `items` with at most `limit` in flight. Each worker takes the next
 * item as soon as its current one finishes, so one slow host delays only itself.
 * Results keep the input order; a failure is a value, so every item is attempted.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<Array<PromiseSettledResult<R>>> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let cursor = 0;
  const worker = async (): Promise<void> => {
    while (cursor < items.length) {
      const index = cursor++;
      const item = items[index] as T;
      try {
        results[index] = { status: "fulfilled", value: await task(item, index) };
      } catch (reason) {
        results[index] = { status: "rejected", reason };
      }
    }
  };
  const workers = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/**
 * How many connections fit under the process's open-file limit. Each SSH connection
 * holds one socket; a jump host's forwarded connection holds none locally but its
 * bastion does. Half the limit is left for files, pipes and the rest of the process.
 */
export function connectionsForFileLimit(fallback = 256): number {
  let soft: number | undefined;
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (match?.[1] !== undefined) soft = match[1] === "unlimited" ? Infinity : Number(match[1]);
  } catch {
    // Not Linux: no cheap way to read RLIMIT_NOFILE; use the conservative fallback.
  }
  if (soft === undefined) return fallback;
  return Math.max(1, Math.min(4096, Math.floor((soft - 32) / 2)));
}
