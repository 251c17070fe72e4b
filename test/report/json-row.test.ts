import { describe, expect, it } from "vitest";
import { firstDuplicateKey, MAX_DEPTH, MAX_VALUES, RowSlices, splitJsonArray } from "../../src/report/history/json-row.ts";
import { prng } from "../support/prng.ts";

/** What the splitter says of a line: null when it declines, else each value as JSON.parse reads its bytes, and which it called plain. */
function split(line: string): { values: unknown[]; plain: boolean[] } | null {
  const bytes = Buffer.from(line, "utf8");
  const out = new RowSlices();
  if (!splitJsonArray(bytes, 0, bytes.length, out)) return null;
  const values: unknown[] = [];
  const plain: boolean[] = [];
  for (let i = 0; i < out.count; i++) {
    values.push(JSON.parse(bytes.toString("utf8", out.starts[i], out.ends[i])));
    plain.push(out.isPlain(i));
  }
  return { values, plain };
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

/** The rule the fast path stands on: what the splitter accepts, JSON.parse accepts with the same values; what it declines is declined for a stated reason only. */
function agrees(line: string): void {
  const mine = split(line);
  const theirs = parse(line);
  if (mine !== null) {
    expect(theirs, `accepted a line JSON.parse rejects: ${JSON.stringify(line)}`).toBeDefined();
    expect(Array.isArray(theirs!.value)).toBe(true);
    expect(mine.values).toEqual(theirs!.value);
    const raw = Buffer.from(line, "utf8");
    mine.plain.forEach((p, i) => {
      if (p) {
        const v = (theirs!.value as unknown[])[i];
        expect(typeof v).toBe("string");
        expect(/^[\x20-\x7e]*$/.test(v as string)).toBe(true);
        expect(raw.includes(Buffer.from(JSON.stringify(v)))).toBe(true);
      }
    });
  } else if (theirs !== undefined && Array.isArray(theirs.value)) {
    // Declined JSON: only for nesting or width beyond the limits.
    const v = theirs.value as unknown[];
    expect(depth(v) > MAX_DEPTH || v.length > MAX_VALUES, `declined a JSON array within the limits: ${JSON.stringify(line)}`).toBe(true);
  }
}

const ROW = ["h-0001", "2026-12-01T01:00:00.000Z", ["web", "db"], "debian 12", [["/", 53687091200, 13485280820], ["/var", 214748364800, 45754207479]], [8589934592, 5438175613], [0.81, 0.97, 0.92, 2], 28515600, "bc2a61b2-591e-4782-ee90-ce17d737cd83", true, [["pkg97557", "1.4.2-1", "1.4.3-1", "patch"], ["libc6", "2.36-9+deb12u4", "2.36-9+deb12u7", "security"]]];

describe("splitting a JSON array line into its values by their bytes", () => {
  it("splits a snapshot row into its 11 values, each the value JSON.parse gives, host and time plain", () => {
    const got = split(JSON.stringify(ROW))!;
    expect(got.values).toEqual(ROW);
    expect(got.plain.slice(0, 2)).toEqual([true, true]);
    expect(got.plain[2]).toBe(false); // an array is never plain
    expect(got.plain[9]).toBe(false); // nor a literal
  });

  it("reads JSON's white space, escapes, numbers and literals as JSON.parse does", () => {
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
    ];
    for (const line of good) {
      expect(split(line), line).not.toBeNull();
      agrees(line);
    }
    // Escaped or non-ASCII strings are not plain: their bytes are not their text.
    expect(split('["a\\"b","é","ok"]')!.plain).toEqual([false, false, true]);
  });

  it("declines every line that is not a JSON array", () => {
    const bad = [
      "",
      " ",
      "[",
      "]",
      "[1,]",
      "[,1]",
      "[1 2]",
      "[01]",
      "[1.]",
      "[.5]",
      "[-]",
      "[1e]",
      "[1e+]",
      "[+1]",
      "[tru]",
      "[truex]",
      "[nul]",
      "[NaN]",
      "[Infinity]",
      '["a]',
      '["a\\x"]',
      '["a\\u12g4"]',
      '["a\\u12"]',
      '["tab\there"]',
      "[\"nl\u0001\"]",
      "['a']",
      '[{"a"}]',
      '[{"a":}]',
      '[{"a":1,}]',
      "[{1:2}]",
      "[[1,2]",
      "[[1,2]]]",
      "[{]}",
      '{"v":2}',
      '"x"',
      "[1]x",
      "x[1]",
      "[1]]",
      "[[1],]",
    ];
    for (const line of bad) {
      expect(split(line), line).toBeNull();
      agrees(line);
    }
  });

  it("declines nesting deeper than its limit and more values than it records, which JSON.parse would read", () => {
    const deep = `[${"[".repeat(MAX_DEPTH)}${"]".repeat(MAX_DEPTH)}]`;
    expect(parse(deep)).toBeDefined();
    expect(split(deep)).toBeNull();
    expect(split(`[${"[".repeat(MAX_DEPTH - 1)}${"]".repeat(MAX_DEPTH - 1)}]`)).not.toBeNull();
    const wide = JSON.stringify(Array.from({ length: MAX_VALUES + 1 }, (_, i) => i));
    expect(split(wide)).toBeNull();
    expect(split(JSON.stringify(Array.from({ length: MAX_VALUES }, (_, i) => i)))).not.toBeNull();
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
      if (split(line) !== null) accepted += 1;
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

