import { describe, expect, it } from "vitest";
import { buildInventory } from "../../src/model/inventory.ts";
import { evaluateSelector, indexInventory, parseSelector, SelectorSyntaxError } from "../../src/model/selector.ts";
import { parseYaml } from "../../src/load/yaml-source.ts";

const { source } = parseYaml(
  "inventory/a.yaml",
  `groups:
  prod: { children: [web, db] }
  web: {}
  db: {}
  edge: {}
hosts:
  web-01: { address: 10.0.0.1, groups: [web], tags: [canary] }
  web-02: { address: 10.0.0.2, groups: [web, edge], tags: [canary-exempt] }
  db-01: { address: 10.0.0.3, groups: [db], criticality: critical }
  lb-01: { address: 10.0.0.4, groups: [edge] }
`,
);
const { inventory, diagnostics } = buildInventory([source!]);
const index = indexInventory(inventory);
const select = (text: string): string[] => [...evaluateSelector(parseSelector(text), index)].sort();

describe("selectors", () => {
  it("builds a clean inventory for the tests", () => expect(diagnostics).toEqual([]));

  it("matches groups including descendants' hosts", () => {
    expect(select("group:prod")).toEqual(["db-01", "web-01", "web-02"]);
  });

  it("intersects, excludes and unions", () => {
    expect(select("group:web & !tag:canary-exempt")).toEqual(["web-01"]);
    expect(select("group:db | tag:canary")).toEqual(["db-01", "web-01"]);
    expect(select("group:db, lb-01")).toEqual(["db-01", "lb-01"]);
  });

  it("binds ! tighter than & and & tighter than |", () => {
    expect(select("group:db | group:edge & !tag:canary-exempt")).toEqual(["db-01", "lb-01"]);
    expect(select("(group:db | group:edge) & !tag:canary-exempt")).toEqual(["db-01", "lb-01"]);
    expect(select("!group:web & !group:db")).toEqual(["lb-01"]);
  });

  it("globs host names and bare names reach groups too", () => {
    expect(select("web-*")).toEqual(["web-01", "web-02"]);
    expect(select("edge")).toEqual(["lb-01", "web-02"]);
    expect(select("host:web-0?")).toEqual(["web-01", "web-02"]);
    expect(select("group:e*")).toEqual(["lb-01", "web-02"]);
  });

  it("globs with classes and negated classes", () => {
    expect(select("web-0[12]")).toEqual(["web-01", "web-02"]);
    expect(select("host:web-0[!1]")).toEqual(["web-02"]);
    expect(select("[a-l]*-01")).toEqual(["db-01", "lb-01"]);
  });

  it("accepts 64 levels of nesting and long lists of hosts", () => {
    expect(select(`${"(".repeat(64)}db-01${")".repeat(64)}`)).toEqual(["db-01"]);
    expect(select(`${"!!".repeat(32)}db-01`)).toEqual(["db-01"]);
    const many = Array.from({ length: 9_999 }, (_, i) => `web-${i}`).join(",");
    expect(select(`${many},db-01`)).toEqual(["db-01"]);
  });

  it("matches a pathological glob against a long host name quickly", () => {
    const long = parseYaml("inventory/b.yaml", `hosts:\n  ${"a".repeat(63)}: { address: 10.0.0.9 }\n`);
    const idx = indexInventory(buildInventory([long.source!]).inventory);
    const started = performance.now();
    expect(evaluateSelector(parseSelector("a*a*a*a*a*a*a*a*a*b"), idx).size).toBe(0);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("selects by criticality and all", () => {
    expect(select("criticality:critical")).toEqual(["db-01"]);
    expect(select("all & !group:prod")).toEqual(["lb-01"]);
    expect(select("*")).toHaveLength(4);
  });

  it.each([
    ["group:web &", 10, "nothing follows"],
    ["(group:web", 0, "never closed"],
    ["group:web)", 9, "no matching"],
    ["grp:web", 0, "unknown selector kind"],
    ["criticality:urgent", 12, "unknown criticality"],
    ["group:", 6, "needs a name"],
    ["web db", 4, "join terms"],
    ["web-0[12", 5, "'[' is never closed"],
    ["web\u202Edb", 3, "unexpected U+202E"],
    ["host:web-0[12 & group:db", 10, "'[' is never closed"],
    ["group:w[z-a]", 8, "backwards"],
    ["(".repeat(10_000), 64, "more than 64 deep"],
    ["!".repeat(10_000) + "web-01", 64, "more than 64 deep"],
  ])("rejects %j at index %i", (text, index, message) => {
    let caught: unknown;
    try {
      parseSelector(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SelectorSyntaxError);
    expect((caught as SelectorSyntaxError).index).toBe(index);
    expect((caught as SelectorSyntaxError).message).toContain(message);
  });
});
