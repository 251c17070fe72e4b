import { describe, expect, it } from "vitest";
import { buildInventory } from "../../src/model/inventory.ts";
import { parseYaml, type YamlSource } from "../../src/load/yaml-source.ts";

const load = (files: Record<string, string>): YamlSource[] => Object.entries(files).map(([name, text]) => parseYaml(name, text).source!);

describe("variable precedence: defaults < parent group < child group < host", () => {
  const { inventory, diagnostics } = buildInventory(
    load({
      "inventory/a.yaml": `defaults:
  user: ops
  vars: { level: default, only_default: d, port_var: 1 }
groups:
  all-sites:
    children: [site-a]
    vars: { level: grandparent, from_grandparent: g }
  site-a:
    children: [web]
    vars: { level: parent, port_var: 2 }
  web:
    vars: { level: child }
  zeta:
    vars: { level: zeta-sibling }
  alpha:
    vars: { level: alpha-sibling, tie: alpha }
`,
      "inventory/b.yaml": `hosts:
  web-01: { address: 10.0.0.1, groups: [web] }
  web-02: { address: 10.0.0.2, groups: [web], vars: { level: host } }
  both: { address: 10.0.0.3, groups: [zeta, alpha] }
`,
    }),
  );

  it("has no problems", () => expect(diagnostics).toEqual([]));

  it("lets the deepest group win over its ancestors and defaults", () => {
    const vars = inventory.hosts.get("web-01")!.vars;
    expect(vars.level).toBe("child");
    expect(vars.port_var).toBe(2);
    expect(vars.from_grandparent).toBe("g");
    expect(vars.only_default).toBe("d");
  });

  it("lets host vars win over every group", () => {
    expect(inventory.hosts.get("web-02")!.vars.level).toBe("host");
  });

  it("breaks ties between groups of equal depth by name, later name winning", () => {
    expect(inventory.hosts.get("both")!.vars.level).toBe("zeta-sibling");
    expect(inventory.hosts.get("both")!.vars.tie).toBe("alpha");
  });

  it("records ancestors in memberOf and inherits defaults", () => {
    const host = inventory.hosts.get("web-01")!;
    expect(host.memberOf).toEqual(["all-sites", "site-a", "web"]);
    expect(host.user).toBe("ops");
    expect(host.port).toBe(22);
    expect(host.become).toBe(false);
  });
});

describe("merging several files", () => {
  it("merges group children declared in different files", () => {
    const { inventory, diagnostics } = buildInventory(
      load({
        "inventory/a.yaml": "groups:\n  prod: { children: [web] }\n  web: {}\n  db: {}\n",
        "inventory/b.yaml": "groups:\n  prod: { children: [db] }\nhosts:\n  d1: { address: 10.0.0.9, groups: [db] }\n",
      }),
    );
    expect(diagnostics).toEqual([]);
    expect(inventory.groups.get("prod")!.children).toEqual(["web", "db"]);
    expect(inventory.hosts.get("d1")!.memberOf).toEqual(["db", "prod"]);
  });

  it("reports a host defined twice at the second definition, naming the first", () => {
    const { diagnostics } = buildInventory(
      load({
        "inventory/a.yaml": "hosts:\n  h1: { address: 10.0.0.1 }\n",
        "inventory/b.yaml": "\nhosts:\n  h1: { address: 10.0.0.2 }\n",
      }),
    );
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ file: "inventory/b.yaml", line: 3, column: 3, rule: "inventory/duplicate-host" });
    expect(diagnostics[0]!.message).toContain("inventory/a.yaml:2:3");
  });

  it("reports a cycle once, naming its path", () => {
    const { diagnostics } = buildInventory(load({ "inventory/a.yaml": "groups:\n  a: { children: [b] }\n  b: { children: [c] }\n  c: { children: [a] }\n" }));
    const cycles = diagnostics.filter((d) => d.rule === "inventory/group-cycle");
    expect(cycles).toHaveLength(1);
    expect(cycles[0]!.message).toMatch(/a → .* → a|b → .* → b|c → .* → c/);
  });
});
