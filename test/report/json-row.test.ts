import { describe, expect, it } from "vitest";
import { firstDuplicateKey, lastStringPlain, MAX_DEPTH, scanContainer, scanString } from "../../src/report/history/json-row.ts";
import { prng } from "../support/prng.ts";

const space = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Whether the scanner takes the whole line as one JSON array or object (white space around it allowed). */
function scans(line: string): boolean {
  const b = Buffer.from(line, "utf8");
  let start = 0;
  let end = b.length;
  while (start < end && space(b[start]!)) start++;
  while (end > start && space(b[end - 1]!)) end--;
  if (start >= end || (b[start] !== 0x5b && b[start] !== 0x7b)) return false;
  return scanContainer(b, start, end) === end;
}

/** What JSON.parse says of the same line: its value, or undefined when it throws. */
function parse(line: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(Buffer.from(line, "utf8").toString("utf8")) };
  } catch {
    return undefined;
  }
}

const depth = (v: unknown): number => (typeof v === "object" && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);

/** The rule the fast path stands on: what the scanner accepts, JSON.parse accepts; what it declines is not JSON, or nests deeper than its limit. */
function agrees(line: string): void {
  const theirs = parse(line);
  if (scans(line)) expect(theirs, `accepted a line JSON.parse rejects: ${JSON.stringify(line)}`).toBeDefined();
  else if (theirs !== undefined && typeof theirs.value === "object" && theirs.value !== null) {
    expect(depth(theirs.value) > MAX_DEPTH, `declined JSON within the limits: ${JSON.stringify(line)}`).toBe(true);
  }
}

const ROW = ["h-0001", "2026-12-01T01:00:00.000Z", ["web", "db"], "debian 12", [["/", 53687091200, 13485280820], ["/var", 214748364800, 45754207479]], [8589934592, 5438175613], [0.81, 0.97, 0.92, 2], 28515600, "bc2a61b2-591e-4782-ee90-ce17d737cd83", true, [["pkg97557", "1.4.2-1", "1.4.3-1", "patch"], ["libc6", "2.36-9+deb12u4", "2.36-9+deb12u7", "security"]]];

describe("checking JSON from its bytes", () => {
  it("reads JSON's white space, escapes, numbers and literals as JSON.parse does, and says which strings are plain", () => {
    const good = [
      "[]",
      " [ ] ",
      "[1]",
      '\t[ "a" , 1 ,true,false ,null ]\r',
      '["a\\"b","\\\\","\\/","\\b\\f\\n\\r\\t","\\u00e9\\uD83D\\uDE00"]',
      '["é","日本", "\u007f"]',
      "[-0, 0, 1, -1.5, 1e5, 1E+5, 2.5e-3, 12345678901234567890, 1e400]",
      '[{}, {"a":1}, { "a" : [ 1 , { "b" : [] } ] }, [[[]]]]',
      '[{"":""}]',
      JSON.stringify(ROW),
    ];
    for (const line of good) {
      expect(scans(line), line).toBe(true);
      agrees(line);
    }
    const plain = (text: string): boolean => {
      const b = Buffer.from(text, "utf8");
      expect(scanString(b, 0, b.length)).toBe(b.length);
      return lastStringPlain();
    };
    expect([plain('"ok"'), plain('"a\\"b"'), plain('"é"'), plain('"\u007f"'), plain('""')]).toEqual([true, false, false, false, true]);
  });

  it("declines every line that is not JSON", () => {
    const bad = ["", " ", "[", "]", "[1,]", "[,1]", "[1 2]", "[01]", "[1.]", "[.5]", "[-]", "[1e]", "[1e+]", "[+1]", "[tru]", "[truex]", "[nul]", "[NaN]", "[Infinity]", '["a]', '["a\\x"]', '["a\\u12g4"]', '["a\\u12"]', '["tab\there"]', '["nl\u0001"]', "['a']", '[{"a"}]', '[{"a":}]', '[{"a":1,}]', "[{1:2}]", "[[1,2]", "[[1,2]]]", "[{]}", '"x"', "[1]x", "x[1]", "[1]]", "[[1],]"];
    for (const line of bad) {
      expect(scans(line), line).toBe(false);
      agrees(line);
    }
  });

  it("declines nesting deeper than its limit, which JSON.parse would read", () => {
    const deep = `${"[".repeat(MAX_DEPTH + 1)}${"]".repeat(MAX_DEPTH + 1)}`;
    expect(parse(deep)).toBeDefined();
    expect(scans(deep)).toBe(false);
    expect(scans(`${"[".repeat(MAX_DEPTH)}${"]".repeat(MAX_DEPTH)}`)).toBe(true);
  });

  it("agrees with JSON.parse on 20,000 lines mutated from good rows", () => {
    const next = prng(7);
    const rng = { int: (n: number): number => Math.floor(next() * n) };
    const alphabet = ['"', "\\", "[", "]", "{", "}", ",", ":", " ", "\t", "0", "1", "-", "+", ".", "e", "E", "t", "f", "n", "u", "a", "é", "\u0001", "\u007f", "x"];
    const base = [JSON.stringify(ROW), JSON.stringify(["h", "t", []]), '[{"a":[1,{"b":"c\\"d"}]},-1.5e3,"\\u0041",null]', JSON.stringify([["a", "b"], { k: [1, 2, { z: null }] }, ""])];
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      let line = base[rng.int(base.length)]!;
      const edits = 1 + rng.int(3);
      for (let e = 0; e < edits; e++) {
        const at = rng.int(line.length + 1);
        const op = rng.int(3);
        const ch = alphabet[rng.int(alphabet.length)]!;
        line = op === 0 ? line.slice(0, at) + ch + line.slice(at) : op === 1 ? line.slice(0, at) + line.slice(at + 1) : line.slice(0, at) + ch + line.slice(at + 1);
      }
      agrees(line);
      if (scans(line)) accepted += 1;
    }
    // Some of the mutations keep the line JSON (a digit for a digit, a letter in a string): both sides were exercised.
    expect(accepted).toBeGreaterThan(1000);
    expect(accepted).toBeLessThan(19_000);
  });

  it("finds a member named twice in one object, at any depth and however its name is written", () => {
    const dup = (text: string): string | null => {
      const b = Buffer.from(text, "utf8");
      return firstDuplicateKey(b, 0, b.length);
    };
    expect(dup('{"host":"a","v":1,"host":"b"}')).toBe("host");
    expect(dup('{"host":"a","ho\\u0073t":"b"}')).toBe("host");
    expect(dup('{"v":1,"disks":[{"mount":"/","mount":"/x"}]}')).toBe("mount");
    expect(dup(' { "a" : 1 , "b" : { "a" : 2 } } ')).toBeNull(); // the same name in two objects is no repeat
    expect(dup('[{"a":1},{"a":2}]')).toBeNull();
    expect(dup('{"é":1,"\\u00e9":2}')).toBe("é");
    expect(dup('{"a":[1,"x",{"b":null,"c":true}],"d":-1.5e3}')).toBeNull();
    expect(dup("[1,2,3]")).toBeNull();
  });
});

