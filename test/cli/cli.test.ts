import { mkdtemp, readdir, readFile, rm, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { commands } from "../../src/cli/commands/index.ts";
import type { CliIO } from "../../src/cli/io.ts";

const repoRoot = new URL("../../", import.meta.url).pathname;

async function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

let broken: string;
beforeAll(async () => {
  broken = await mkdtemp(join(tmpdir(), "steward-cli-"));
  await cp(join(repoRoot, "test/fixtures/base"), broken, { recursive: true });
  await writeFile(join(broken, "inventory/extra.yaml"), "hosts:\n  web-09:\n    adress: 10.9.9.9\n");
  await writeFile(join(broken, "runbooks/bad.yaml"), "name: bad\ntargets: group:web &\nsteps:\n  - kind: command\n    name: x\n    command: echo {{vars.nothing}}\n");
});
afterAll(() => rm(broken, { recursive: true, force: true }));

describe("command registry", () => {
  it("registers every command file", async () => {
    const files = (await readdir(join(repoRoot, "src/cli/commands"))).filter((f) => f.endsWith(".ts") && f !== "index.ts").map((f) => f.replace(/\.ts$/, ""));
    expect(Object.keys(commands).sort()).toEqual(files.sort());
  });
});

describe("steward validate", () => {
  it("exits 0 on the repository's own samples", async () => {
    const r = await run(["validate"], repoRoot);
    // Every step kind of the samples can be applied now: no warning at all.
    expect(r.stdout).toMatch(/^✓ \d+ files valid$/m);
    expect(r.stdout).not.toContain("warning");
    expect(r.code).toBe(0);
  });

  it("exits 3 and prints every problem with file:line:col and the source line", async () => {
    const r = await run(["validate", "--root", broken], "/");
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("inventory/extra.yaml:3:5: error: unknown key `adress`");
    expect(r.stdout).toContain("hint: did you mean `address`?");
    expect(r.stdout).toContain("     3 |     adress: 10.9.9.9");
    expect(r.stdout).toContain("runbooks/bad.yaml:2:20: error: bad selector: nothing follows");
    expect(r.stdout).toMatch(/\d+ errors?, 0 warnings in 5 files/);
  });

  it("prints JSON with every diagnostic", async () => {
    const r = await run(["validate", "--root", broken, "--format", "json"], "/");
    const out = JSON.parse(r.stdout) as { ok: boolean; errors: number; diagnostics: Array<{ file: string; line: number; column: number; pointer: string }> };
    expect(out.ok).toBe(false);
    expect(out.errors).toBe(out.diagnostics.length);
    expect(out.diagnostics).toContainEqual(expect.objectContaining({ file: "inventory/extra.yaml", line: 3, column: 5, pointer: "/hosts/web-09/adress" }));
  });

  it("emits GitHub annotations and writes the full list to the step summary", async () => {
    const summary = join(broken, "summary.md");
    const r = await run(["validate", "--root", broken, "--format", "github"], "/", { GITHUB_STEP_SUMMARY: summary });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("::error file=inventory/extra.yaml,line=3,col=5,title=schema/unknown-key::unknown key `adress` in `web-09`%0Adid you mean `address`?");
    const text = await readFile(summary, "utf8");
    expect(text).toContain("## steward validate");
    expect(text).toContain("| inventory/extra.yaml:3:5 |");
  });

  it("limits annotations to ten per severity and says where the rest are", async () => {
    const many = await mkdtemp(join(tmpdir(), "steward-many-"));
    await cp(join(repoRoot, "test/fixtures/base"), many, { recursive: true });
    const hosts = Array.from({ length: 15 }, (_, i) => `  h${i}:\n    adress: 10.8.0.${i}\n`).join("");
    await writeFile(join(many, "inventory/many.yaml"), `hosts:\n${hosts}`);
    const r = await run(["validate", "--root", many, "--format", "github"], "/");
    expect(r.stdout.match(/^::error /gm)).toHaveLength(10);
    expect(r.stdout).toContain("20 more problems are listed in the step summary");
    await rm(many, { recursive: true, force: true });
  });

  it("rejects an unknown format with a usage error (exit 2)", async () => {
    const r = await run(["validate", "--format", "xml"], repoRoot);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown format 'xml'");
  });
});

describe("the CLI frame", () => {
  it("exits 2 on an unknown command and lists the commands", async () => {
    const r = await run(["frobnicate"], repoRoot);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain("validate");
  });

  it("exits 2 on an unknown flag", async () => {
    const r = await run(["validate", "--frobnicate"], repoRoot);
    expect(r.code).toBe(2);
  });
});

describe("steward validate on the wrong folder", () => {
  it("fails instead of calling an empty folder valid", async () => {
    const empty = await mkdtemp(join(tmpdir(), "steward-empty-"));
    const r = await run(["validate", "--root", empty], "/");
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("no YAML files under");
    await rm(empty, { recursive: true, force: true });
  });
});
