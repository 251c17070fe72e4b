import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DETECTION_ORDER, drivers } from "../../src/drivers/registry.ts";

describe("package driver registry", () => {
  it("lists every driver folder under src/drivers/", () => {
    const root = join(import.meta.dirname, "../../src/drivers");
    const folders = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    expect(Object.keys(drivers).sort()).toEqual(folders);
    expect([...DETECTION_ORDER].sort()).toEqual(folders);
    for (const [name, driver] of Object.entries(drivers)) expect(driver.manager).toBe(name);
  });
});
