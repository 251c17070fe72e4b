import { describe, expect, it } from "vitest";
import { invisibleCharacters } from "../../src/load/invisible.ts";
import { tooDeep } from "../../src/load/yaml-hints.ts";

describe("invisibleCharacters", () => {
  it("leaves text in values, quotes, block scalars and comments alone", () => {
    const text = [
      "description: Grüße\u00a0— 再起動 ✅",
      'name: "a\u2028b\u200b"',
      "note: 'x\uff1a y'",
      "# comment with \u200b and \u00a0",
      "script: |",
      "  echo \u200b",
      "  \u00a0 indented text",
      "greek: αβγ",
      "",
    ].join("\n");
    expect(invisibleCharacters(text)).toEqual([]);
  });

  it("names each kind at its line and column", () => {
    const found = invisibleCharacters("a:\n\u3000b: 1\nc\u200dd: 2\nx: 1\u2029\nvаlue: 3\n").map((f) => `${f.line}:${f.column} ${f.message.split(" at ")[0]}`);
    expect(found).toEqual([
      "2:1 U+3000 IDEOGRAPHIC SPACE in the indentation",
      "3:2 U+200D ZERO WIDTH JOINER in the key `c<U+200D>d`",
      "4:5 U+2029 PARAGRAPH SEPARATOR in the line",
      "5:2 U+0430 in the key `vаlue`",
    ]);
  });
});

describe("tooDeep", () => {
  it("allows the nesting real files have and refuses more than 64 levels, once", () => {
    expect(tooDeep("a:\n  b:\n    - c: [1, {d: [2]}]\n")).toBeUndefined();
    expect(tooDeep(`x: ${"[".repeat(63)}${"]".repeat(63)}\n`)).toBeUndefined();
    expect(tooDeep(`x: ${"[".repeat(70)}${"]".repeat(70)}\n`)).toMatchObject({ line: 1, column: 67, rule: "yaml/too-deep" });
  });
});
