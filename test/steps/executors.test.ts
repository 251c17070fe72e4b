import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { executorFor, executors, unsupportedSteps } from "../../src/steps/executors.ts";

const STEPS = join(import.meta.dirname, "../../src/steps");

describe("the executor registry", () => {
  it("registers every kind folder that has an execute.ts, under its own kind", () => {
    const folders = readdirSync(STEPS).filter((f) => statSync(join(STEPS, f)).isDirectory() && readdirSync(join(STEPS, f)).includes("execute.ts"));
    expect(Object.keys(executors).sort()).toEqual(folders.sort());
    for (const [kind, executor] of Object.entries(executors)) expect(executor?.kind).toBe(kind);
  });

  it("refuses backup and verify-backup with a clear message", () => {
    for (const kind of ["backup", "verify-backup"] as const) {
      expect(() => executorFor(kind)).toThrow(`${kind} steps cannot be applied yet`);
    }
    expect(unsupportedSteps([{ name: "nightly", kind: "backup" }, { name: "up", kind: "packages" }])).toEqual([
      "step 'nightly': backup steps cannot be applied yet; remove it from the runbook (or use `steward plan` alone for it) and plan again",
    ]);
  });
});
