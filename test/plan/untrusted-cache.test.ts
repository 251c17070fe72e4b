import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFactsCache } from "../../src/plan/inputs.ts";
import { plan } from "../../src/plan/planner.ts";
import { facts, host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "./fixtures.ts";

describe("a facts cache written before package values were checked", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "steward-untrusted-cache-"));
    // What an unchecking gatherer wrote for a host listing a name dpkg never allows
    // (upper case, underscore) at a version that is a path: single words, so the facts
    // schema lets them through, and only the package manager's grammar refuses them.
    const forged = facts({ upgradable: [{ name: "Evil_Pkg", from: "1.0.0", to: "/tmp/evil/1.0.1", source: "bookworm-security", security: true }] });
    await writeFile(join(dir, "evil-01.json"), JSON.stringify(ok("evil-01", forged)));
    // An option-like name breaks the schema itself: the file is refused as a whole.
    const option = facts({ upgradable: [{ name: "--config-file", from: "1.0.0", to: "1.0.1", security: true }] });
    await writeFile(join(dir, "option-01.json"), JSON.stringify(ok("option-01", option)));
    await writeFile(join(dir, "good-01.json"), JSON.stringify(ok("good-01", withUpgrades([up("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1")]))));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reads the host as failed, unparsable, and the plan skips it with the reason", async () => {
    const cache = await openFactsCache(dir);
    expect(cache.get("evil-01")).toEqual({
      host: "evil-01",
      ok: false,
      gatheredAt: "2026-11-22T00:00:00.000Z",
      error: { kind: "unparsable", message: 'upgradable: apt package name "Evil_Pkg" is not valid (Debian Policy 5.6.1: at least two of a-z 0-9 + . -, starting with a letter or digit); the host\'s package facts are not trusted' },
    });
    const p = plan({ inventory: inventory([host("evil-01", ["web"]), host("good-01", ["web"])]), runbook: runbook(), facts: cache, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(p.hosts.map((h) => h.name)).toEqual(["good-01"]);
    expect(p.skipped).toEqual([{ host: "evil-01", reason: "facts-failed", factsError: "unparsable", detail: expect.stringMatching(/^unparsable at 2026-11-22T00:00:00\.000Z: upgradable: apt package name "Evil_Pkg"/) }]);
    expect(JSON.stringify(p)).not.toContain("/tmp/evil");
  });

  it("fails only the host whose cached file breaks the schema, naming the file and the rule, not the value", async () => {
    const cache = await openFactsCache(dir);
    const option = cache.get("option-01");
    expect(option).toMatchObject({ host: "option-01", ok: false, error: { kind: "unparsable" } });
    const message = option?.ok === false ? option.error.message : "";
    expect(message).toMatch(/^cached facts .*option-01\.json: not a facts result: facts\/upgradable\/0\/name: must be a single word: no leading '-'/);
    expect(message).not.toContain("config-file");
    const p = plan({ inventory: inventory([host("option-01", ["web"]), host("good-01", ["web"])]), runbook: runbook(), facts: cache, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(p.hosts.map((h) => h.name)).toEqual(["good-01"]);
    expect(p.skipped).toEqual([{ host: "option-01", reason: "facts-failed", factsError: "unparsable", detail: expect.stringContaining("option-01.json: not a facts result") }]);
  });
});
