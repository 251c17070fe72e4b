import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compileGlob, GlobSyntaxError } from "../../src/model/glob.ts";

const matches = (pattern: string, name: string): boolean => compileGlob(pattern).test(name);

describe("globs", () => {
  it.each([
    ["web-*", "web-01", true],
    ["web-*", "db-01", false],
    ["*", "", true],
    ["db-fra-0?", "db-fra-01", true],
    ["db-fra-0?", "db-fra-011", false],
    ["web-0[12]", "web-02", true],
    ["web-0[12]", "web-03", false],
    ["web-0[1-3]", "web-03", true],
    ["web-0[!12]", "web-03", true],
    ["web-0[!12]", "web-01", false],
    ["[]x]", "]", true],
    ["a-[a-]", "a--", true],
    ["linux-image-*", "linux-image-6.1.0-13-amd64", true],
    ["*-dev", "libssl-dev", true],
    ["lib*ssl*", "libssl3", true],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "aXbYcZ", false],
    ["a.b", "aXb", false],
    ["a+b", "a+b", true],
    ["(x)", "(x)", true],
  ])("%j against %j is %s", (pattern, name, expected) => {
    expect(matches(pattern, name)).toBe(expected);
  });

  it("agrees with a reference matcher on random patterns", () => {
    // The reference: the same glob as a regular expression (fine for short inputs).
    const reference = (pattern: string, name: string): boolean => new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "s").test(name);
    const alphabet = fc.constantFrom("a", "b", "-", ".", "*", "?");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 8 }), fc.array(fc.constantFrom("a", "b", "-", "."), { maxLength: 12 }), (p, n) => {
        expect(matches(p.join(""), n.join(""))).toBe(reference(p.join(""), n.join("")));
      }),
      { numRuns: 2000 },
    );
  });

  it("reports an unclosed '[' at the bracket", () => {
    let caught: unknown;
    try {
      compileGlob("web-0[12");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(GlobSyntaxError);
    expect((caught as GlobSyntaxError).index).toBe(5);
    expect((caught as GlobSyntaxError).message).toContain("never closed");
  });

  it("reports a backwards range", () => {
    expect(() => compileGlob("x[z-a]")).toThrow(/backwards/);
  });

  it("matches pathological patterns against long names in linear-ish time", () => {
    // A backtracking regex takes minutes on the first of these; the matcher is O(pattern × name).
    const patterns = ["a*a*a*a*a*a*a*a*a*b", `${"a*".repeat(40)}b`, `*${"?*".repeat(30)}b`, `${"*a".repeat(50)}*b`];
    const names = ["a".repeat(63), "a".repeat(200), `${"a".repeat(199)}c`];
    const started = performance.now();
    let hits = 0;
    for (let round = 0; round < 2500; round++) for (const p of patterns) for (const n of names) if (matches(p, n)) hits++;
    const elapsed = performance.now() - started;
    expect(hits).toBe(0);
    // 30,000 matches of up to 100-token patterns on 200-character names; generous bound.
    expect(elapsed).toBeLessThan(10_000);
  });
});
