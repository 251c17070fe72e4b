import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateRepository } from "../../src/validate/index.ts";

/**
 * Each file in test/fixtures/invalid/ is one mistake an engineer makes. Its header says
 * where it goes (`# target: inventory|runbook`) and what must be reported
 * (`# expect: LINE:COL RULE "message part" [hint "hint part"]`, one line each).
 * The file is dropped into a copy of test/fixtures/base/ and validated; every expected
 * diagnostic must appear at exactly that line and column.
 */
const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const EXPECT = /^# expect: (\d+):(\d+) (\S+) "([^"]+)"(?: hint "([^"]+)")?$/;
const NOW = new Date("2026-11-22T12:00:00Z");

interface Expectation {
  line: number;
  column: number;
  rule: string;
  message: string;
  hint?: string;
}

async function parseHeader(text: string, name: string): Promise<{ target: "inventory" | "runbook"; expectations: Expectation[] }> {
  const target = /^# target: (inventory|runbook)$/m.exec(text)?.[1];
  if (target !== "inventory" && target !== "runbook") throw new Error(`${name}: missing '# target: inventory|runbook'`);
  const expectations = text
    .split("\n")
    .filter((l) => l.startsWith("# expect:"))
    .map((l) => {
      const m = EXPECT.exec(l);
      if (!m) throw new Error(`${name}: malformed expectation: ${l}`);
      return { line: Number(m[1]), column: Number(m[2]), rule: m[3]!, message: m[4]!, ...(m[5] ? { hint: m[5] } : {}) };
    });
  if (expectations.length === 0) throw new Error(`${name}: no '# expect:' line`);
  return { target, expectations };
}

const names = (await readdir(join(fixtures, "invalid"))).filter((n) => /\.ya?ml$/.test(n)).sort();
const work = await mkdtemp(join(tmpdir(), "steward-invalid-"));
afterAll(() => rm(work, { recursive: true, force: true }));

describe("invalid fixture corpus", () => {
  it("has at least 40 distinct mistakes", () => {
    expect(names.length).toBeGreaterThanOrEqual(40);
  });

  it.each(names)("%s is reported at the expected place", async (name) => {
    const text = await readFile(join(fixtures, "invalid", name), "utf8");
    const { target, expectations } = await parseHeader(text, name);
    const repo = join(work, name);
    await cp(join(fixtures, "base"), repo, { recursive: true });
    const folder = target === "inventory" ? "inventory" : "runbooks";
    const file = `${folder}/zz-fixture.yaml`;
    await writeFile(join(repo, file), text);
    const result = await validateRepository(repo, { now: NOW });
    for (const want of expectations) {
      const found = result.diagnostics.find((d) => d.file === file && d.line === want.line && d.column === want.column && d.rule === want.rule && d.message.includes(want.message));
      expect(found, `${name}: expected ${want.line}:${want.column} ${want.rule} "${want.message}"; got:\n${result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.rule} ${d.message}`).join("\n")}`).toBeDefined();
      if (want.hint) expect(found?.hint).toContain(want.hint);
    }
    expect(result.errors).toBeGreaterThan(0);
  });
});
