import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fitSummary, STEP_SUMMARY_LIMIT, writeJobSummary } from "../../src/report/summary.ts";

const SUMMARY = "# Fleet status\n\n**1,000 hosts**: 12 with pending security updates.\n";

/** A section of about `size` bytes: a heading, a table, and a code fence in the middle. */
function section(n: number, size: number): string {
  const rows: string[] = [`## Section ${n}\n`, "", "| host | pending |", "|---|--:|"];
  let length = 0;
  let i = 0;
  const push = (line: string): void => {
    rows.push(line);
    length += line.length + 1;
  };
  while (length < size / 2) push(`| host-${n}-${i++} | ${i} |`);
  push("");
  push("```mermaid");
  push("xychart-beta");
  push(`  line [${Array.from({ length: 40 }, (_, k) => k).join(", ")}]`);
  while (length < size) push(`  %% padding ${i++} ünïcödé`);
  push("```");
  push("");
  return rows.join("\n");
}

describe("writeJobSummary", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "steward-summary-"));
    file = join(dir, "step_summary");
    await writeFile(file, "");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("does nothing outside GitHub Actions", async () => {
    expect(await writeJobSummary(SUMMARY, { env: {} })).toEqual({ written: false, reason: expect.stringContaining("GITHUB_STEP_SUMMARY is not set") });
  });

  it("appends a report that fits whole, after what the step wrote before", async () => {
    await writeFile(file, "earlier output\n");
    const outcome = await writeJobSummary(SUMMARY + section(1, 2000), { env: { GITHUB_STEP_SUMMARY: file } });
    expect(outcome).toMatchObject({ written: true, sectionsOmitted: 0, cut: false });
    expect(await readFile(file, "utf8")).toBe(`earlier output\n\n${SUMMARY}${section(1, 2000)}`);
  });

  it("keeps a 3 MB report within 1 MiB: the summary whole, detail left out from the last, fences closed, a note naming the full text", async () => {
    const sections = Array.from({ length: 60 }, (_, n) => section(n, 50_000));
    const report = SUMMARY + sections.join("");
    expect(Buffer.byteLength(report)).toBeGreaterThan(3 * STEP_SUMMARY_LIMIT);
    await writeFile(file, "x".repeat(100_000));
    const outcome = await writeJobSummary(report, { env: { GITHUB_STEP_SUMMARY: file }, fullTextPath: "reports/2026-W50.md" });
    const text = await readFile(file, "utf8");
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(STEP_SUMMARY_LIMIT);
    expect(Buffer.byteLength(text)).toBeGreaterThan(STEP_SUMMARY_LIMIT - 60_000);
    expect(text.slice(100_001)).toMatch(/^# Fleet status\n\n\*\*1,000 hosts\*\*/);
    expect(outcome).toMatchObject({ written: true });
    if (!outcome.written) return;
    expect(outcome.sectionsOmitted).toBeGreaterThan(30);
    expect(text).toContain("## Section 0\n");
    expect(text).not.toContain("## Section 59\n");
    expect(text).toMatch(/sections were left out( and the last section shown was cut)? to stay within GitHub's 1 MiB job-summary limit; the whole report is in `reports\/2026-W50\.md`\.\n$/);
    expect((text.match(/^```/gm) ?? []).length % 2).toBe(0);
  });

  it("writes nothing when the step's summary is already full", async () => {
    await writeFile(file, "x".repeat(STEP_SUMMARY_LIMIT - 10));
    expect(await writeJobSummary(SUMMARY, { env: { GITHUB_STEP_SUMMARY: file } })).toMatchObject({ written: false });
    expect((await readFile(file)).length).toBe(STEP_SUMMARY_LIMIT - 10);
  });

  it("never exceeds its room, keeps the summary whenever it fits, and never leaves a fence open (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 100, max: 5000 }), fc.integer({ min: 50, max: 40_000 }), (count, size, room) => {
        const report = SUMMARY + Array.from({ length: count }, (_, n) => section(n, size)).join("");
        const fitted = fitSummary(report, room, "reports/x.md");
        if (fitted === undefined) return room < 400;
        expect(Buffer.byteLength(fitted.text)).toBeLessThanOrEqual(room);
        if (Buffer.byteLength(SUMMARY) + 300 < room) expect(fitted.text.startsWith(SUMMARY)).toBe(true);
        expect((fitted.text.match(/^```/gm) ?? []).length % 2).toBe(0);
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
