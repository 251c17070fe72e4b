import { describe, expect, it } from "vitest";
import { compilePolicy, decidePackage } from "../../src/plan/policy.ts";
import { hostActions } from "../../src/plan/actions.ts";
import { up, withUpgrades } from "./fixtures.ts";

/** Policy and step patterns match package names that hosts report: their cost must not depend on the pattern's shape. */
describe("policy and step globs on host-provided names", () => {
  const evil = `${"a".repeat(199)}c`;
  const patterns = ["a*a*a*a*a*a*a*a*a*b", `${"a*".repeat(30)}b`, `*${"?*".repeat(20)}b`];

  it("decides a 200-character name against pathological patterns quickly", () => {
    const started = performance.now();
    const policy = compilePolicy({ deny: patterns, holds: patterns, allow: [...patterns, "a*c"] });
    for (let i = 0; i < 200; i++) {
      policy.decisions.clear();
      expect(decidePackage(policy, up(evil, "1.0-1", "1.0-2"), new Set())).toMatchObject({ planned: { name: evil } });
    }
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("filters a packages step with classes and negated classes", () => {
    const facts = withUpgrades([up("libssl3", "3.0.1-1", "3.0.2-1"), up("libssl1", "1.1.1-1", "1.1.2-1"), up("libssl9", "9.0-1", "9.1-1"), up(evil, "1.0-1", "1.0-2")]);
    const steps = [{ kind: "packages" as const, name: "ssl", action: "upgrade" as const, packages: ["libssl[13]", "libssl[!0-8]", ...patterns] }];
    const { actions } = hostActions(steps, () => true, facts, compilePolicy(undefined));
    const action = actions[0] as { upgrades: Array<{ name: string }> };
    expect(action.upgrades.map((u) => u.name)).toEqual(["libssl1", "libssl3", "libssl9"]);
  });
});
