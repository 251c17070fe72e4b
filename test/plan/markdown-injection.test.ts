import { describe, expect, it } from "vitest";
import type { FactsResult } from "../../src/facts/types.ts";
import { renderPlanMarkdown } from "../../src/plan/markdown.ts";
import { plan } from "../../src/plan/planner.ts";
import { HOSTILE } from "../core/hostile-text.ts";
import { host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "./fixtures.ts";

/**
 * Package names, versions and the details built from them come from hosts. Rendered
 * into the plan's Markdown, none may add a line, a heading, a table cell, a link, an
 * image, a mention or an issue reference.
 */
describe("plan Markdown with hostile host values", () => {
  const values = Object.values(HOSTILE);
  const packages = values.flatMap((v, i) => [up(`p${i}${v}`, `1.0.${i}`, `1.0.${i + 1}${v}`), up(`q${i}`, v, `2${v}`)]);
  const hosts = [host("web-01", ["web"])];
  const facts = new Map<string, FactsResult>([["web-01", ok("web-01", withUpgrades(packages))]]);
  const md = renderPlanMarkdown(
    plan({
      inventory: inventory(hosts),
      runbook: runbook({ policy: { deny: ["p1*"], update_types: ["patch", "minor"] } }),
      facts,
      now: NOW,
      toolVersion: "0.1.0",
      inputs: INPUTS,
    }),
  );
  const lines = md.split("\n");

  it("renders every hostile value somewhere, as text", () => {
    expect(md).toContain("p5ok # Injected heading");
    expect(md).toContain("| p3pkg | 1.0.3 | 1.0.4pkg |"); // an unterminated OSC swallows the rest of its value only
    expect(md).toContain("@\u2060org/team");
  });

  it("has no control, bidi or carriage-return character", () => {
    expect(md).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/);
  });

  it("has only its own headings", () => {
    const headings = lines.filter((l) => /^\s{0,3}#/.test(l));
    for (const h of headings) expect(h).toMatch(/^(# Plan |## (Steps|Waves|Skipped hosts)$|### Wave \d+: |#### web-01$)/);
  });

  it("keeps every table row at its table's number of cells", () => {
    const cells = (line: string): number => line.replace(/\\\\/g, "").replace(/\\\|/g, "").split("|").length - 2;
    const packageRows = lines.filter((l) => /^\| [pq]\d/.test(l));
    expect(packageRows.length).toBe(10);
    for (const row of packageRows) expect(cells(row), row).toBe(5);
  });

  it("links, mentions and references nothing", () => {
    const unescaped = md.replace(/\\./g, "");
    expect(unescaped).not.toMatch(/\]\(|!\[|<[a-z]/i);
    expect(md).not.toMatch(/@[A-Za-z0-9]|#\d|GH-\d/i);
    expect(lines.filter((l) => /^\s*([-+*]|\d+[.)])\s/.test(l)).every((l) => /^- ((p|q)\d|reboot if required:)/.test(l) || /^\d+\. /.test(l))).toBe(true);
  });
});
