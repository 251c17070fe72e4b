/**
 * The Mermaid bundle a report page draws its charts with: npm `mermaid`'s
 * self-contained browser build (`dist/mermaid.min.js`, an IIFE that sets
 * `globalThis.mermaid` and loads nothing else), read from node_modules when a page is
 * rendered and inlined in it, so the page works offline and fetches nothing.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { EnvironmentError } from "../../core/errors.ts";

/** The bundle's text and the CSP source that allows exactly it (`'sha256-…'`). */
export interface InlineScript {
  text: string;
  /** `'sha256-<base64>'`, the hash-source of CSP Level 2 (W3C CSP, "hash-source"). */
  hashSource: string;
}

let cached: InlineScript | undefined;

/**
 * The Mermaid browser bundle as an inline script, read on the first page rendered and
 * kept for the process (3.5 MB).
 * @throws EnvironmentError when the package is missing or its bundle could end the
 * `<script>` element early (it holds `<script` or `</script`, which HTML's script-data
 * parsing would act on).
 */
export function mermaidBundle(): InlineScript {
  cached ??= load();
  return cached;
}

function load(): InlineScript {
  let path: string;
  let text: string;
  try {
    path = createRequire(import.meta.url).resolve("mermaid/dist/mermaid.min.js");
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new EnvironmentError(`the Mermaid browser bundle (npm mermaid, dist/mermaid.min.js) could not be read: ${(error as Error).message}`, "install the npm dependencies (npm ci); the HTML report inlines that file");
  }
  // HTML ends a script at `</script`, and `<!--` followed by `<script` changes how it
  // parses the rest (HTML Living Standard, "script data double escaped state").
  if (/<\/?script/i.test(text)) throw new EnvironmentError(`${path} contains "<script" or "</script", so it cannot be inlined in a page safely`, "install the mermaid version package-lock.json pins (npm ci)");
  return inlineScript(text);
}

/** `text` with its CSP hash-source (sha256 of its UTF-8 bytes, base64). */
export function inlineScript(text: string): InlineScript {
  return { text, hashSource: `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'` };
}

/**
 * The page script that draws each chart: Mermaid with `securityLevel: 'strict'` (labels
 * are text, HTML in them is encoded, click handlers are off), the light or dark theme
 * the reader's system prefers. Each chart's source is the text content of its
 * `pre.mermaid-source` (never parsed as HTML); the drawing replaces it. A chart that
 * cannot be drawn keeps its source on the page with a note. When every chart is done,
 * `data-charts` on `<body>` becomes `done` (or `failed: N`), which the browser test waits for.
 */
export const DRAW_CHARTS = `(async () => {
  const body = document.body;
  const blocks = Array.from(document.querySelectorAll("figure.chart"));
  const mermaid = globalThis.mermaid;
  if (mermaid === undefined) { body.dataset.charts = "failed: no mermaid"; return; }
  const dark = globalThis.matchMedia !== undefined && matchMedia("(prefers-color-scheme: dark)").matches;
  const c = dark
    ? { fg: "#e6edf3", muted: "#9198a1", bg: "#0d1117", line: "#3d444d", palette: ["#4493f8", "#3fb950", "#f85149", "#d29922", "#a371f7", "#db61a2", "#39c5cf", "#db6d28"] }
    : { fg: "#1f2328", muted: "#59636e", bg: "#ffffff", line: "#d1d9e0", palette: ["#0969da", "#1a7f37", "#cf222e", "#9a6700", "#8250df", "#bf3989", "#1b7c83", "#953800"] };
  const pie = {};
  c.palette.forEach((colour, n) => { pie["pie" + (n + 1)] = colour; });
  const axis = (side) => ({ [side + "AxisLabelColor"]: c.fg, [side + "AxisTitleColor"]: c.fg, [side + "AxisTickColor"]: c.muted, [side + "AxisLineColor"]: c.muted });
  mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    htmlLabels: false,
    flowchart: { htmlLabels: false },
    theme: "base",
    fontFamily: "system-ui, sans-serif",
    themeVariables: {
      darkMode: dark, background: c.bg, fontFamily: "system-ui, sans-serif",
      primaryColor: dark ? "#1f2a37" : "#ddf4ff", primaryTextColor: c.fg, primaryBorderColor: c.palette[0], lineColor: c.muted, textColor: c.fg,
      ...pie, pieStrokeColor: c.bg, pieOuterStrokeColor: c.line, pieTitleTextColor: c.fg, pieSectionTextColor: "#ffffff", pieLegendTextColor: c.fg, pieOpacity: "0.9",
      xyChart: { backgroundColor: c.bg, titleColor: c.fg, ...axis("x"), ...axis("y"), plotColorPalette: c.palette.join(", ") },
    },
  });
  let failed = 0;
  for (let i = 0; i < blocks.length; i++) {
    const figure = blocks[i];
    const source = figure.querySelector("pre.mermaid-source");
    if (source === null) continue;
    try {
      const { svg } = await mermaid.render("chart-" + i, source.textContent ?? "");
      const drawing = document.createElement("div");
      drawing.className = "drawing";
      drawing.innerHTML = svg;
      source.replaceWith(drawing);
    } catch (error) {
      failed++;
      const note = document.createElement("figcaption");
      note.className = "chart-error";
      note.textContent = "This chart could not be drawn: " + String(error && error.message ? error.message : error).slice(0, 300);
      figure.append(note);
      document.getElementById("dchart-" + i)?.remove();
    }
  }
  body.dataset.charts = failed === 0 ? "done" : "failed: " + failed;
})();`;
