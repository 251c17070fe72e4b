import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StewardError } from "../../src/core/errors.ts";
import type { UpgradablePackage } from "../../src/facts/types.ts";
import { canonicalJson, factsDigest, factsDigestValue, sha256, sortKeys } from "../../src/plan/digest.ts";
import { withUpgrades } from "./fixtures.ts";

describe("canonicalJson (RFC 8785)", () => {
  it("serialises numbers as RFC 8785 §3.2.2.3 does", () => {
    const numbers = JSON.parse('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001,1e21,1e-7,0.000001,-0]}') as unknown;
    expect(canonicalJson(numbers)).toBe('{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27,1e+21,1e-7,0.000001,0]}');
  });

  it("sorts keys by UTF-16 code units, as RFC 8785 §3.2.3 does", () => {
    const value = JSON.parse('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}') as Record<string, string>;
    // Read the order off the text: a parsed object would put the integer key "1" first.
    const order = [...canonicalJson(value).matchAll(/:"([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual(["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]);
  });

  it("sorts integer-like keys as strings, which JSON.stringify of a key-sorted object cannot", () => {
    // JavaScript enumerates integer-like keys first, whatever order they were added in.
    expect(JSON.stringify(sortKeys({ a: 3, "9": 2, "10": 1 }))).toBe('{"9":2,"10":1,"a":3}');
    expect(canonicalJson({ a: 3, "9": 2, "10": 1 })).toBe('{"10":1,"9":2,"a":3}');
  });

  it("gives one text for a value whatever its key order, and reads back to the value", () => {
    const reverse = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reverse);
      if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverse(v)]));
      return value;
    };
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(reverse(value))).toBe(text);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it("refuses a lone surrogate with the JSON pointer of the string", () => {
    let error: unknown;
    try {
      canonicalJson({ a: [{ "b/c": "x\ud800y" }] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StewardError);
    expect((error as StewardError).code).toBe("invalid-input");
    expect((error as StewardError).message).toBe("the text at /a/0/b~1c holds a lone UTF-16 surrogate, which canonical JSON (RFC 8785) cannot represent");
    expect(canonicalJson({ a: "\ud83d\ude00" })).toBe('{"a":"\ud83d\ude00"}');
  });
});

describe("the facts digest's hand-written text", () => {
  // Any text a host could report: quotes, backslashes, control characters, non-ASCII and emoji.
  const text = fc.string({ unit: "binary", maxLength: 12 }).filter((s) => !/[\ud800-\udfff]/.test(s) || /^(?:[^\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/.test(s));
  const pkg: fc.Arbitrary<UpgradablePackage> = fc.record(
    {
      name: text,
      from: text,
      to: text,
      security: fc.boolean(),
      source: text,
      versions: fc.array(fc.record({ version: text, security: fc.boolean(), source: text }, { requiredKeys: ["version", "security"] }), { maxLength: 3 }),
    },
    { requiredKeys: ["name", "from", "to", "security"] },
  );

  it("equals the canonical JSON of factsDigestValue for any package text", () => {
    fc.assert(
      fc.property(fc.array(pkg, { maxLength: 5 }), fc.option(text, { nil: undefined }), fc.array(text, { maxLength: 3 }), (packages, current, apps) => {
        const facts = withUpgrades(packages, current === undefined ? {} : { apps: { [apps[0] ?? "app"]: { current, available: apps } } });
        const names = new Set(packages.map((p) => p.name));
        expect(factsDigest(facts, names, apps.slice(0, 1))).toBe(sha256(canonicalJson(factsDigestValue(facts, names, apps.slice(0, 1)))));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a lone surrogate as the canonical form does, naming where", () => {
    const facts = withUpgrades([{ name: "lib", from: "1.0", to: "2.0\udc00", security: false }]);
    const names = new Set(["lib"]);
    expect(() => canonicalJson(factsDigestValue(facts, names))).toThrow("the text at /upgradable/0/to holds a lone UTF-16 surrogate");
    expect(() => factsDigest(facts, names)).toThrow("the text at /upgradable/0/to holds a lone UTF-16 surrogate");
  });
});
