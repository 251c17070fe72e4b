/**
 * A report as core and forecast write them (summary first, tables, xychart-beta and pie
 * charts), with hostile strings where host-provided values go: raw HTML, an
 * `<img onerror>`, `javascript:` links, and Mermaid labels trying to break out of their
 * chart. Every payload sets `window.__pwned` if it ever runs.
 */
export const HOSTILE = {
  script: "<script>window.__pwned = 'script'</script>",
  img: "<img src=x onerror=\"window.__pwned='img'\">",
  jsLink: "[open me](javascript:window.__pwned='link')",
  jsLinkTab: "[tabbed](java\tscript:window.__pwned='tab')",
  entityLink: "[entity](&#106;avascript:window.__pwned='entity')",
  dataLink: "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  pieLabel: "web-1</pre><script>window.__pwned='pie'</script>",
  flowLabel: "<img src=x onerror=window.__pwned='flow'>",
} as const;

const days = Array.from({ length: 14 }, (_, i) => `12-${String(i + 1).padStart(2, "0")}`);

export const SAMPLE_REPORT = `# Fleet status — 2026-W50

**42 hosts**: 5 with pending security updates, 2 waiting for a reboot, 1 open incident.
Sources: 365 files read at commit \`3f2a9c1\`.

## Pending updates

| host | group | security | patch | minor | major | oldest |
|---|---|--:|--:|--:|--:|---|
| web-1 | web | 2 | 4 | 0 | 0 | 9 days |
| db-1 | db | 0 | 1 | 1 | 1 | 30 days |
| ${HOSTILE.img} | x | 1 | 0 | 0 | 0 | today |

Raw HTML from a host: ${HOSTILE.script}

Links: ${HOSTILE.jsLink}, ${HOSTILE.jsLinkTab}, ${HOSTILE.entityLink}, ${HOSTILE.dataLink}, [the run](runs/r1/report.md).

${HOSTILE.img}

## Disk usage

\`\`\`mermaid
xychart-beta
  title "Disk used on /var (GiB)"
  x-axis [${days.join(", ")}]
  y-axis "GiB" 0 --> 100
  line [${days.map((_, i) => 40 + i * 3 - (i === 9 ? 20 : 0)).join(", ")}]
  line [${days.map((_, i) => 20 + i).join(", ")}]
\`\`\`

## Runs by outcome

\`\`\`mermaid
pie title Runs in the last 90 days
  "changed" : 311
  "unchanged" : 842
  "failed" : 17
  "${HOSTILE.pieLabel.replace(/"/g, "'")}" : 60
\`\`\`

## Success rate per week

\`\`\`mermaid
xychart-beta
  title "Success rate (%)"
  x-axis [W44, W45, W46, W47, W48, W49, W50]
  y-axis "%" 80 --> 100
  bar [97, 98, 95, 99, 100, 96, 98]
  line [97, 98, 95, 99, 100, 96, 98]
\`\`\`

## Open incidents

| incident | opened | runbook |
|---|---|---|
| SEV2 | 2026-12-01T02:14:00Z | security-patches |

\`\`\`sh
steward report trends --since 90d
\`\`\`
`;

/** How many mermaid blocks SAMPLE_REPORT holds. */
export const SAMPLE_CHARTS = 3;

/**
 * A flowchart whose node label is HTML: Mermaid (strict) passes such labels through
 * DOMPurify, whose parse Chromium reports as a refused inline handler under the page's CSP.
 */
export const HOSTILE_FLOWCHART = `# Dependencies

\`\`\`mermaid
flowchart LR
  a["${HOSTILE.flowLabel.replace(/"/g, "'")}"] --> b[db-1]
\`\`\`
`;
