import { describe, expect, it } from "vitest";
import { renderBody } from "../../src/publish/body.ts";
import { PublishInputError } from "../../src/publish/errors.ts";
import { branchComponent, checkFilePath, formatMarker, hasMarker, incidentMarker, parseMarker, planBranch, planMarker, resultsBranch } from "../../src/publish/markers.ts";

describe("markers", () => {
  it("round-trip, with fields sorted so the same marker is always the same text", () => {
    const text = formatMarker(planMarker("security-patches", "3f2a9c"));
    expect(text).toBe("<!-- steward:plan plan=3f2a9c runbook=security-patches -->");
    expect(parseMarker(`Some text\n${text}\nmore`)).toEqual({ kind: "plan", fields: { plan: "3f2a9c", runbook: "security-patches" } });
    expect(hasMarker(text, "plan", { runbook: "security-patches" })).toBe(true);
    expect(hasMarker(text, "plan", { runbook: "security" })).toBe(false);
    expect(hasMarker(text, "incident", { runbook: "security-patches" })).toBe(false);
    expect(hasMarker(null, "plan", {})).toBe(false);
  });

  it("refuse a value that could break out of the comment or add a field", () => {
    expect(() => formatMarker(planMarker("web --> <b>", "x"))).toThrow(PublishInputError);
    expect(() => formatMarker(planMarker("web plan=evil", "x"))).toThrow(/only letters, digits and \. _ : \/ - are allowed/);
    expect(() => formatMarker(incidentMarker("", "SEV1"))).toThrow(PublishInputError);
  });
});

describe("branch names and paths", () => {
  it("follow git's ref rules, stricter", () => {
    expect(planBranch("security-patches")).toBe("steward/plan/security-patches");
    expect(resultsBranch("20240101T000000Z-3f2a")).toBe("steward/results/20240101T000000Z-3f2a");
    for (const bad of ["", "-x", ".x", "x.", "x.lock", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "a/b", "a@{1}", "x".repeat(101)]) {
      expect(() => branchComponent(bad, "runbook name"), bad).toThrow(PublishInputError);
    }
  });

  it("refuse file paths that leave the repository or touch .git", () => {
    expect(checkFilePath("runs/r1/results.json")).toBe("runs/r1/results.json");
    for (const bad of ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", ".git/config", "a/.GIT/hooks", "a\\b", "a\nb"]) {
      expect(() => checkFilePath(bad), JSON.stringify(bad)).toThrow(PublishInputError);
    }
  });
});

describe("bodies", () => {
  const marker = planMarker("web", "abc");

  it("put the marker first and fold each detail under an HTML-escaped title", () => {
    const body = renderBody(marker, { summary: "## Plan\n\n2 hosts\n\n", details: [{ title: "Hosts <b> & @team #12", body: "| a |\n|---|" }] });
    expect(body).toBe("<!-- steward:plan plan=abc runbook=web -->\n## Plan\n\n2 hosts\n\n<details><summary>Hosts &#60;b&#62; &#38; @\u2060team #\u206012</summary>\n\n| a |\n|---|\n\n</details>\n");
  });

  it("leave out the least important details first, then cut the last kept one at a line", () => {
    const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} ${i}`).join("\n");
    const parts = { summary: "SUMMARY", details: [{ title: "one", body: lines(50, "one") }, { title: "two", body: lines(200, "two") }, { title: "three", body: lines(200, "three") }], fullTextPath: "plans/abc.md" };
    const body = renderBody(marker, parts, 2000);
    expect(body.length).toBeLessThanOrEqual(2000);
    expect(body).toContain("SUMMARY");
    expect(body).toContain(lines(50, "one"));
    expect(body).toMatch(/<summary>two<\/summary>\n\ntwo 0\n[\s\S]*\n\n… \(cut to fit\)\n\n<\/details>/);
    expect(body).not.toContain("three");
    expect(body.endsWith("_1 section was left out to stay within GitHub's size limit; the whole text is in `plans/abc.md`._\n")).toBe(true);
    // Every line that is kept is whole.
    for (const line of body.split("\n").filter((l) => l.startsWith("two "))) expect(line).toMatch(/^two \d+$/);
  });

  it("close a code fence the cut left open", () => {
    const body = renderBody(marker, { summary: "S", details: [{ title: "log", body: `\`\`\`\n${"x\n".repeat(2000)}\`\`\`` }] }, 1500);
    const fences = body.split("\n").filter((l) => l.startsWith("```")).length;
    expect(fences % 2).toBe(0);
    expect(body.length).toBeLessThanOrEqual(1500);
  });

  it("drop every detail rather than cut the summary, and refuse a summary that cannot fit", () => {
    const body = renderBody(marker, { summary: "S".repeat(900), details: [{ title: "d", body: "x".repeat(5000) }] }, 1100);
    expect(body).toContain("S".repeat(900));
    expect(body).toContain("_1 section was left out");
    expect(() => renderBody(marker, { summary: "S".repeat(2000), details: [] }, 1100)).toThrow(/the summary of this plan is 20\d\d characters with its marker; GitHub allows 1100/);
  });
});
