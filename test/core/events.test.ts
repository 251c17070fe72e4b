import { describe, expect, it } from "vitest";
import { EventEmitter } from "../../src/core/events.ts";

type E = { type: "a"; n: number } | { type: "b" };

describe("event emitter", () => {
  it("calls listeners in order, and a throwing listener neither stops the others nor the emitter", () => {
    const errors: unknown[] = [];
    const events = new EventEmitter<E>((e) => errors.push(e));
    const seen: string[] = [];
    events.on((e) => seen.push(`1:${e.type}`));
    const off = events.on(() => {
      throw new Error("renderer bug");
    });
    events.on((e) => seen.push(`3:${e.type}`));
    events.emit({ type: "a", n: 1 });
    off();
    events.emit({ type: "b" });
    expect(seen).toEqual(["1:a", "3:a", "1:b", "3:b"]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe("renderer bug");
  });
});
