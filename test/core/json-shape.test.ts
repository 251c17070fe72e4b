import { describe, expect, it } from "vitest";
import { scanJsonShape } from "../../src/core/json-shape.ts";

describe("scanJsonShape", () => {
  it("finds nothing in JSON without repeated keys, whatever its strings hold", () => {
    const text = JSON.stringify({ a: "}{][,\"\\", b: [{ a: 1 }, { a: 2 }], c: { a: { a: "\\\"" } }, "\\": 1 });
    expect(scanJsonShape(text, 8)).toEqual({});
    expect(scanJsonShape('"just a string"', 1)).toEqual({});
  });

  it("names the first repeated key by its RFC 6901 pointer, escaping '~' and '/'", () => {
    expect(scanJsonShape('{"a":1,"a":2}', 8)).toEqual({ duplicate: "/a" });
    expect(scanJsonShape('{"x":[{"k":1},{"y":0,"a/b~c":1,"a/b~c":2}]}', 8)).toEqual({ duplicate: "/x/1/a~1b~0c" });
    // The same key through an escape, and a key that reads like one inside a string value.
    expect(scanJsonShape('{"ab":1,"\\u0061b":2}', 8)).toEqual({ duplicate: "/ab" });
    expect(scanJsonShape('{"a":"\\"a\\":","b":1}', 8)).toEqual({});
    // Equal keys in sibling objects are not repeats.
    expect(scanJsonShape('[{"a":1},{"a":1}]', 8)).toEqual({});
  });

  it("stops at the first level past the limit", () => {
    expect(scanJsonShape("[[[]]]", 3)).toEqual({});
    expect(scanJsonShape("[[[[]]]]", 3)).toEqual({ tooDeep: true });
    expect(scanJsonShape('{"a":{"b":{"c":{}}}}', 3)).toEqual({ tooDeep: true });
    expect(scanJsonShape(`${"[".repeat(10_000_000)}`, 32)).toEqual({ tooDeep: true });
  });

  it("leaves text that is not JSON to JSON.parse, without throwing", () => {
    expect(scanJsonShape('{"a', 8)).toEqual({});
    expect(scanJsonShape('{"a\\x":1,"a\\x":1}', 8)).toEqual({});
    expect(scanJsonShape("]]]}}}", 8)).toEqual({});
  });
});
