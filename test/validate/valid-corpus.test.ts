import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { validateRepository } from "../../src/validate/index.ts";
import { fixtureNames, materialize, readFixture } from "./corpus.ts";

/**
 * Each file in test/fixtures/valid/ is tricky but correct: something a naive reader
 * gets wrong (anchors, `NO` as a string, tabs after colons, BOM + CRLF, IPv6, a window
 * in a DST gap or more than a year ahead, multi-line commands, quoted specials). Its
 * header has `# target:` and the setup lines of corpus.ts, and optionally
 * `# expect-host: NAME` (the host must be in the merged inventory, i.e. not skipped).
 * Dropped into a copy of test/fixtures/base/, the repository must validate with zero
 * errors and zero warnings.
 */
const NOW = new Date("2026-11-22T12:00:00Z");
const valid = await fixtureNames("valid");
const invalid = await fixtureNames("invalid");
const work = await mkdtemp(join(tmpdir(), "steward-valid-"));
afterAll(() => rm(work, { recursive: true, force: true }));

describe("valid fixture corpus", () => {
  it("has tricky-but-correct files", () => {
    expect(valid.length).toBeGreaterThanOrEqual(10);
  });

  it.each(valid)("%s validates with no error and no warning", async (name) => {
    const fixture = await readFixture("valid", name);
    const { repo } = await materialize(join(work, "valid"), fixture);
    const result = await validateRepository(repo, { now: NOW });
    expect(result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.rule} ${d.message}`)).toEqual([]);
    for (const m of fixture.header.matchAll(/^# expect-host: (\S+)\r?$/gm)) expect(result.inventory.hosts.has(m[1]!), `host ${m[1]} is in the inventory`).toBe(true);
  });
});

/** Runs `steward validate` through the CLI entry; the exit code and how much it printed. */
async function cli(repo: string): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const io: CliIO = { stdout: () => undefined, stderr: (t) => void (stderr += t), env: {}, cwd: repo };
  const code = await main(["validate", "--root", repo], io);
  return { code, stderr };
}

describe("steward validate never crashes on a corpus file", () => {
  it.each(valid)("valid/%s exits 0", async (name) => {
    const { repo } = await materialize(join(work, "cli-valid"), await readFixture("valid", name));
    expect(await cli(repo)).toEqual({ code: 0, stderr: "" });
  });

  it.each(invalid)("invalid/%s exits 3, not 70", async (name) => {
    const { repo } = await materialize(join(work, "cli-invalid"), await readFixture("invalid", name));
    const { code, stderr } = await cli(repo);
    expect(stderr).not.toContain("internal error");
    expect(code).toBe(3);
  });
});
