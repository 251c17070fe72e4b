import { existsSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHtmlReport } from "../../../src/report/html/index.ts";
import { HOSTILE, HOSTILE_FLOWCHART, SAMPLE_CHARTS, SAMPLE_REPORT } from "./sample.ts";

/**
 * The HTML report in a real browser: Debian's chromium, headless, driven by
 * puppeteer-core over a pipe (no debugging port). scripts/setup installs chromium, so
 * CI runs this; the suite skips only when /usr/bin/chromium is absent, and says so.
 */
// The functions passed to page.evaluate run in the page; the project's lib has no DOM types.
declare const document: any;
declare const window: any;
declare const Image: any;

const CHROMIUM = process.env.STEWARD_CHROMIUM ?? "/usr/bin/chromium";
const present = existsSync(CHROMIUM);
if (!present) console.warn(`test/report/html/browser.test.ts skipped: ${CHROMIUM} does not exist (scripts/setup installs Debian's chromium; or set STEWARD_CHROMIUM)`);

interface Visit {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  requests: string[];
}

describe.skipIf(!present)("the HTML report in headless chromium", () => {
  let browser: Browser;
  let pid: number | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "steward-html-"));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      pipe: true,
      userDataDir: join(dir, "profile"),
      // Root in a container: chromium's sandbox needs user namespaces it may not get.
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    pid = browser.process()?.pid;
  });

  afterAll(async () => {
    await Promise.race([browser?.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    if (pid !== undefined) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone: close() ended it
      }
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Opens `html` from a file:// URL and records every console error, page error and request but the page itself. */
  async function visit(name: string, html: string, scheme: "light" | "dark" = "light"): Promise<Visit> {
    const file = join(dir, `${name}.html`);
    await writeFile(file, html);
    const page = await browser.newPage();
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
    await page.setViewport({ width: 1200, height: 900 });
    const v: Visit = { page, consoleErrors: [], pageErrors: [], requests: [] };
    const url = pathToFileURL(file).href;
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warn") v.consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => v.pageErrors.push(String(e)));
    page.on("request", (r) => {
      if (r.url() !== url) v.requests.push(r.url());
    });
    await page.goto(url, { waitUntil: "load" });
    await page.waitForFunction(() => document.body.dataset["charts"] !== "pending", { timeout: 60_000 });
    return v;
  }

  /** Distinct colours (sampled) and the top-left pixel of a PNG, decoded by the browser itself in a blank page. */
  async function pixels(png: Uint8Array): Promise<{ width: number; height: number; colours: number; corner: string }> {
    const page = await browser.newPage();
    try {
      return await page.evaluate(async (b64: string) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const canvas = document.createElement("canvas");
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext("2d")!;
        ctx.drawImage(img, 0, 0);
        const data = ctx.getImageData(0, 0, img.width, img.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < data.length; i += 4 * 7) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
        return { width: img.width, height: img.height, colours: seen.size, corner: `${data[0]},${data[1]},${data[2]}` };
      }, Buffer.from(png).toString("base64"));
    } finally {
      await page.close();
    }
  }

  it("draws every chart as SVG, with no console error, no page error and no request, and hostile strings stay text", async () => {
    const v = await visit("sample", renderHtmlReport(SAMPLE_REPORT, { title: `Fleet status ${HOSTILE.script}` }));
    try {
      const state = await v.page.evaluate(() => ({
        charts: document.body.dataset["charts"],
        figures: document.querySelectorAll("figure.chart").length,
        svgs: document.querySelectorAll("figure.chart .drawing > svg").length,
        sources: document.querySelectorAll("pre.mermaid-source").length,
        pwned: (window as unknown as { __pwned?: string }).__pwned,
        scripts: document.scripts.length,
        imgs: document.querySelectorAll("img, iframe, object, embed").length,
        handlers: document.querySelectorAll("[onerror], [onload], [onclick]").length,
        hrefs: Array.from(document.querySelectorAll("a")).map((a: any) => a.getAttribute("href") as string),
        title: document.title,
        text: document.body.innerText,
        tables: document.querySelectorAll("table").length,
        rows: document.querySelectorAll("tbody tr").length,
        xyLines: document.querySelectorAll("figure.chart svg .line-plot-0 path, figure.chart svg [class*='line-plot'] path").length,
        pieSlices: document.querySelectorAll("figure.chart svg .pieCircle").length,
        pieLegend: document.querySelectorAll("figure.chart svg .legend").length,
        chartText: Array.from(document.querySelectorAll("figure.chart svg")).map((s: any) => (s.textContent ?? "") as string).join("\n"),
      }));
      expect(v.pageErrors).toEqual([]);
      expect(v.consoleErrors).toEqual([]);
      expect(v.requests).toEqual([]);
      expect(state.charts).toBe("done");
      expect(state.figures).toBe(SAMPLE_CHARTS);
      expect(state.svgs).toBe(SAMPLE_CHARTS);
      expect(state.sources).toBe(0);
      expect(state.xyLines).toBeGreaterThanOrEqual(2);
      expect(state.pieSlices).toBe(4);
      expect(state.pieLegend).toBe(4);
      // Nothing hostile ran or became markup: the two inlined scripts only, no element that loads.
      expect(state.pwned).toBeUndefined();
      expect(state.scripts).toBe(2);
      expect(state.imgs).toBe(0);
      expect(state.handlers).toBe(0);
      expect(state.hrefs).toEqual(["runs/r1/report.md"]);
      expect(state.title).toBe(`Fleet status ${HOSTILE.script}`);
      expect(state.text).toContain(HOSTILE.script);
      expect(state.text).toContain(HOSTILE.img);
      expect(state.text).toContain("open me");
      expect(state.tables).toBe(2);
      expect(state.rows).toBe(4);
      expect(state.chartText).toContain("web-1</pre>");
      expect(state.chartText).toContain("Disk used on /var (GiB)");

      const png = await v.page.screenshot({ path: join(dir, "sample.png"), fullPage: true });
      expect((await stat(join(dir, "sample.png"))).size).toBeGreaterThan(30_000);
      const image = await pixels(png);
      expect(image.width).toBe(1200);
      expect(image.height).toBeGreaterThan(1500);
      expect(image.colours).toBeGreaterThan(50);
      expect(image.corner).toBe("255,255,255");
    } finally {
      await v.page.close();
    }
  }, 120_000);

  it("keeps an HTML label in a flowchart as text: nothing loads or runs, and only the CSP's refusal is logged", async () => {
    const v = await visit("flowchart", renderHtmlReport(HOSTILE_FLOWCHART, { title: "flowchart" }));
    try {
      const state = await v.page.evaluate(() => ({
        charts: document.body.dataset["charts"],
        pwned: (window as unknown as { __pwned?: string }).__pwned,
        loads: document.querySelectorAll("img, iframe, object, embed, foreignObject").length,
        handlers: document.querySelectorAll("[onerror], [onload]").length,
        label: document.querySelector("figure.chart svg")?.textContent ?? "",
      }));
      expect(state.charts).toBe("done");
      expect(state.pwned).toBeUndefined();
      expect(state.loads).toBe(0);
      expect(state.handlers).toBe(0);
      expect(state.label).toContain("<img src");
      expect(v.pageErrors).toEqual([]);
      expect(v.requests).toEqual([]);
      // Mermaid's sanitiser (DOMPurify) parses the label in an inert document; Chromium
      // still reports the handler it would have refused. Nothing else may be logged.
      for (const m of v.consoleErrors) expect(m).toMatch(/^error: Executing inline event handler violates the following Content Security Policy directive/);
    } finally {
      await v.page.close();
    }
  }, 120_000);

  it("follows the reader's dark scheme, page and charts", async () => {
    const v = await visit("dark", renderHtmlReport(SAMPLE_REPORT, { title: "dark" }), "dark");
    try {
      expect(v.pageErrors).toEqual([]);
      expect(v.consoleErrors).toEqual([]);
      expect(await v.page.evaluate(() => document.querySelectorAll("figure.chart svg").length)).toBe(SAMPLE_CHARTS);
      const image = await pixels(await v.page.screenshot({ fullPage: true }));
      expect(image.corner).toBe("13,17,23");
      expect(image.colours).toBeGreaterThan(50);
    } finally {
      await v.page.close();
    }
  }, 120_000);

  it("enforces its Content-Security-Policy: a fetch and an injected script are refused (the check is live)", async () => {
    const v = await visit("csp", renderHtmlReport("# CSP\n\n```mermaid\npie\n  \"a\" : 1\n```\n", { title: "csp" }));
    try {
      const outcome = await v.page.evaluate(async () => {
        const fetched = await fetch("http://127.0.0.1:9/steal").then(() => "fetched", (e: Error) => `refused: ${e.message}`);
        const s = document.createElement("script");
        s.textContent = "window.__pwned = 'injected'";
        document.body.append(s);
        const img = document.createElement("img");
        img.src = "http://127.0.0.1:9/pixel.png";
        document.body.append(img);
        await new Promise((r) => setTimeout(r, 200));
        return { fetched, pwned: (window as unknown as { __pwned?: string }).__pwned };
      });
      expect(outcome.fetched).toMatch(/^refused/);
      expect(outcome.pwned).toBeUndefined();
      expect(v.consoleErrors.join("\n")).toMatch(/Content Security Policy/);
    } finally {
      await v.page.close();
    }
  }, 120_000);

  it("keeps a chart that cannot be drawn as its source, with a note, and draws the others", async () => {
    const md = "# Broken\n\n```mermaid\nxychart-beta\n  line [1, 2, oops\n```\n\n```mermaid\npie\n  \"ok\" : 1\n```\n";
    const v = await visit("broken", renderHtmlReport(md, { title: "broken" }));
    try {
      const state = await v.page.evaluate(() => ({
        charts: document.body.dataset["charts"],
        svgs: document.querySelectorAll("figure.chart .drawing > svg").length,
        source: document.querySelector("pre.mermaid-source")?.textContent,
        note: document.querySelector(".chart-error")?.textContent,
      }));
      expect(v.pageErrors).toEqual([]);
      expect(state.charts).toBe("failed: 1");
      expect(state.svgs).toBe(1);
      expect(state.source).toContain("line [1, 2, oops");
      expect(state.note).toMatch(/could not be drawn/);
    } finally {
      await v.page.close();
    }
  }, 120_000);
});
