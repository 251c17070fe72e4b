import { describe, expect, it } from "vitest";
import { locateInScalar, locateInTemplate, parseYaml } from "../../src/load/yaml-source.ts";

/** Parses a file and returns where the first `X` of the value at `pointer` is, by the value's own index. */
function whereIsX(text: string, pointer: string): { line: number; column: number } {
  const { source } = parseYaml("f.yaml", text);
  if (!source) throw new Error("did not parse");
  const value = pointer.split("/").slice(1).reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], source.value) as string;
  return locateInScalar(source, pointer, value.indexOf("X"));
}

/** The 1-based line and column of the first `X` in the file itself. */
function xInText(text: string): { line: number; column: number } {
  const before = text.slice(0, text.indexOf("X")).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

const CASES: Record<string, string> = {
  "folded (>)": "a:\n  command: >\n    first line\n    second X line\n",
  "folded, strip (>-)": "a:\n  command: >-\n    first line\n\n    second X line\n",
  "literal (|)": "a:\n  command: |\n    echo one\n      echo X indented\n",
  "plain over three lines": "a:\n  command: first\n    second\n    third X\n",
  "double-quoted over lines with escapes": 'a:\n  command: "a \\t b\n    then \\u00e9 X"\n',
  "single-quoted with doubled quotes": "a:\n  command: 'it''s\n    here X'\n",
  "CRLF line ends": "a:\r\n  command: >\r\n    first\r\n    then X\r\n",
};

describe("positions inside multi-line scalars", () => {
  it.each(Object.entries(CASES))("%s: points at the character, not the key", (_name, text) => {
    expect(whereIsX(text, "/a/command")).toEqual(xInText(text));
  });

  it("places a template's line 2, column N on the file line that holds it", () => {
    const text = "a:\n  command: |\n    echo ok\n    echo {{X}}\n";
    const { source } = parseYaml("f.yaml", text);
    // Template line 2 is "echo {{X}}"; its column 6 is the first "{", in file column 10.
    expect(locateInTemplate(source!, "/a/command", 2, 6)).toEqual({ line: 4, column: 10 });
  });
});
