import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DIAGNOSTICS_PER_FILE, validateRepository } from "../../src/validate/index.ts";
import { formatGithub, formatJson, formatText } from "../../src/validate/format.ts";

const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const NOW = new Date("2026-11-22T12:00:00Z");
const work = await mkdtemp(join(tmpdir(), "steward-validate-output-"));
afterAll(() => rm(work, { recursive: true, force: true }));

async function repoWith(name: string, files: Record<string, string>): Promise<string> {
  const repo = join(work, name);
  await cp(join(fixtures, "base"), repo, { recursive: true });
  for (const [path, text] of Object.entries(files)) await writeFile(join(repo, path), text);
  return repo;
}

// Every character a terminal acts on or a reader cannot see.
const ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069]/;

describe("validate output shows what is in the file, and nothing acts on the reader", () => {
  const HOSTILE = [
    "hosts:",
    "  web-09:",
    "    address: 10.0.9.9",
    '    "bogus\\e]0;PWNED\\a\\e[2J": 1',
    '    "x` @octocat #1 **bold** <img src=x> [c](https:\\\\evil.example) `y": 2',
    '    "ev\\u202eil": 3',
    '    "na\\u200bme": 4',
    "",
  ].join("\n");

  it("writes escape sequences, bidi and zero-width characters as code points in text output", async () => {
    const result = await validateRepository(await repoWith("hostile", { "inventory/zz.yaml": HOSTILE }), { now: NOW });
    const text = formatText(result, result.texts);
    expect(text).not.toMatch(ACTIVE);
    expect(text).toContain("unknown key `bogus<U+001B>]0;PWNED<U+0007><U+001B>[2J`");
    expect(text).toContain("ev<U+202E>il");
    expect(text).toContain("unknown key `na<U+200B>me`");
    // The pointer and the excerpt are shown the same way.
    expect(text).toContain("at /hosts/web-09/bogus<U+001B>]0;PWNED<U+0007><U+001B>[2J");
    // JSON keeps the exact value: it is for programs, and JSON escapes controls itself.
    expect(formatJson(result)).toContain("bogus\\u001b]0;PWNED\\u0007\\u001b[2J");
  });

  it("escapes every value in GitHub annotations and the step summary; no code span, mention or link survives", async () => {
    const result = await validateRepository(await repoWith("hostile-gh", { "inventory/zz.yaml": HOSTILE }), { now: NOW });
    const { log, summary } = formatGithub(result);
    expect(log).not.toMatch(ACTIVE);
    expect(summary).not.toMatch(ACTIVE);
    const row = summary.split("\n").find((l) => l.includes("octocat"))!;
    expect(row).toBeDefined();
    expect(row).not.toMatch(/(?<!\\)`/);
    expect(row).not.toMatch(/(?<!\\)\*\*/);
    expect(row).not.toMatch(/(?<!\\)<img/);
    expect(row).not.toMatch(/(?<!\\)\[c(?<!\\)\]/);
    expect(row).toContain("@\u2060octocat");
    expect(row).toContain("#\u20601");
  });
});

describe("validate on huge files", () => {
  it("reports 80,000 unknown keys in a few seconds, the first 100 and a count of the rest", async () => {
    const lines = ["hosts:", "  web-09:", "    address: 10.0.9.9"];
    for (let i = 0; i < 80_000; i++) lines.push(`    bogus${i}: 1`);
    const repo = await repoWith("many-keys", { "inventory/zz.yaml": `${lines.join("\n")}\n` });
    const started = Date.now();
    const result = await validateRepository(repo, { now: NOW });
    const text = formatText(result, result.texts);
    // Quadratic behaviour took minutes here; linear takes about two seconds.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.errors).toBe(80_000);
    const inFile = result.diagnostics.filter((d) => d.file === "inventory/zz.yaml");
    expect(inFile).toHaveLength(DIAGNOSTICS_PER_FILE + 1);
    expect(inFile.at(-1)).toMatchObject({ rule: "validate/too-many", message: expect.stringMatching(/… and 799\d\d more errors/) });
    expect(text.length).toBeLessThan(100_000);
  }, 60_000);

  it("clips a 500 KB key in messages, pointers and excerpts, and says the line was cut", async () => {
    const key = "k".repeat(500_000);
    const result = await validateRepository(await repoWith("long-key", { "inventory/zz.yaml": `hosts:\n  web-09:\n    address: 10.0.9.9\n    ${key}: 1\n` }), { now: NOW });
    const text = formatText(result, result.texts);
    expect(text.length).toBeLessThan(10_000);
    expect(text).toContain("(499920 more characters)");
    expect(text).toMatch(/line 4 is 500007 characters long; showing 1–120/);
    const json = formatJson(result);
    expect(json.length).toBeLessThan(700_000);
  });
});
