import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hashInputs } from "../../src/plan/inputs.ts";
import { validateRepository } from "../../src/validate/index.ts";

const base = new URL("../fixtures/base/", import.meta.url).pathname;

describe("plan inputs", () => {
  it("hash the exact texts validation read: inventory files, known_hosts and the runbook", async () => {
    const validation = await validateRepository(base);
    const inputs = hashInputs(validation.hashes, "runbooks/base.yaml");
    expect(inputs.map((i) => i.path)).toEqual(["inventory/base.yaml", "inventory/host-keys.yaml", "inventory/known_hosts", "runbooks/base.yaml"]);
    for (const input of inputs) {
      const onDisk = createHash("sha256").update(await readFile(join(base, input.path))).digest("hex");
      expect(input.sha256).toBe(onDisk);
    }
  });

  it("change when known_hosts changes, and leave out other runbooks", () => {
    const hashes = new Map([
      ["inventory/known_hosts", "a".repeat(64)],
      ["runbooks/other.yaml", "c".repeat(64)],
      ["runbooks/base.yaml", "d".repeat(64)],
    ]);
    const before = hashInputs(hashes, "runbooks/base.yaml");
    hashes.set("inventory/known_hosts", "b".repeat(64));
    const after = hashInputs(hashes, "runbooks/base.yaml");
    expect(before.map((i) => i.path)).toEqual(["inventory/known_hosts", "runbooks/base.yaml"]);
    expect(after[0]!.sha256).not.toBe(before[0]!.sha256);
    expect(after[1]).toEqual(before[1]);
  });

  it("cover a known_hosts file kept outside inventory/ when the inventory names it", () => {
    const hashes = new Map([
      ["known_hosts", "a".repeat(64)],
      ["inventory/hosts.yaml", "b".repeat(64)],
      ["runbooks/base.yaml", "d".repeat(64)],
      ["notes/known_hosts", "e".repeat(64)],
    ]);
    expect(hashInputs(hashes, "runbooks/base.yaml", "known_hosts").map((i) => i.path)).toEqual(["inventory/hosts.yaml", "known_hosts", "runbooks/base.yaml"]);
    expect(hashInputs(hashes, "runbooks/base.yaml").map((i) => i.path)).toEqual(["inventory/hosts.yaml", "runbooks/base.yaml"]);
  });
});
