/**
 * The Markdown of `steward report status` and `trends`: summary first, then tables,
 * charts as ```` ```mermaid ```` blocks (xychart-beta for series, pie for shares), which
 * GitHub renders. Every value that came from a host or a file (host, group, rule,
 * package and runbook names, problem messages) goes through markdownText in tables and
 * through mermaidLabel in charts.
 */
import { markdownText } from "../core/text.ts";
import type { StatusReport } from "./status.ts";
import type { TrendsReport } from "./trends.ts";

const cell = (v: unknown): string => (v === null || v === undefined ? "—" : markdownText(v));
const row = (cells: unknown[]): string => `| ${cells.map(cell).join(" | ")} |\n`;
const head = (cells: string[]): string => `| ${cells.join(" | ")} |\n|${cells.map(() => "---").join("|")}|\n`;
const pct = (r: number | null): string => (r === null ? "—" : `${Math.round(r * 1000) / 10}%`);

/** A string safe inside a Mermaid quoted label: letters, digits and a few punctuation marks only. */
export function mermaidLabel(v: unknown): string {
  return String(v).replace(/[^A-Za-z0-9 ._:/+(),-]/g, "_").slice(0, 80);
}

/** One xychart-beta block: bars and/or lines over labelled x values. */
export function xychart(title: string, x: string[], yTitle: string, series: Array<{ kind: "bar" | "line"; values: number[] }>): string {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const lines = [`xychart-beta`, `    title "${mermaidLabel(title)}"`, `    x-axis [${x.map((l) => `"${mermaidLabel(l)}"`).join(", ")}]`, `    y-axis "${mermaidLabel(yTitle)}" 0 --> ${Math.ceil(max * 1.1)}`];
  for (const s of series) lines.push(`    ${s.kind} [${s.values.map((v) => Math.round(v * 100) / 100).join(", ")}]`);
  return `\`\`\`mermaid\n${lines.join("\n")}\n\`\`\`\n`;
}

/** A pie block; slices with zero are left out. */
export function pie(title: string, slices: Array<[string, number]>): string {
  const shown = slices.filter(([, n]) => n > 0);
  if (shown.length === 0) return "";
  return `\`\`\`mermaid\npie showData\n    title ${mermaidLabel(title)}\n${shown.map(([k, n]) => `    "${mermaidLabel(k)}" : ${n}`).join("\n")}\n\`\`\`\n`;
}

/** How the runs were read: from their summary.json, or from results.json (no good summary: older runs). */
function runSources(runs: { summary: number; results: number } | undefined): string {
  if (runs === undefined) return "runs/*/results.json, ";
  const parts = [`${runs.summary} run(s) from runs/*/summary.json`];
  if (runs.results > 0) parts.push(`${runs.results} from runs/*/results.json, having no good summary (\`steward results summarise\` writes them)`);
  return `${parts.join(", ")}; `;
}

function sources(r: { source: { commit?: string; uncommitted?: number; since: string | null; until: string; files: number; runs?: { summary: number; results: number } }; problems: Array<{ file: string; line: number; message: string }>; problemsLeftOut: number }): string {
  const out = [`\n## Sources\n\n${r.source.files} file(s) read${r.source.commit ? (r.source.uncommitted ? ` from the work tree, which differs from commit \`${r.source.commit}\` in ${r.source.uncommitted} file(s) under runs/, incidents/ and facts/snapshots/: these figures are not the commit's (commit or discard the changes)` : `, as committed at \`${r.source.commit}\``) : " (not a git commit: the work tree as it is)"}, from ${r.source.since ?? "the start of the history"} to ${r.source.until}: ${runSources(r.source.runs)}runs/audit.jsonl, incidents/*.md, facts/snapshots/*.jsonl.\n`];
  if (r.problems.length > 0) {
    out.push(`\n${r.problems.length + r.problemsLeftOut} problem(s) in the history; what they name was skipped:\n\n${head(["File", "Line", "Problem"])}`);
    for (const p of r.problems) out.push(row([p.file, p.line === 0 ? "(whole file)" : p.line, p.message]));
    if (r.problemsLeftOut > 0) out.push(`\n… and ${r.problemsLeftOut} more.\n`);
  }
  return out.join("");
}

const age = (d: number | null): string => (d === null ? "—" : `${d} d`);

/** The status report as Markdown. */
export function statusMarkdown(r: StatusReport): string {
  const s = r.summary;
  const out: string[] = [`# Fleet status\n\nAs of ${r.source.until}.\n`];
  if (s.hosts === 0) {
    out.push("\nThe history holds no host yet: no facts snapshot and no run. Record facts with `steward facts --snapshot` and commit `facts/snapshots/`; runs add themselves under `runs/`.\n");
    return out.join("") + sources(r);
  }
  const notSeen = s.factsStale === 0 ? "" : `\n- **${s.factsStale}** host(s) not in any snapshot for more than ${r.staleAfterDays} days (retired, or their facts are no longer recorded): listed as last seen, counted in no total below`;
  out.push(`\n- **${s.hosts}** host(s), ${s.unreachable} unreachable at their latest snapshot${notSeen}\n- **${s.withPendingSecurity}** host(s) with pending security updates; pending: ${s.pending.security} security, ${s.pending.patch} patch, ${s.pending.minor} minor, ${s.pending.major} major\n- **${s.rebootRequired}** host(s) waiting for a reboot\n- **${s.nonCompliant}** host(s) failing a compliance rule; ${s.staleEvidence} with stale evidence (older than ${r.staleAfterDays} days: not trusted)\n- **${s.withoutVerifiedRestore}** host(s) backed up but never test-restored\n- **${s.openIncidents}** open incident(s)\n`);
  out.push("\n", pie("Pending updates by type", [["security", s.pending.security], ["patch", s.pending.patch], ["minor", s.pending.minor], ["major", s.pending.major]]));
  if (r.openIncidents.length > 0) {
    out.push(`\n## Open incidents\n\n${head(["Runbook", "Severity", "Opened", "Age", "Failing runs", "File"])}`);
    for (const i of r.openIncidents) out.push(row([i.runbook, i.severity, i.openedAt, `${i.ageDays} d`, i.failures, i.file]));
  }
  out.push(`\n## Groups\n\n${head(["Group", "Hosts", "Not seen", "Unreachable", "Security", "Patch", "Minor", "Major", "Hosts exposed", "Reboot", "Non-compliant", "Stale evidence", "No verified restore"])}`);
  for (const g of r.groups) out.push(row([g.group, g.hosts, g.factsStale, g.unreachable, g.pending.security, g.pending.patch, g.pending.minor, g.pending.major, g.withPendingSecurity, g.rebootRequired, g.nonCompliant, g.staleEvidence, g.withoutVerifiedRestore]));
  out.push(`\nAges count from the first facts snapshot that listed the update. A pending reboot is as of the latest reachable snapshot.\n\n## Hosts\n\n${head(["Host", "Groups", "Last seen", "Security (oldest)", "Patch (oldest)", "Minor (oldest)", "Major (oldest)", "Reboot", "Last successful maintenance", "Compliance", "Last backup", "Last verified restore"])}`);
  for (const h of r.hosts) {
    const fresh = h.compliance.filter((c) => !c.stale);
    const failing = fresh.filter((c) => c.status !== "compliant").map((c) => `${c.rule} ${c.status}`);
    const stale = h.compliance.filter((c) => c.stale).map((c) => `${c.rule} (${c.ageDays} d)`);
    const compliance = h.compliance.length === 0 ? "no evidence" : `${fresh.length - failing.length}/${h.compliance.length} compliant${failing.length > 0 ? `; ${failing.join(", ")}` : ""}${stale.length > 0 ? `; stale: ${stale.join(", ")}` : ""}`;
    const p = (t: "security" | "patch" | "minor" | "major"): string => (h.pending[t] === 0 ? "0" : `${h.pending[t]} (${age(h.oldestPendingDays[t])})`);
    out.push(row([h.host, h.groups.join(", ") || "—", `${h.lastSeen ?? "never"}${h.reachable ? "" : " (unreachable)"}${h.factsStale ? ` (not seen for more than ${r.staleAfterDays} d: not counted)` : ""}`, p("security"), p("patch"), p("minor"), p("major"), h.rebootRequired === null ? "—" : h.rebootRequired ? "yes" : "no", h.lastSuccess ? `${h.lastSuccess.at} (${h.lastSuccess.runbook})` : "never", compliance, h.lastBackup ? `${h.lastBackup.at} ${h.lastBackup.verification}` : "none", h.lastVerifiedRestore?.at ?? "never"]));
  }
  return out.join("") + sources(r);
}

/** Buckets a daily series into at most ~60 points (by week beyond 60 days), summing. */
function buckets(daily: TrendsReport["daily"]): Array<{ label: string; runs: number; failedRuns: number; exposedHosts: number; observedHosts: number; n: number }> {
  const size = daily.length > 60 ? 7 : 1;
  const out: Array<{ label: string; runs: number; failedRuns: number; exposedHosts: number; observedHosts: number; n: number }> = [];
  for (let i = 0; i < daily.length; i += size) {
    const chunk = daily.slice(i, i + size);
    out.push({ label: chunk[0]!.day, runs: chunk.reduce((a, d) => a + d.runs, 0), failedRuns: chunk.reduce((a, d) => a + d.failedRuns, 0), exposedHosts: chunk.reduce((a, d) => a + d.exposedHosts, 0) / chunk.length, observedHosts: chunk.reduce((a, d) => a + d.observedHosts, 0) / chunk.length, n: chunk.length });
  }
  return out;
}

/** The trends report as Markdown. */
export function trendsMarkdown(r: TrendsReport): string {
  const s = r.summary;
  const out: string[] = [`# Maintenance trends\n\nFrom ${r.source.since} to ${r.source.until}.\n`];
  if (s.runs === 0 && s.observedHostDays === 0 && s.mttr.incidents === 0) {
    out.push("\nNo run, facts snapshot or closed incident falls in this range: there is nothing to report. Widen it with `--since`, or check that `runs/` and `facts/snapshots/` are committed.\n");
    return out.join("") + sources(r);
  }
  const lat = s.patchLatency;
  out.push(`\n- **${s.runs}** run(s): ${s.ok} ok, ${s.hostsFailed} with failed hosts, ${s.halted} halted — success rate ${pct(s.successRate)}\n- **${s.hostResults}** host result(s), ${s.hostFailures} failed or unreachable (${pct(s.hostFailureRate)}); ${s.hostsChanged} distinct host(s) changed, ${s.changes} host change(s)\n- **MTTR** ${s.mttr.meanHours === null ? "—" : `${s.mttr.meanHours} h`} (median ${s.mttr.medianHours === null ? "—" : `${s.mttr.medianHours} h`}) over ${s.mttr.incidents} closed incident(s); ${s.mttr.stillOpen} still open\n- **Patch latency** ${lat.meanDays === null ? "—" : `${lat.meanDays} d`} mean, ${lat.medianDays ?? "—"} d median, ${lat.p90Days ?? "—"} d p90 over ${lat.count} installed update(s); ${r.goneWithoutInstall} update(s) left the facts without a run installing them\n- **Security exposure** ${s.exposureHostDays} host-day(s) with a pending security update, of ${s.observedHostDays} observed (${pct(s.exposureShare)})\n`);
  const b = buckets(r.daily);
  const per = b.length > 0 && b[0]!.n > 1 ? "week" : "day";
  if (b.length > 0) {
    out.push(`\n## Runs per ${per}\n\n`, xychart(`Runs per ${per} (bars) and failed runs (line)`, b.map((x) => x.label), "runs", [{ kind: "bar", values: b.map((x) => x.runs) }, { kind: "line", values: b.map((x) => x.failedRuns) }]));
    out.push(`\n## Security exposure\n\n`, xychart(`Hosts with a pending security update (line) of hosts observed (bars), ${per === "week" ? "weekly mean" : "daily"}`, b.map((x) => x.label), "hosts", [{ kind: "bar", values: b.map((x) => x.observedHosts) }, { kind: "line", values: b.map((x) => x.exposedHosts) }]));
  }
  out.push(`\n## Runbooks\n\n`, pie("Runs per runbook", r.runbooks.map((x) => [x.runbook, x.runs])), `\n${head(["Runbook", "Runs", "Ok", "Hosts failed", "Halted", "Success rate", "Host results", "Host failures", "Host failure rate", "Hosts changed", "Changes"])}`);
  for (const x of r.runbooks) out.push(row([x.runbook, x.runs, x.ok, x.hostsFailed, x.halted, pct(x.successRate), x.hostResults, x.hostFailures, pct(x.hostFailureRate), x.hostsChanged, x.changes]));
  out.push(`\n## Incidents (MTTR)\n\nOpened at the first failing run of an episode, repaired at the clean run that closed it (incidents/*.md timelines).\n\n${head(["Runbook", "Closed incidents", "Mean time to repair"])}`);
  for (const m of r.mttrByRunbook) out.push(row([m.runbook, m.incidents, m.meanHours === null ? "—" : `${m.meanHours} h`]));
  out.push(`\n## Patch latency\n\nFrom the first facts snapshot listing an update to the run that installed it.\n\n${head(["Type", "Installed", "Mean", "Median", "p90"])}`);
  for (const [t, l] of Object.entries(r.patchLatencyByType)) out.push(row([t, l.count, l.meanDays === null ? "—" : `${l.meanDays} d`, l.medianDays === null ? "—" : `${l.medianDays} d`, l.p90Days === null ? "—" : `${l.p90Days} d`]));
  out.push(`\n## Groups\n\n${head(["Group", "Hosts", "Host results", "Failure rate", "Changes", "Patch latency (mean)", "Exposure host-days", "Observed host-days"])}`);
  for (const g of r.groups) out.push(row([g.group, g.hosts, g.hostResults, pct(g.hostFailureRate), g.changes, g.patchLatency.meanDays === null ? "—" : `${g.patchLatency.meanDays} d`, g.exposureHostDays, g.observedHostDays]));
  return out.join("") + sources(r);
}
