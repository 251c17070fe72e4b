import { describe, expect, it } from "vitest";
import { changedInputs, StalePlanError } from "../../src/apply/inputs.ts";
import { rolloutPlan } from "./fixtures.ts";

const plan = {
  ...rolloutPlan({ hosts: [{ name: "h1", wave: 0 }] }),
  inputs: { files: [{ path: "inventory/hosts.yaml", sha256: "a".repeat(64) }, { path: "known_hosts", sha256: "b".repeat(64) }, { path: "runbooks/patches.yaml", sha256: "c".repeat(64) }] },
};
const same = new Map(plan.inputs.files.map((f) => [f.path, f.sha256]));

describe("apply: the plan's inputs", () => {
  it("are unchanged when every file hashes the same and the same steward applies", () => {
    expect(changedInputs(plan, new Map([...same, ["runbooks/other.yaml", "d".repeat(64)]]), "known_hosts", "0.1.0")).toEqual([]);
  });

  it("name every changed, removed and new input file, and another steward version", () => {
    const now = new Map(same);
    now.set("runbooks/patches.yaml", "e".repeat(64));
    now.delete("known_hosts");
    now.set("inventory/extra.yaml", "f".repeat(64));
    expect(changedInputs(plan, now, "known_hosts", "0.2.0")).toEqual([
      "inventory/extra.yaml is new",
      "known_hosts was removed",
      "runbooks/patches.yaml changed",
      "the plan was made by steward 0.1.0; this is steward 0.2.0",
    ]);
  });

  it("refuse with exit category stale-plan and a message naming each change", () => {
    const error = new StalePlanError(plan.id, ["runbooks/patches.yaml changed"], "patches");
    expect(error.code).toBe("stale-plan");
    expect(error.message).toBe(`plan ${plan.id} is stale: runbooks/patches.yaml changed`);
    expect(error.hint).toContain("steward plan patches --gather");
  });
});
