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

/**
 * A skip's detail quotes what a host or a cache file said (an error message, an app's
 * output). In the plan JSON it is one plain line: no line break to forge a heading in
 * whatever shows it, no control or bidi character to make it read other than it is.
 */
describe("plan JSON skip details from hostile hosts", () => {
  const message = "boom \u202e | @admin \u2066x\u2069 \n\n# Approved\n\r\x1b[2J\u200bdone";
  const facts = new Map<string, FactsResult>([["web-01", { host: "web-01", ok: false, gatheredAt: "2026-11-22T00:00:00.000Z", error: { kind: "command-failed", message } }]]);
  const p = plan({ inventory: inventory([host("web-01", ["web"])]), runbook: runbook(), facts, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });

  it("are one line without control or format characters, the words kept", () => {
    const detail = p.skipped[0]?.detail ?? "";
    expect(detail).toBe("command-failed at 2026-11-22T00:00:00.000Z: boom  | @admin x   # Approved  done");
    expect(JSON.stringify(p)).not.toMatch(/[\u202e\u2066\u2069\u200b]|\\n|\\r|\\u001b/);
  });
});
