/**
 * The forecast report in Markdown that reads well on GitHub: the summary first, the
 * recommendations as a table, one Mermaid xychart per at-risk series (readings, the
 * fitted line and the threshold), then every trend in a table. Every value that came
 * from a host is escaped (markdownText for Markdown, mermaidLabel for chart labels).
 */
import { markdownText } from "../../core/text.ts";
import type { ChartSeries, ForecastReport, ReportedTrend } from "./report.ts";
import { bytes } from "./recommend.ts";

/** At most this many rows in the table of all trends (the JSON has every one). */
const MAX_TREND_ROWS = 300;

/** The report's Markdown; pure. */
export function renderForecastMarkdown(report: ForecastReport, charts: readonly ChartSeries[]): string {
  const s = report.summary;
  const out: string[] = [];
  out.push(`# Forecast — ${report.generatedAt.slice(0, 10)}\n`);
  out.push(`${s.recommendations === 0 ? "**No recommended work**" : `**${s.recommendations} recommended work item${s.recommendations === 1 ? "" : "s"}** (${s.urgent} urgent)`}: ${s.hosts} host(s), ${s.trends} trend(s) — ${s.growing} growing, ${s.full} at the threshold, ${s.insufficient} with insufficient data.\n`);
  out.push(`Source: facts snapshots from ${report.source.since.slice(0, 10)} to ${report.source.until.slice(0, 10)} (${report.source.files} file(s) under facts/snapshots/)${report.source.commit ? ` at commit \`${report.source.commit}\`` : ""}.\n`);
  out.push(`Method: ${markdownText(report.method.estimator)}; ${Math.round(report.method.confidence * 100)}% intervals; at least ${report.method.minPoints} readings over ${report.method.minSpanDays} days. Thresholds: disk ${markdownText(report.method.thresholds.disk)}; memory ${markdownText(report.method.thresholds.memory)}; load ${markdownText(report.method.thresholds.load)}. Cleanups: ${markdownText(report.method.cleanups)}. A recommendation is made when the interval's pessimistic end crosses the threshold before the host's next maintenance window (urgent) or the one after (next window), or within ${report.method.horizonDays} days for hosts without one.\n`);
  if (report.recommendations.length > 0) {
    out.push("## Recommended work\n");
    out.push("| Id | Host | Resource | Urgency | Soonest | Expected | Window | Action |\n|---|---|---|---|---|---|---|---|");
    for (const r of report.recommendations) {
      const resource = r.kind === "disk" ? `disk ${r.mount}` : r.kind;
      const window = r.deadline.by === "horizon" ? `none (${report.method.horizonDays}-day horizon)` : `${r.runbook ?? ""} ${r.deadline.at.slice(0, 16).replace("T", " ")}Z`;
      out.push(`| ${cell(r.id)} | ${cell(r.host)} | ${cell(resource)} | ${r.urgency} | ${r.soonest.at.slice(0, 10)} (${r.soonest.days.toFixed(1)} d) | ${r.expected.at === null ? "no date" : `${r.expected.at.slice(0, 10)} (${r.expected.days!.toFixed(1)} d)`} | ${cell(window)} | ${cell(r.action)} |`);
    }
    out.push("");
    for (const c of charts) out.push(chart(c));
  }
  if (report.problems.length > 0) {
    out.push("## Problems in the data\n");
    out.push("| Host | Resource | Problem |\n|---|---|---|");
    for (const p of report.problems) out.push(`| ${cell(p.host)} | ${cell(p.resource)} | ${cell(p.message)} |`);
    out.push("");
  }
  if (report.skipped.length > 0) {
    out.push(`## Skipped snapshot lines\n\n${report.skipped.length + report.skippedLeftOut} line(s) or file(s) of the snapshots were skipped; nothing of them is in the trends:\n`);
    out.push("| File | Line | Problem |\n|---|---|---|");
    for (const p of report.skipped) out.push(`| ${cell(p.file)} | ${p.line === 0 ? "(whole file)" : p.line} | ${cell(p.message)} |`);
    if (report.skippedLeftOut > 0) out.push(`\n… and ${report.skippedLeftOut} more.`);
    out.push("");
  }
  out.push("## Every trend\n");
  const rows = trendRows(report);
  out.push("| Host | Resource | Status | Level | Growth per day (interval) | Days to threshold (interval) | Note |\n|---|---|---|---|---|---|---|");
  for (const row of rows.slice(0, MAX_TREND_ROWS)) out.push(row.text);
  if (rows.length > MAX_TREND_ROWS) out.push(`\n_${rows.length - MAX_TREND_ROWS} more trend(s), the furthest from their threshold, are in \`--format json\`._`);
  return `${out.join("\n")}\n`;
}

function trendRows(report: ForecastReport): Array<{ key: number; text: string }> {
  const rows: Array<{ key: number; text: string }> = [];
  for (const h of report.hosts) {
    const add = (resource: string, t: ReportedTrend, unit: "bytes" | "load"): void => {
      const key = t.status === "full" ? -1 : t.soonest?.days ?? Number.POSITIVE_INFINITY;
      const f = t.fit;
      const fmt = (v: number): string => (unit === "load" ? v.toFixed(3) : bytes(v));
      const level = f === undefined ? "" : unit === "load" ? `${f.levelAtLast.toFixed(2)} / ${t.capacity} CPUs` : `${((100 * f.levelAtLast) / t.capacity).toFixed(1)}% of ${bytes(t.capacity)}`;
      const growth = f === undefined ? "" : `${fmt(f.slopePerDay)} (${fmt(f.lowerPerDay)} to ${fmt(f.upperPerDay)})`;
      const days = t.full === undefined ? "" : `${t.full.days === null ? "—" : t.full.days.toFixed(1)} (${t.soonest?.days == null ? "—" : t.soonest.days.toFixed(1)} to ${t.latest?.days == null ? "never" : t.latest.days.toFixed(1)})`;
      const note = t.note !== undefined ? `${t.note}; ${t.message}` : t.status === "insufficient-data" || t.status === "full" ? t.message : [t.cleanups.length > 0 ? `fitted since the cleanup on ${t.cleanups.at(-1)!.at.slice(0, 10)}` : "", t.unconfirmedDrop ? `last reading fell to ${unit === "load" ? t.unconfirmedDrop.to : bytes(t.unconfirmedDrop.to)}: a cleanup if the next confirms it` : "", t.rejected.length > 0 ? `${t.rejected.reduce((n, r) => n + r.count, 0)} reading(s) left out` : ""].filter(Boolean).join("; ");
      rows.push({ key, text: `| ${cell(h.host)} | ${cell(resource)} | ${t.status} | ${level} | ${growth} | ${days} | ${cell(note)} |` });
    };
    for (const d of h.disks) add(`disk ${d.mount}`, d, "bytes");
    add("memory", h.memory, "bytes");
    add("load", h.load, "load");
  }
  return rows.sort((a, b) => a.key - b.key);
}

/** A Mermaid xychart-beta of one series: readings, the fitted line and the threshold, on the same categories. */
function chart(c: ChartSeries): string {
  const observed = c.points;
  const values = observed.map(([, v]) => v);
  const fitted = observed.map(([, , f]) => f);
  const top = Math.max(c.threshold, ...values, ...fitted) * 1.05;
  const num = (v: number): string => (Number.isFinite(v) ? Number(v.toFixed(3)).toString() : "0");
  return [
    `### ${markdownText(c.id)}\n`,
    `${markdownText(c.title)}. Lines: the readings, the fitted trend, and the threshold.\n`,
    "```mermaid",
    "xychart-beta",
    `    title "${mermaidLabel(c.title)}"`,
    `    x-axis [${observed.map(([t]) => `"${t.slice(5, 10)}"`).join(", ")}]`,
    `    y-axis "${c.unit}" 0 --> ${num(top)}`,
    `    line [${values.map(num).join(", ")}]`,
    `    line [${fitted.map(num).join(", ")}]`,
    `    line [${observed.map(() => num(c.threshold)).join(", ")}]`,
    "```\n",
  ].join("\n");
}

/** Text safe inside a Mermaid quoted label: letters, digits and a few marks; anything else a space. */
export function mermaidLabel(text: string): string {
  return text.replace(/[^A-Za-z0-9 .,:()/_+-]/g, " ").slice(0, 120);
}

const cell = (v: string): string => markdownText(v);
