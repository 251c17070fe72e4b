import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { renderHtmlReport, safeLinkTarget } from "../../../src/report/html/index.ts";
import { HOSTILE, SAMPLE_CHARTS, SAMPLE_REPORT } from "./sample.ts";

/** Every tag of the markup (text is escaped, so `<` only opens a tag). */
function tags(html: string): string[] {
  return html.match(/<[^>]*>/g) ?? [];
}

/** The page as text, without its two inlined scripts and its stylesheet. */
function markup(page: string): string {
  return page.replace(/<script>[\s\S]*?<\/script>/g, "<script>…</script>").replace(/<style>[\s\S]*?<\/style>/, "<style>…</style>");
}

describe("renderHtmlReport", () => {
  const page = renderHtmlReport(SAMPLE_REPORT, { title: `Fleet ${HOSTILE.script}` });
  const body = markup(page);

  it("is one document with a CSP that forbids every fetch and allows exactly its two scripts", () => {
    expect(page.startsWith("<!DOCTYPE html>\n")).toBe(true);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)![1]!.replace(/&#39;/g, "'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'none'");
    expect(csp).toContain("img-src data:");
    expect(csp).not.toMatch(/unsafe-eval|https?:|\*/);
    const scripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(2);
    const hashes = scripts.map((s) => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`);
    expect(/script-src ([^;]+)/.exec(csp)![1]!.split(" ")).toEqual(hashes);
    // The CSP must come before anything it governs.
    expect(page.indexOf("Content-Security-Policy")).toBeLessThan(page.indexOf("<style>"));
  });

  it("loads nothing from anywhere: no src, no stylesheet link, no external href", () => {
    expect(tags(body).filter((t) => /\ssrc=|^<link|^<iframe|^<object|^<embed/i.test(t))).toEqual([]);
    expect(page.replace(/<script>[\s\S]*?<\/script>/g, "")).not.toMatch(/@import|url\(/i);
    expect([...body.matchAll(/href="([^"]*)"/g)].map((m) => m[1])).toEqual(["runs/r1/report.md"]);
  });

  it("escapes raw HTML, the title and chart sources, and drops unsafe links", () => {
    expect(body).toContain("<title>Fleet &#60;script&#62;window.__pwned = &#39;script&#39;&#60;/script&#62;</title>");
    const all = tags(body);
    expect(all.filter((t) => /^<(img|iframe|object|embed|svg|math|form|base|meta http-equiv="refresh)/i.test(t))).toEqual([]);
    expect(all.filter((t) => !t.includes("Content-Security-Policy") && /\son[a-z]+=|javascript:|data:/i.test(t))).toEqual([]);
    expect(all.filter((t) => t === "<script>")).toHaveLength(2);
    expect(body).toContain("&#60;img src=x onerror=");
    expect(body).toContain('<span class="refused-link">open me</span>');
    expect(body.match(/<figure class="chart"/g)).toHaveLength(SAMPLE_CHARTS);
    expect(body).toContain("web-1&#60;/pre&#62;&#60;script&#62;");
  });

  it("renders tables with their alignment, wrapped to scroll", () => {
    expect(body).toContain('<div class="table"><table>');
    expect(body).toContain('<th class="align-right">security</th>');
  });

  it("carries no script at all when the report has no chart", () => {
    const plain = renderHtmlReport("# Status\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", { title: "s" });
    expect(plain).not.toContain("<script");
    expect(plain).toContain("script-src 'none'".replace(/'/g, "&#39;"));
    expect(plain).toContain('data-charts="done"');
  });

  it("keeps relative, fragment, http(s) and mailto links, and nothing else", () => {
    for (const ok of ["runs/x/report.md", "#top", "https://github.com/acme/fleet/pull/12", "http://example.com/a?b=1&c=2", "mailto:ops@example.com", "a/b:c"]) expect(safeLinkTarget(ok), ok).toBe(true);
    for (const bad of ["javascript:alert(1)", " javascript:x", "JaVaScRiPt:x", "java\tscript:x", "java\nscript:x", "\x01javascript:x", "data:text/html,x", "vbscript:x", "file:///etc/passwd", "&#106;avascript:x", "&#x6a;avascript:x", "&colon;x", "blob:x"]) expect(safeLinkTarget(bad), JSON.stringify(bad)).toBe(false);
  });

  it("shows a non-data image as its alt text and never fetches it", () => {
    const out = markup(renderHtmlReport("![logo](https://example.com/x.png) ![dot](data:image/png;base64,iVBORw0KGgo=)", { title: "i" }));
    expect(out).toContain("[image: logo]");
    expect(out).toContain('<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot">');
    expect(out).not.toContain("example.com");
  });
});
