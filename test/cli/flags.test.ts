import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseFlags } from "../../src/cli/args.ts";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { UsageError } from "../../src/core/errors.ts";

const repoRoot = new URL("../../", import.meta.url).pathname;

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd: "/nonexistent-steward-cwd" };
  return { code: await main(argv, io), stdout, stderr };
}

describe("a flag that takes one value is given once", () => {
  it("refuses a repeated value flag in any spelling, naming it and both values", () => {
    const options = { since: { type: "string" }, json: { type: "boolean" }, tag: { type: "string", multiple: true } } as const;
    for (const args of [["--since", "90d", "--since", "30d"], ["--since=90d", "--since", "30d"], ["--since", "90d", "--since=30d"]]) {
      expect(() => parseFlags({ args, options, strict: true })).toThrow(UsageError);
      expect(() => parseFlags({ args, options, strict: true })).toThrow('--since is given twice ("90d", then "30d")');
    }
    // A repeated boolean changes nothing; a flag declared multiple keeps every value.
    expect(parseFlags({ args: ["--json", "--json", "--tag", "a", "--tag", "b"], options, strict: true }).values).toEqual({ json: true, tag: ["a", "b"] });
    expect(parseFlags({ args: ["--since", "90d"], options, strict: true }).values).toEqual({ since: "90d" });
  });

  // Every command and subcommand, each with a value flag it takes given twice: exit 2 before any work.
  it.each([
    [["validate", "--root", "a", "--root", "b"], "--root"],
    [["validate", "--format", "json", "--format", "text"], "--format"],
    [["facts", "--limit", "web", "--limit", "db"], "--limit"],
    [["plan", "x", "--out", "a", "--out", "b"], "--out"],
    [["plan", "x", "--now", "2026-01-01T00:00:00Z", "--now=2026-01-02T00:00:00Z"], "--now"],
    [["apply", "p.json", "--resume", "a", "--resume", "b"], "--resume"],
    [["apply", "p.json", "--shard", "1/2", "--shard", "2/2"], "--shard"],
    [["run", "x", "--root", "a", "--root", "b"], "--root"],
    [["results", "merge", "r", "--wave", "1", "--wave", "2"], "--wave"],
    [["publish", "report", "a.md", "--week", "2026-W01", "--week", "2026-W02"], "--week"],
    [["publish", "plan", "p.json", "--publisher", "git", "--publisher", "github"], "--publisher"],
    [["report", "status", "--since", "90d", "--since", "30d"], "--since"],
    [["report", "trends", "--out", "a.md", "--out", "b.md"], "--out"],
    [["report", "forecast", "--horizon", "14d", "--horizon", "7d"], "--horizon"],
    [["report", "postmortem", "r", "--root", "a", "--root", "b"], "--root"],
    [["audit", "verify", "--format", "json", "--format", "text"], "--format"],
    [["sandbox", "status", "--dir", "a", "--dir", "b"], "--dir"],
  ])("%j is refused, naming %s", async (argv, flag) => {
    const r = await run(argv);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toContain(`${flag} is given twice`);
    expect(r.stderr).toContain(`hint: keep one ${flag}`);
  });

  it("every command parses its flags through the one parser that enforces it", async () => {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(dir, e.name));
        else if (e.name.endsWith(".ts")) files.push(join(dir, e.name));
      }
    };
    await walk(join(repoRoot, "src"));
    const direct: string[] = [];
    for (const f of files) {
      if (f.endsWith("src/cli/args.ts")) continue;
      if (/\bparseArgs\s*\(/.test(await readFile(f, "utf8"))) direct.push(f.slice(repoRoot.length));
    }
    expect(direct).toEqual([]);
  });
});
