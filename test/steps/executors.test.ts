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

  it("has an executor for every kind of the runbook schema, so apply refuses none", () => {
    expect(unsupportedSteps([{ name: "audit", kind: "compliance" }, { name: "nightly", kind: "backup" }, { name: "up", kind: "packages" }])).toEqual([]);
    expect(executorFor("compliance").kind).toBe("compliance");
  });
});
