import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateRepository } from "../../src/validate/index.ts";
import { fixtureNames, materialize, readFixture } from "./corpus.ts";

/**
 * Each file in test/fixtures/invalid/ is one mistake an engineer makes. Its header says
 * where it goes (`# target: inventory|runbook`) and what must be reported
 * (`# expect: LINE:COL RULE "message part" [hint "hint part"]`, one line each).
 * The file is dropped into a copy of test/fixtures/base/ (with the setup its header
 * asks for, see corpus.ts) and validated; every expected diagnostic must appear at
 * exactly that line and column. `# expect: FILE:LINE:COL …` expects it in another file.
 */
const EXPECT = /^# expect: (?:([^\s:]+):)?(\d+):(\d+) (\S+) "([^"]+)"(?: hint "([^"]+)")?\r?$/;
const NOW = new Date("2026-11-22T12:00:00Z");

interface Expectation {
  file?: string;
  line: number;
  column: number;
  rule: string;
  message: string;
  hint?: string;
}

function parseExpectations(text: string, name: string): Expectation[] {
  const expectations = text
    .split("\n")
    .filter((l) => l.startsWith("# expect:"))
    .map((l) => {
      const m = EXPECT.exec(l);
      if (!m) throw new Error(`${name}: malformed expectation: ${l}`);
      return { ...(m[1] ? { file: m[1] } : {}), line: Number(m[2]), column: Number(m[3]), rule: m[4]!, message: m[5]!, ...(m[6] ? { hint: m[6] } : {}) };
    });
  if (expectations.length === 0) throw new Error(`${name}: no '# expect:' line`);
  return expectations;
}

const names = await fixtureNames("invalid");
const work = await mkdtemp(join(tmpdir(), "steward-invalid-"));
afterAll(() => rm(work, { recursive: true, force: true }));

describe("invalid fixture corpus", () => {
  it("has at least 40 distinct mistakes", () => {
    expect(names.length).toBeGreaterThanOrEqual(40);
  });

  it.each(names)("%s is reported at the expected place", async (name) => {
    const fixture = await readFixture("invalid", name);
    const expectations = parseExpectations(fixture.header, name);
    const { repo, file } = await materialize(work, fixture);
    const result = await validateRepository(repo, { now: NOW });
    for (const want of expectations) {
      const found = result.diagnostics.find((d) => d.file === (want.file ?? file) && d.line === want.line && d.column === want.column && d.rule === want.rule && d.message.includes(want.message));
      expect(found, `${name}: expected ${want.file ?? file}:${want.line}:${want.column} ${want.rule} "${want.message}"; got:\n${result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.rule} ${d.message}`).join("\n")}`).toBeDefined();
      if (want.hint) expect(found?.hint).toContain(want.hint);
    }
    expect(result.errors).toBeGreaterThan(0);
  });
});
