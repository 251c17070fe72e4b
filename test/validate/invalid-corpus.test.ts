import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateRepository } from "../../src/validate/index.ts";

/**
 * Each file in test/fixtures/invalid/ is one mistake an engineer makes. Its header says
 * where it goes (`# target: inventory|runbook`) and what must be reported
 * (`# expect: LINE:COL RULE "message part" [hint "hint part"]`, one line each).
 * The file is dropped into a copy of test/fixtures/base/ and validated; every expected
 * diagnostic must appear at exactly that line and column. `# expect: FILE:LINE:COL …`
 * expects it in another file of the repository. The file is copied byte for byte (for
 * encoding mistakes); what it needs around it is set up by `# path: PATH` (write the
 * fixture there instead), `# remove: PATH`, `# mkdir: PATH`, `# fifo: PATH` and
 * `# symlink: PATH -> TARGET`, applied in order, paths relative to the repository.
 */
const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const EXPECT = /^# expect: (?:([^\s:]+):)?(\d+):(\d+) (\S+) "([^"]+)"(?: hint "([^"]+)")?\r?$/;
const SETUP = /^# (path|remove|mkdir|fifo|symlink): (.+?)\r?$/;
const NOW = new Date("2026-11-22T12:00:00Z");

interface Expectation {
  file?: string;
  line: number;
  column: number;
  rule: string;
  message: string;
  hint?: string;
}

async function parseHeader(text: string, name: string): Promise<{ target: "inventory" | "runbook"; expectations: Expectation[]; setup: Array<[string, string]> }> {
  const target = /^# target: (inventory|runbook)\r?$/m.exec(text)?.[1];
  if (target !== "inventory" && target !== "runbook") throw new Error(`${name}: missing '# target: inventory|runbook'`);
  const expectations = text
    .split("\n")
    .filter((l) => l.startsWith("# expect:"))
    .map((l) => {
      const m = EXPECT.exec(l);
      if (!m) throw new Error(`${name}: malformed expectation: ${l}`);
      return { ...(m[1] ? { file: m[1] } : {}), line: Number(m[2]), column: Number(m[3]), rule: m[4]!, message: m[5]!, ...(m[6] ? { hint: m[6] } : {}) };
    });
  if (expectations.length === 0) throw new Error(`${name}: no '# expect:' line`);
  const setup = text
    .split("\n")
    .map((l) => SETUP.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m): [string, string] => [m[1]!, m[2]!]);
  return { target, expectations, setup };
}

const names = (await readdir(join(fixtures, "invalid"))).filter((n) => /\.ya?ml$/.test(n)).sort();
const work = await mkdtemp(join(tmpdir(), "steward-invalid-"));
afterAll(() => rm(work, { recursive: true, force: true }));

describe("invalid fixture corpus", () => {
  it("has at least 40 distinct mistakes", () => {
    expect(names.length).toBeGreaterThanOrEqual(40);
  });

  it.each(names)("%s is reported at the expected place", async (name) => {
    const bytes = await readFile(join(fixtures, "invalid", name));
    // A fixture saved as UTF-16 (to test that it is refused) has its header in UTF-16 too.
    const header = bytes[0] === 0xff && bytes[1] === 0xfe ? bytes.toString("utf16le").slice(1) : bytes.toString("utf8");
    const { target, expectations, setup } = await parseHeader(header, name);
    const repo = join(work, name);
    await cp(join(fixtures, "base"), repo, { recursive: true });
    const folder = target === "inventory" ? "inventory" : "runbooks";
    let file = `${folder}/zz-fixture.yaml`;
    for (const [action, arg] of setup) {
      if (action === "path") file = arg;
      else if (action === "remove") await rm(join(repo, arg), { recursive: true, force: true });
      else if (action === "mkdir") await mkdir(join(repo, arg), { recursive: true });
      else if (action === "fifo") execFileSync("mkfifo", [join(repo, arg)]);
      else {
        const [link, target] = arg.split(" -> ") as [string, string];
        await symlink(target, join(repo, link));
      }
    }
    await writeFile(join(repo, file), bytes);
    const result = await validateRepository(repo, { now: NOW });
    for (const want of expectations) {
      const found = result.diagnostics.find((d) => d.file === (want.file ?? file) && d.line === want.line && d.column === want.column && d.rule === want.rule && d.message.includes(want.message));
      expect(found, `${name}: expected ${want.file ?? file}:${want.line}:${want.column} ${want.rule} "${want.message}"; got:\n${result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.rule} ${d.message}`).join("\n")}`).toBeDefined();
      if (want.hint) expect(found?.hint).toContain(want.hint);
    }
    expect(result.errors).toBeGreaterThan(0);
  });
});
