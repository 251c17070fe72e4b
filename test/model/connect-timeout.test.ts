import { describe, expect, it } from "vitest";
import { parseYaml, type YamlSource } from "../../src/load/yaml-source.ts";
import { hostTarget } from "../../src/facts/target.ts";
import { BUILTIN_DEFAULTS, buildInventory } from "../../src/model/inventory.ts";

const load = (files: Record<string, string>): YamlSource[] => Object.entries(files).map(([name, text]) => parseYaml(name, text).source!);

describe("connect_timeout", () => {
  it("falls back to the built-in default", () => {
    const { inventory, diagnostics } = buildInventory(load({ "inventory/a.yaml": "hosts:\n  h1: { address: 10.0.0.1 }\n" }));
    expect(diagnostics).toEqual([]);
    expect(inventory.hosts.get("h1")!.connectTimeoutMs).toBe(BUILTIN_DEFAULTS.connectTimeoutMs);
  });

  it("takes the inventory default, and a host's own value over it", () => {
    const { inventory, diagnostics } = buildInventory(
      load({
        "inventory/defaults.yaml": "defaults:\n  connect_timeout: 30s\n",
        "inventory/hosts.yaml": "hosts:\n  plain: { address: 10.0.0.1 }\n  slow: { address: 10.0.0.2, connect_timeout: 2m }\n",
      }),
    );
    expect(diagnostics).toEqual([]);
    expect(inventory.hosts.get("plain")!.connectTimeoutMs).toBe(30_000);
    expect(inventory.hosts.get("slow")!.connectTimeoutMs).toBe(120_000);
  });

  it("reaches the transport target of the host and of its jump host", () => {
    const { inventory } = buildInventory(
      load({
        "inventory/a.yaml": "defaults:\n  connect_timeout: 15s\nhosts:\n  bastion: { address: 10.0.0.1 }\n  inner: { address: 10.0.0.2, via: bastion, connect_timeout: 40s }\n",
      }),
    );
    const target = hostTarget(inventory, inventory.hosts.get("inner")!);
    expect(target.connectTimeoutMs).toBe(40_000);
    expect(target.via?.connectTimeoutMs).toBe(15_000);
  });
});

describe("connect_timeout in validate", () => {
  it("accepts a host's own value and reports a bad one where it is", async () => {
    const { validateSources } = await import("../../src/validate/index.ts");
    const good = validateSources(load({ "inventory/a.yaml": "hosts:\n  slow: { address: 10.0.0.2, connect_timeout: 2m }\n" }), []);
    expect(good.diagnostics.filter((d) => d.severity === "error"), JSON.stringify(good.diagnostics)).toEqual([]);
    const bad = validateSources(load({ "inventory/a.yaml": "hosts:\n  slow: { address: 10.0.0.2, connect_timeout: soon }\n" }), []);
    expect(bad.diagnostics.filter((d) => d.severity === "error").map((d) => [d.pointer, d.rule])).toEqual([["/hosts/slow/connect_timeout", "schema/bad-format"]]);
  });
});
