/**
 * The report page's stylesheet, inlined: readable text width, tables that scroll
 * sideways rather than overflow, numbers aligned, light and dark colours following the
 * reader's system (`prefers-color-scheme`), and a print layout. System fonts only:
 * nothing is fetched.
 */
export const REPORT_CSS = `
:root {
  color-scheme: light dark;
  --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa;
  --border: #d1d9e0; --stripe: #f6f8fa; --link: #0969da; --warn: #9a6700;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #151b23;
    --border: #3d444d; --stripe: #151b23; --link: #4493f8; --warn: #d29922;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body {
  margin: 0 auto; padding: 2rem 1.5rem 4rem; max-width: 72rem;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Liberation Sans", sans-serif;
}
header.report { border-bottom: 1px solid var(--border); margin-bottom: 1.5rem; color: var(--muted); font-size: .85rem; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.6em 0 .6em; }
h1 { font-size: 1.9rem; border-bottom: 1px solid var(--border); padding-bottom: .3em; }
h2 { font-size: 1.45rem; border-bottom: 1px solid var(--border); padding-bottom: .25em; }
h3 { font-size: 1.15rem; }
p, ul, ol, blockquote, .table, pre, figure { margin: 0 0 1rem; }
a { color: var(--link); }
code, pre { font: .88em/1.45 ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", monospace; }
code { background: var(--panel); padding: .1em .35em; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--panel); border: 1px solid var(--border); border-radius: 6px; padding: .8rem 1rem; overflow-x: auto; }
pre code { background: none; padding: 0; }
p.raw { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .88em; color: var(--muted); }
blockquote { border-left: .25em solid var(--border); padding: 0 1em; color: var(--muted); }
.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: .92rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--border); padding: .35rem .7rem; vertical-align: top; }
th { background: var(--panel); text-align: left; font-weight: 600; }
tbody tr:nth-child(even) { background: var(--stripe); }
.align-right { text-align: right; } .align-center { text-align: center; } .align-left { text-align: left; }
figure.chart { border: 1px solid var(--border); border-radius: 6px; padding: 1rem; overflow-x: auto; }
figure.chart .drawing svg { display: block; margin: 0 auto; max-width: 100%; height: auto; }
figure.chart pre.mermaid-source { border: 0; margin: 0; }
.chart-error, .refused-link, .image-alt { color: var(--warn); }
hr { border: 0; border-top: 1px solid var(--border); margin: 2rem 0; }
details { margin: 0 0 1rem; }
@media print {
  html { background: #fff; color: #000; }
  body { max-width: none; padding: 0; }
  figure.chart, tr { break-inside: avoid; }
  a { color: inherit; }
}
`;
