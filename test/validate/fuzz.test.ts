import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import type { Diagnostic } from "../../src/core/diagnostic.ts";
import { validateRepository } from "../../src/validate/index.ts";

/**
 * Mutated real files (the repository's inventory/ and runbooks/, and the fixtures)
 * through validation: byte flips, truncation, duplicated lines, changed indentation and
 * inserted YAML-special characters. Whatever comes in, validation returns (never
 * throws), the CLI exits 0 or 3 (never 70), and every diagnostic points inside the file
 * it names: a line the file has, a column at most one past that line's end.
 * The seed is fixed so a run is reproducible; `FUZZ_SEED=N` explores others.
 */
const root = new URL("../../", import.meta.url).pathname;
const SPECIAL = ["*", "&", "!", "{{", "}}", ": ", ":", "\t", "\u00a0", '"', "'", "|", ">", "- ", "#", "\0", "\xff", "%", "@", "`", "[", "]", "{", "}", "\r", "\ufeff", "\\", "---\n", "\n", "<<: *a", "&a ", "?", "é", "🚀"];

interface Seed {
  target: "inventory" | "runbooks";
  bytes: Buffer;
}

async function yamlIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).map((n) => join(dir, n));
}

async function seeds(): Promise<Seed[]> {
  const out: Seed[] = [];
  const add = async (target: Seed["target"], paths: string[]): Promise<void> => {
    for (const p of paths) out.push({ target, bytes: await readFile(p) });
  };
  await add("inventory", await yamlIn(join(root, "inventory")));
  await add("runbooks", await yamlIn(join(root, "runbooks")));
  await add("inventory", await yamlIn(join(root, "test/fixtures/base/inventory")));
  await add("runbooks", await yamlIn(join(root, "test/fixtures/base/runbooks")));
  for (const corpus of ["valid", "invalid"]) {
    for (const p of await yamlIn(join(root, "test/fixtures", corpus))) {
      const bytes = await readFile(p);
      out.push({ target: /^# target: inventory/m.test(bytes.toString("utf8")) ? "inventory" : "runbooks", bytes });
    }
  }
  return out;
}

type Mutation = (b: Buffer) => Buffer;
const lines = (b: Buffer): string[] => b.toString("latin1").split("\n");
const join1 = (l: string[]): Buffer => Buffer.from(l.join("\n"), "latin1");

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]): Mutation => (b) => {
    if (b.length === 0) return b;
    const c = Buffer.from(b);
    c[at % c.length] = v;
    return c;
  }),
  fc.nat().map((at): Mutation => (b) => b.subarray(0, b.length === 0 ? 0 : at % b.length)),
  fc.nat().map((at): Mutation => (b) => {
    const l = lines(b);
    const i = at % l.length;
    l.splice(i, 0, l[i]!);
    return join1(l);
  }),
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 4 })).map(([at, by]): Mutation => (b) => {
    const l = lines(b);
    const i = at % l.length;
    l[i] = by >= 0 ? " ".repeat(by) + l[i]! : l[i]!.replace(new RegExp(`^ {0,${-by}}`), "");
    return join1(l);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...SPECIAL)).map(([at, s]): Mutation => (b) => {
    const i = b.length === 0 ? 0 : at % (b.length + 1);
    return Buffer.concat([b.subarray(0, i), Buffer.from(s, "utf8"), b.subarray(i)]);
  }),
);

/** Why a diagnostic points outside its file, or undefined when it is inside. */
function outside(d: Diagnostic, texts: ReadonlyMap<string, string>): string | undefined {
  if (d.line < 1 || d.column < 1) return "before the start";
  const text = texts.get(d.file);
  if (text === undefined) return d.line === 1 && d.column === 1 ? undefined : "placed in a file that has no text";
  const all = text.split("\n");
  if (d.line > all.length) return `line ${d.line} of ${all.length}`;
  const width = all[d.line - 1]!.length;
  return d.column <= width + 1 ? undefined : `column ${d.column} past the line's ${width} characters`;
}

let work: string;
let pool: Seed[];
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "steward-fuzz-"));
  await cp(join(root, "test/fixtures/base"), join(work, "repo"), { recursive: true });
  pool = await seeds();
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe("validation of mutated files", () => {
  it("never crashes and places every diagnostic inside its file", async () => {
    const repo = join(work, "repo");
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (pick, mutations) => {
        const seed = pool[pick % pool.length]!;
        const bytes = mutations.reduce((b, m) => m(b), seed.bytes);
        const other = seed.target === "inventory" ? "runbooks" : "inventory";
        await rm(join(repo, other, "zz-fuzz.yaml"), { force: true });
        await writeFile(join(repo, seed.target, "zz-fuzz.yaml"), bytes);
        const result = await validateRepository(repo, { now: new Date("2026-11-22T12:00:00Z") });
        // A file refused for its encoding has no text; its lines are bounded by its bytes.
        const texts = new Map(result.texts);
        const file = `${seed.target}/zz-fuzz.yaml`;
        if (!texts.has(file)) texts.set(file, bytes.toString("latin1"));
        for (const d of result.diagnostics) {
          const why = outside(d, texts);
          expect(why, `${d.file}:${d.line}:${d.column} ${d.rule} ${d.message}\n--- input ---\n${bytes.toString("utf8")}`).toBeUndefined();
        }
        let stderr = "";
        const io: CliIO = { stdout: () => undefined, stderr: (t) => void (stderr += t), env: {}, cwd: repo };
        const code = await main(["validate", "--root", repo], io);
        expect([0, 3], stderr).toContain(code);
        runs++;
      }),
      { numRuns: 200, interruptAfterTimeLimit: 20_000, seed: Number(process.env.FUZZ_SEED ?? 20261130) },
    );
    // The time limit must leave a meaningful number of runs, or the test proves little.
    expect(runs).toBeGreaterThanOrEqual(50);
  }, 60_000);
});
