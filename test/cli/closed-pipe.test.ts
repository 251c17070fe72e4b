import { spawn } from "node:child_process";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * A reader that closes steward's output early (`steward … | head -1`) must not change
 * what the command does or the code it exits with: the output is dropped, the command
 * finishes. (An apply in flight must write its results and audit entry; it used to
 * exit 0 at the first write to the closed pipe.)
 */
const PROJECT = resolve(import.meta.dirname, "../..");
const BIN = join(PROJECT, "bin/steward.js");

/** Runs steward with stdout a pipe whose reading end is closed at once; the exit code and stderr. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stderr }));
  });
}

describe("steward's output closed by its reader", () => {
  let broken: string;

  beforeAll(async () => {
    broken = await mkdtemp(join(tmpdir(), "steward-pipe-"));
    await cp(join(PROJECT, "inventory"), join(broken, "inventory"), { recursive: true });
    await cp(join(PROJECT, "runbooks"), join(broken, "runbooks"), { recursive: true });
    // Many errors: far more output than one write, each error a line steward prints.
    const hosts = Array.from({ length: 400 }, (_, i) => `  bad-${i}:\n    adress: 10.9.${i >> 8}.${i & 255}\n`).join("");
    await writeFile(join(broken, "inventory/extra.yaml"), `hosts:\n${hosts}`);
  });

  afterAll(async () => {
    if (broken) await rm(broken, { recursive: true, force: true });
  });

  it("exits with the command's own code (3: invalid input), not 0, and without a stack trace", async () => {
    const r = await withClosedStdout(["validate", "--root", broken]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).not.toMatch(/EPIPE|at .*\.js:\d+/);
  });

  it("a valid repository still exits 0", async () => {
    const r = await withClosedStdout(["validate", "--root", PROJECT]);
    expect(r.code, r.stderr).toBe(0);
  });
});
