import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stepKinds, stepTimeoutMs } from "../../src/steps/registry.ts";

const root = join(import.meta.dirname, "../../src/steps");

describe("step kind registry", () => {
  it("lists every kind folder under src/steps/, each under its own name", () => {
    const folders = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    expect(Object.keys(stepKinds).sort()).toEqual(folders);
    for (const [name, kind] of Object.entries(stepKinds)) expect(kind.kind).toBe(name);
  });

  it("has a folder for every step kind of the runbook schema, and no kind the schema lacks", () => {
    const schema = JSON.parse(readFileSync(join(import.meta.dirname, "../../schemas/runbook.schema.json"), "utf8")) as { $defs: { step: { properties: { kind: { enum: string[] } } } } };
    expect(Object.keys(stepKinds).sort()).toEqual([...schema.$defs.step.properties.kind.enum].sort());
  });

  it("gives every kind a positive default timeout", () => {
    for (const kind of Object.values(stepKinds)) expect(kind.defaultTimeoutMs, kind.kind).toBeGreaterThan(0);
  });

  it("takes a step's own timeout over its kind's default", () => {
    expect(stepTimeoutMs({ kind: "command", name: "x", command: "true", timeout: "90s" })).toBe(90_000);
    expect(stepTimeoutMs({ kind: "command", name: "x", command: "true" })).toBe(stepKinds.command.defaultTimeoutMs);
    expect(stepTimeoutMs({ kind: "packages", name: "x", action: "upgrade" })).toBe(stepKinds.packages.defaultTimeoutMs);
  });
});
