import { describe, expect, it } from "vitest";
import { connectionsForFileLimit, mapConcurrent, RateLimiter, Semaphore } from "../../src/transport/limiter.ts";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("limiter", () => {
  it("never exceeds the semaphore limit and serves waiters in order", async () => {
    const semaphore = new Semaphore(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        semaphore.run(async () => {
          order.push(i);
          peak = Math.max(peak, ++active);
          await sleep(20);
          active--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(semaphore.active).toBe(0);
  });

  it("spaces starts by the rate", async () => {
    const rate = new RateLimiter(20);
    const started = Date.now();
    for (let i = 0; i < 5; i++) await rate.wait();
    // The first start is immediate, the other four wait 50 ms each.
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
  });

  it("does not let a slow item hold up the others", async () => {
    const finished: string[] = [];
    const delays = { slow: 300, a: 10, b: 10, c: 10, d: 10 };
    const results = await mapConcurrent(Object.entries(delays), 2, async ([name, ms]) => {
      await sleep(ms);
      if (name === "c") throw new Error("c failed");
      finished.push(name);
      return name;
    });
    expect(finished).toEqual(["a", "b", "d", "slow"]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled"]);
  });

  it("derives a connection budget from the open-file limit", () => {
    const budget = connectionsForFileLimit();
    expect(budget).toBeGreaterThan(0);
    expect(budget).toBeLessThanOrEqual(4096);
  });
});
