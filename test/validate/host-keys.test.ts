import { appendFile, cp, mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validateRepository } from "../../src/validate/index.ts";

const base = new URL("../fixtures/base/", import.meta.url).pathname;
let repo: string;
beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), "steward-keys-"));
  await cp(base, repo, { recursive: true });
});
afterEach(() => rm(repo, { recursive: true, force: true }));

describe("host key checks", () => {
  it("accepts hosts covered by plain and hashed known_hosts entries", async () => {
    const result = await validateRepository(repo);
    expect(result.diagnostics).toEqual([]);
  });

  it("reports a missing known_hosts file at the setting", async () => {
    await rm(join(repo, "inventory/known_hosts"));
    const result = await validateRepository(repo);
    expect(result.diagnostics).toContainEqual(expect.objectContaining({ rule: "known-hosts/missing", file: "inventory/host-keys.yaml", line: 3, column: 16 }));
  });

  it("reports a malformed known_hosts line at its line", async () => {
    await appendFile(join(repo, "inventory/known_hosts"), "10.0.9.9 ssh-ed25519 not-base64!!\n");
    const result = await validateRepository(repo);
    expect(result.diagnostics).toContainEqual(expect.objectContaining({ rule: "known-hosts/malformed", file: "inventory/known_hosts", line: 6, severity: "error" }));
  });

  it("warns about a host no key is on record for, at the host", async () => {
    const text = await readFile(join(repo, "inventory/known_hosts"), "utf8");
    await writeFile(join(repo, "inventory/known_hosts"), text.split("\n").filter((l) => !l.startsWith("10.0.1.2 ")).join("\n"));
    const result = await validateRepository(repo);
    const found = result.diagnostics.filter((d) => d.rule === "host-keys/none");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: "warning", file: "inventory/base.yaml", line: 26, column: 3 });
    expect(found[0]!.message).toContain("web-02");
    expect(result.errors).toBe(0);
  });
});
