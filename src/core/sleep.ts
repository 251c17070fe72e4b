/**
 * Waits `ms`, or less when `signal` aborts first (resolving, never rejecting), and
 * leaves no listener behind: pauses between waves and polls for a rebooting host
 * both stop at once on a stop request.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
