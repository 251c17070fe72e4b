import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { StewardError } from "../../src/core/errors.ts";
import { cacheText, readCachedFacts, writeCachedFacts } from "../../src/facts/cache.ts";
import { MAX_FACTS_DEPTH, MAX_FACTS_FILE_BYTES } from "../../src/facts/cache-read.ts";
import { openFactsCache } from "../../src/plan/inputs.ts";
import { facts, failed, ok, up, withUpgrades } from "../plan/fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "steward-cache-read-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh cache folder holding `files` (name → text). */
function cache(files: Record<string, string>): string {
  const folder = mkdtempSync(join(dir, "c-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  return folder;
}

/**
 * The error reading `host` from `folder` raises. The planner's reader must agree: it
 * fails that host alone, with the same problem in its message, and does not throw.
 */
async function refusal(folder: string, host = "db-01"): Promise<string> {
  const error = (await readCachedFacts(folder, host).then(
    () => undefined,
    (e: unknown) => e,
  )) as StewardError;
  expect(error).toBeInstanceOf(StewardError);
  expect(error.code).toBe("invalid-input");
  const viaPlan = (await openFactsCache(folder)).get(host);
  expect(viaPlan).toMatchObject({ host, ok: false, error: { kind: "unparsable", message: `cached facts ${error.message} (${error.hint})` } });
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
    expect(await refusal(big)).toMatch(/db-01\.json: larger than 67108864 bytes$/);
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
    // Validation stops at the first error, so a million bad entries cost one message.
    expect(message).toMatch(/: not a facts result: facts\/installed\/0\/name: must be a single word: no leading '-', whitespace, control or format characters$/);
    expect(message).not.toContain("evil");
    expect(message).not.toContain("\u001b");
  });

  it("refuses nesting past the depth bound before parsing, however large the file", async () => {
    const deep = "[".repeat(MAX_FACTS_DEPTH + 1) + "]".repeat(MAX_FACTS_DEPTH + 1);
    expect(await refusal(cache({ "db-01.json": deep }))).toMatch(/db-01\.json: nested more than 32 levels deep, so not a facts result$/);
    // 32 MiB of '[' is refused by the scan at level 33, not by a parse of the whole text.
    const started = Date.now();
    expect(await refusal(cache({ "db-01.json": "[".repeat(32 * 1024 * 1024) }))).toMatch(/nested more than 32 levels deep/);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Facts as steward writes them are well inside the bound.
    expect(await readCachedFacts(cache({ "db-01.json": good }), "db-01")).toEqual(JSON.parse(good));
  });

  it("refuses a repeated key, naming its JSON pointer and not either value", async () => {
    const decoy = good.replace('"gatheredAt":', '"gatheredAt":"2099-01-01T00:00:00.000Z","gatheredAt":');
    expect(await refusal(cache({ "db-01.json": decoy }))).toMatch(/db-01\.json: has the key \/gatheredAt twice; a reader could see one value and steward the other$/);
    const nested = good.replace('"upgradable":[{', '"upgradable":[{"security":false,');
    const message = await refusal(cache({ "db-01.json": nested }));
    expect(message).toMatch(/has the key \/facts\/upgradable\/0\/security twice/);
    expect(message).not.toContain("false");
  });

  it("stops checking a file at its first invalid entry, so a million of them cost no more than one", async () => {
    const result = JSON.parse(good) as { facts: { installed: unknown[] } };
    result.facts.installed = Array.from({ length: 1_000_000 }, () => ({ name: "-x", version: "1" }));
    const started = Date.now();
    expect(await refusal(cache({ "db-01.json": JSON.stringify(result) }))).toMatch(/: not a facts result: facts\/installed\/0\/name: must be a single word[^;]*$/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("writes compact JSON, and writes a failure instead of facts too large to read back", async () => {
    const small = ok("db-01", facts());
    expect(cacheText(small)).toBe(`${JSON.stringify(small)}\n`);
    // Names long enough that the JSON passes the bound with few entries.
    const name = "a".repeat(60_000);
    const installed = Array.from({ length: Math.ceil(MAX_FACTS_FILE_BYTES / 60_000) + 1 }, (_, i) => ({ name: `${name}${i}`, version: "1" }));
    const big = ok("db-01", facts({ installed }));
    const folder = cache({});
    await writeCachedFacts(folder, big, { root: dir });
    const back = await readCachedFacts(folder, "db-01");
    expect(back).toEqual({ host: "db-01", ok: false, gatheredAt: big.gatheredAt, error: { kind: "output-too-large", message: expect.stringMatching(/^the facts are \d+ bytes as JSON, more than the 67108864 a cached facts file may hold$/) } });
  });

  it("refuses bidi and other format characters in host text, like control characters", async () => {
    const result = JSON.parse(good) as { facts: { os: { prettyName: string } } };
    result.facts.os.prettyName = "Debian \u202eGNU/Linux";
    expect(await refusal(cache({ "db-01.json": JSON.stringify(result) }))).toMatch(/not a facts result: facts\/os\/prettyName: must not contain control or format characters \(such as bidi controls\)$/);
    const message = "boom \u202e | @admin\n\n# Approved\n";
    expect(await refusal(cache({ "db-01.json": JSON.stringify({ host: "db-01", ok: false, gatheredAt: "2026-11-22T00:00:00.000Z", error: { kind: "command-failed", message } }) }))).toMatch(/error\/message: must not contain control characters other than line breaks, or format characters/);
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

  it("skips only the host whose cached file is bad, listing it with the problem, and plans the others", async () => {
    const repo = mkdtempSync(join(dir, "repo-"));
    cpSync(new URL("../fixtures/base", import.meta.url).pathname, repo, { recursive: true });
    const folder = join(repo, ".steward", "facts");
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "web-01.json"), JSON.stringify(ok("web-01", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1")]))));
    writeFileSync(join(folder, "web-02.json"), "[".repeat(100_000));
    const r = await run(["plan", "base", "--now", "2026-11-24T01:30:00Z"], repo);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const file = readdirSync(join(repo, "plans")).find((n) => n.endsWith(".json"))!;
    const planned = JSON.parse(readFileSync(join(repo, "plans", file), "utf8")) as { hosts: Array<{ name: string }>; skipped: Array<{ host: string; reason: string; detail: string }> };
    expect(planned.hosts.map((h) => h.name)).toContain("web-01");
    expect(planned.skipped.find((s) => s.host === "web-02")).toMatchObject({ reason: "facts-failed", detail: expect.stringMatching(/web-02\.json: nested more than 32 levels deep/) });
  });
});
