import { describe, expect, it } from "vitest";
import { whatMoved } from "../../src/apply/host-runner.ts";
import { hostFactsDependencies, stepTimeoutMs } from "../../src/steps/registry.ts";
import type { HostFacts } from "../../src/facts/types.ts";
import type { PlannedHost } from "../../src/plan/types.ts";

const host = {
  name: "web-1",
  actions: [
    { step: "up", kind: "packages", action: "upgrade", upgrades: [{ name: "openssl", arch: "amd64", from: "3.0.11-1", to: "3.0.13-1", updateType: "patch", security: true }], excluded: [] },
    { step: "add", kind: "packages", action: "install", packages: [{ name: "jq" }] },
    { step: "shop", kind: "app-upgrade", app: "shop", range: "^2.4", current: "2.4.1", to: "2.5.0", status: "upgrade", detail: "" },
    { step: "r", kind: "reboot", when: "required", expected: false, because: [] },
  ],
} as unknown as PlannedHost;

const facts = (over: Partial<HostFacts>): HostFacts =>
  ({
    installed: [{ name: "openssl", arch: "amd64", version: "3.0.11-1" }],
    upgradable: [{ name: "openssl", arch: "amd64", from: "3.0.11-1", to: "3.0.13-1", security: true }],
    apps: { shop: { current: "shop 2.4.1" } },
    ...over,
  }) as HostFacts;

describe("what moved on a host since planning", () => {
  it("nothing, when the facts still match the plan", () => {
    expect(whatMoved(host, facts({}))).toEqual([]);
  });

  it("names a version changed by hand, a new hold, another candidate, a new install, a broken package and an app", () => {
    const moved = whatMoved(
      host,
      facts({
        installed: [
          { name: "jq", version: "1.6-2" },
          { name: "libfoo", version: "1", status: "half-configured" },
          { name: "openssl", arch: "amd64", version: "3.0.11-1", held: true },
        ],
        upgradable: [{ name: "openssl", arch: "amd64", from: "3.0.11-1", to: "3.0.14-1", security: true }],
        apps: { shop: { current: "shop 2.6.0" } },
      }),
    );
    expect(moved).toEqual([
      "openssl is now held",
      "openssl's candidate is now 3.0.14-1, not 3.0.13-1",
      "jq is now installed (1.6-2)",
      `shop's current_version now prints "shop 2.6.0", not 2.4.1`,
      "libfoo 1 is now half-configured",
    ]);
    expect(whatMoved(host, facts({ installed: [{ name: "openssl", arch: "amd64", version: "3.0.13-1" }], upgradable: [] }))).toEqual(["openssl is now 3.0.13-1, not 3.0.11-1"]);
  });

  it("the digest covers the packages and apps the actions name", () => {
    const deps = hostFactsDependencies(host.actions);
    expect([...deps.packages].sort()).toEqual(["jq", "openssl"]);
    expect(deps.apps).toEqual(["shop"]);
  });

  it("a step's timeout, else its kind's default", () => {
    expect(stepTimeoutMs({ name: "c", kind: "command", command: "true", timeout: "30s" })).toBe(30_000);
    expect(stepTimeoutMs({ name: "p", kind: "packages", action: "upgrade" })).toBe(30 * 60_000);
  });
});
