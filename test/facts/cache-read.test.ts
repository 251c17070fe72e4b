import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { StewardError } from "../../src/core/errors.ts";
import { readCachedFacts } from "../../src/facts/cache.ts";
import { MAX_FACTS_FILE_BYTES } from "../../src/facts/cache-read.ts";
import { openFactsCache } from "../../src/plan/inputs.ts";
import { failed, ok, up, withUpgrades } from "../plan/fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "steward-cache-read-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh cache folder holding `files` (name → text). */
function cache(files: Record<string, string>): string {
  const folder = mkdtempSync(join(dir, "c-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  return folder;
}

/** The error reading `host` from `folder` raises, through both readers: they must agree. */
async function refusal(folder: string, host = "db-01"): Promise<string> {
  const viaPlan = (() => {
    try {
      return openFactsCache(folder).then((source) => source.get(host));
    } catch (error) {
      return Promise.reject(error);
    }
  })();
  const [a, b] = await Promise.allSettled([viaPlan, readCachedFacts(folder, host)]);
  expect(a.status).toBe("rejected");
  expect(b.status).toBe("rejected");
  const error = (a as PromiseRejectedResult).reason as StewardError;
  expect(error).toBeInstanceOf(StewardError);
  expect(error.code).toBe("invalid-input");
  expect(((b as PromiseRejectedResult).reason as Error).message).toBe(error.message);
  return error.message;
}

const good = JSON.stringify(ok("db-01", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1")])));

describe("cached facts are read as untrusted input", () => {
  it("reads a valid file, and a missing one is no facts", async () => {
    const folder = cache({ "db-01.json": good });
    expect((await openFactsCache(folder)).get("db-01")).toEqual(JSON.parse(good));
    expect(await readCachedFacts(folder, "db-01")).toEqual(JSON.parse(good));
    expect(await readCachedFacts(folder, "web-01")).toBeUndefined();
  });

  it("refuses a symbolic link, naming it, without printing what it points at", async () => {
    const secret = join(dir, "shadow");
    writeFileSync(secret, "root:$6$s3cr3tHash:19000:0:99999:7:::\n");
    const folder = cache({});
    symlinkSync(secret, join(folder, "db-01.json"));
    const message = await refusal(folder);
    expect(message).toBe(`${join(folder, "db-01.json")}: is a symbolic link; cached facts are never read through links`);
    expect(message).not.toContain("root");
  });

  it("refuses a FIFO and a folder without hanging, and a file over the size bound", async () => {
    const fifo = cache({});
    execFileSync("mkfifo", [join(fifo, "db-01.json")]);
    expect(await refusal(fifo)).toMatch(/db-01\.json: not a regular file$/);
    const folder = cache({});
    mkdirSync(join(folder, "db-01.json"));
    expect(await refusal(folder)).toMatch(/db-01\.json: not a regular file$/);
    const big = cache({ "db-01.json": "" });
    truncateSync(join(big, "db-01.json"), MAX_FACTS_FILE_BYTES + 1);
    expect(await refusal(big)).toMatch(/db-01\.json: larger than 33554432 bytes$/);
  });

  it("says where JSON breaks without quoting the text", async () => {
    const message = await refusal(cache({ "db-01.json": '{\n  "host": "db-01",\n  "ok": tru\n}' }));
    expect(message).toMatch(/db-01\.json: not JSON( at line \d+ col \d+)?$/);
    expect(message).not.toContain("tru");
    expect(await refusal(cache({ "db-01.json": Buffer.from([0x7b, 0xff, 0x7d]).toString("latin1") }))).toMatch(/not (UTF-8 text|JSON)/);
  });

  it("names the path and rule of wrong types instead of crashing the planner", async () => {
    const result = JSON.parse(good) as { facts: Record<string, unknown> };
    const withInstalled = { ...result, facts: { ...result.facts, installed: "x" } };
    expect(await refusal(cache({ "db-01.json": JSON.stringify(withInstalled) }))).toMatch(/db-01\.json: not a facts result: facts\/installed: must be array$/);
    const withName = { ...result, facts: { ...result.facts, upgradable: [{ name: 5, from: "1", to: "2", security: false }] } };
    expect(await refusal(cache({ "db-01.json": JSON.stringify(withName) }))).toMatch(/facts\/upgradable\/0\/name: must be string/);
  });

  it("refuses control characters and option-like package names from a host, without echoing them", async () => {
    const result = JSON.parse(good) as { facts: { installed: Array<{ name: string; version: string }> } };
    result.facts.installed = [{ name: "-oAPT::Update::Pre-Invoke::=evil", version: "1" }, { name: "ok", version: "1\u001b[2J" }];
    const message = await refusal(cache({ "db-01.json": JSON.stringify(result) }));
    expect(message).toContain("facts/installed/0/name: must be a single word: no leading '-', whitespace or control characters");
    expect(message).toContain("facts/installed/1/version: must be a single word");
    expect(message).not.toContain("evil");
    expect(message).not.toContain("\u001b");
  });

  it("refuses a file holding another host's facts", async () => {
    expect(await refusal(cache({ "db-01.json": JSON.stringify(failed("web-01")) }))).toMatch(/db-01\.json: holds the facts of another host, not 'db-01'$/);
  });
});

describe("steward plan --facts", () => {
  async function run(argv: string[], cwd: string): Promise<{ code: number; stderr: string; stdout: string }> {
    let stdout = "";
    let stderr = "";
    const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd });
    return { code, stdout, stderr };
  }

  it("is an error naming a folder that does not exist; the default cache missing is not", async () => {
    const repo = mkdtempSync(join(dir, "repo-"));
    cpSync(new URL("../fixtures/base", import.meta.url).pathname, repo, { recursive: true });
    const missing = await run(["plan", "base", "--facts", "no-such-folder", "--now", "2026-11-24T01:30:00Z"], repo);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`facts folder ${join(repo, "no-such-folder")} does not exist`);
    const fallback = await run(["plan", "base", "--now", "2026-11-24T01:30:00Z"], repo);
    expect(fallback.stderr).toBe("");
    expect(fallback.code).toBe(0);
    expect(fallback.stdout).toMatch(/no-facts/);
  });
});
