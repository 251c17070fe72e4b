import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AuthFailedError } from "../../src/transport/errors.ts";
import { LocalTransportDisabledError } from "../../src/transport/local/index.ts";
import { createTransport, drivers, localAllowedByEnvironment } from "../../src/transport/registry.ts";
import type { HostTarget } from "../../src/transport/types.ts";

const controller: HostTarget = { name: "controller", address: "localhost", port: 0, user: "root", become: false, hostKeys: [], transport: "local" };

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
    const transport = createTransport({ allowLocal: true });
    const session = await transport.connect(controller);
    expect((await session.exec("echo routed")).stdout).toBe("routed\n");
    await transport.close();
  });

  it("refuses local hosts unless the run allows them, saying how", async () => {
    const transport = createTransport();
    const error = await transport.connect(controller).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalTransportDisabledError);
    expect(error).toBeInstanceOf(AuthFailedError);
    expect((error as LocalTransportDisabledError).message).toContain("--allow-local");
    expect((error as LocalTransportDisabledError).message).toContain("STEWARD_ALLOW_LOCAL=1");
    await transport.close();
  });

  it("reads the permission from STEWARD_ALLOW_LOCAL only when it says 1 or true", () => {
    expect(localAllowedByEnvironment({ STEWARD_ALLOW_LOCAL: "1" })).toBe(true);
    expect(localAllowedByEnvironment({ STEWARD_ALLOW_LOCAL: "true" })).toBe(true);
    for (const value of [undefined, "", "0", "false", "yes"]) expect(localAllowedByEnvironment({ STEWARD_ALLOW_LOCAL: value })).toBe(false);
  });
});
