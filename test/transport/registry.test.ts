import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createTransport, drivers } from "../../src/transport/registry.ts";

describe("transport registry", () => {
  it("lists every transport folder under src/transport/", () => {
    const root = join(import.meta.dirname, "../../src/transport");
    const folders = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    expect(Object.keys(drivers).sort()).toEqual(folders);
    for (const [kind, driver] of Object.entries(drivers)) expect(driver.kind).toBe(kind);
  });

  it("routes a host to its transport", async () => {
    const transport = createTransport();
    const session = await transport.connect({
      name: "controller",
      address: "localhost",
      port: 0,
      user: "root",
      become: false,
      hostKeys: [],
      transport: "local",
    });
    expect((await session.exec("echo routed")).stdout).toBe("routed\n");
    await transport.close();
  });
});
