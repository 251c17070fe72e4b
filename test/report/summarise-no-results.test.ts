/**
 * `steward results summarise` on a run whose folder holds no results.json (a run still
 * applying, or one stopped before it wrote its results): invalid input (exit 3, the
 * README's table), naming the folder and what to do, before anything is written; never
 * exit 5, which means a stale or tampered record.
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";

async function steward(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "" }, cwd: process.cwd() });
  return { code, stdout, stderr };
}

const RUN = "patching-20260105T020000Z-1a2b";

describe("results summarise, a run without results.json", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-summarise-no-results-"));
    await mkdir(join(root, "runs", RUN), { recursive: true });
    await writeFile(join(root, "runs", RUN, "journal.jsonl"), "");
    await writeFile(join(root, "runs", "audit.jsonl"), "");
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("is invalid input naming the folder and how to get its results, and writes nothing", async () => {
    const r = await steward(["results", "summarise", RUN, "--root", root]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`run ${RUN} has no results to summarise: runs/${RUN}/results.json does not exist`);
    expect(r.stderr).toContain(`--resume ${RUN}`);
    await expect(readFile(join(root, "runs", RUN, "summary.json"))).rejects.toThrow(/ENOENT/);
  });

  it("is still only a note when no run is named: a run in flight is passed over", async () => {
    const r = await steward(["results", "summarise", "--root", root]);
    expect(r).toMatchObject({ code: 0, stdout: "1 run(s): 0 written, 0 already summarised, 0 refused, 1 without results yet\n" });
  });
});
