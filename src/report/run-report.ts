import type { JournalRecord } from "../apply/journal-records.ts";
import { budgetCount, type RunResults } from "../apply/results.ts";
import type { HostResult, StepResult } from "../apply/types.ts";
import type { Criticality } from "../model/types.ts";
import type { Plan } from "../plan/types.ts";
import { compileTemplate, type RenderFn } from "../template/index.ts";
import { renderBackupSection } from "./backup.ts";
import { complianceSection } from "./compliance.ts";
import { failureKind, hostSeverity, runSeverity, type FailureKind, type Severity } from "./severity.ts";

/**
 * runs/<run-id>/report.md: the run for people. Summary first, then each wave and host;
 * when anything failed or the rollout halted, a post-incident section (blameless, as
 * incident practice writes them): severity and why, a UTC timeline from the journal,
 * what failed, the state each failed host was left in, and how to resume. Rendered
 * through src/template in Markdown mode, so every value from a host is escaped; text
 * is kept under `maxChars` (GitHub's 65,536-character body limit, with room to spare)
 * by cutting the timeline and per-host detail first, never the summary.
 */

/** What the report is made of: all of it already written by the run. */
export interface RunReportInput {
  plan: Plan;
  results: RunResults;
  /** The run's journal records, in order (readJournal(...).records). */
  journal: readonly JournalRecord[];
  /** Each host's criticality, as planned. */
  criticality: ReadonlyMap<string, Criticality>;
  /** The plan file as the user names it, for the resume command. */
  planFile: string;
}

const SOURCES = {
  head: `# Run {{runId}}

| | |
|---|---|
| Status | {{status}} (exit {{exitCode}}){{#if halt}}: {{halt}}{{/if}} |
| Plan | {{planId}} (sha256:{{digest}}) |
| Runbook | {{runbook}} |
| Started | {{startedAt}} |
| Finished | {{finishedAt}}{{#if resumes}} ({{resumes}} resume(s)){{/if}} |
{{#if clock}}
| Clock | the maintenance window was checked against --now {{clock}}, not the real time |
{{/if}}
| Hosts | {{counts}} |
| Failure budget | {{budget}}; the rollout halts at {{haltsAt}} |
{{#if severity}}
| Severity | {{severity}} |
{{/if}}
`,
  wave: `
## Wave {{number}}

| Host | Outcome | Detail |
|---|---|---|
`,
  hostRow: "| {{host}} | {{outcome}} | {{detail}} |\n",
  stepsHead: "\n### {{host}}\n\n| Step | Kind | Outcome | Duration | Detail |\n|---|---|---|---|---|\n",
  stepRow: "| {{step}} | {{kind}} | {{outcome}} | {{duration}} | {{detail}} |\n",
  packageRow: "| ↳ {{name}} |  | {{from}} → {{to}} |  |  |\n",
  incident: `
## Post-incident

**Severity {{severity}}**: {{why}}

### Timeline (UTC)

`,
  timelineRow: "- {{time}} {{text}}\n",
  timelineMore: "- … {{more}} more events; the full record is runs/{{runId}}/journal.jsonl\n",
  failedHead: `
### What failed

| Host | Criticality | Severity | Left in state | Detail |
|---|---|---|---|---|
`,
  failedRow: "| {{host}} | {{criticality}} | {{severity}} | {{state}} | {{detail}} |\n",
  resume: `
### How to resume

{{how}}

### For the write-up

- Impact:
- Root cause:
- Contributing factors:
- Action items (owner, due date):
`,
};

let compiled: Record<keyof typeof SOURCES, RenderFn> | undefined;
const t = (): Record<keyof typeof SOURCES, RenderFn> =>
  (compiled ??= Object.fromEntries(Object.entries(SOURCES).map(([name, source]) => [name, compileTemplate(source, "markdown")])) as Record<keyof typeof SOURCES, RenderFn>);

/** What a failure left the host in, in words. */
export const STATE: Readonly<Record<FailureKind, string>> = {
  broken: "possibly half-changed: a package change or reboot did not complete",
  partial: "changed by earlier steps, then a step failed",
  untouched: "unchanged: the failing step came before any change",
  unreachable: "unknown: steward could not reach it",
  precheck: "unchanged: a pre-check failed, nothing was started",
};

/** Timeline entries (UTC, "YYYY-MM-DD HH:MM:SSZ"): what a reader of an incident needs, not every step of every healthy host. */
export function timeline(journal: readonly JournalRecord[]): Array<{ time: string; text: string }> {
  const out: Array<{ time: string; text: string }> = [];
  const at = (r: JournalRecord, text: string): void => void out.push({ time: r.time.replace("T", " ").replace(/\.\d+Z$/, "Z"), text });
  for (const r of journal) {
    switch (r.type) {
      case "run-start":
        at(r, `run ${r.runId} started: plan ${r.planId}, pid ${r.pid} on ${r.machine}${r.clockOverride !== undefined ? `; the maintenance window was checked against a clock set with --now (${r.clockOverride}), not the real time` : ""}`);
        break;
      case "run-resume":
        at(r, `resumed by pid ${r.pid} on ${r.machine}${r.tornBytes > 0 ? ` (a torn last record of ${r.tornBytes} bytes was dropped)` : ""}`);
        break;
      case "wave-start":
        at(r, `wave ${r.wave + 1} started: ${r.hosts.length} host(s)`);
        break;
      case "step-outcome":
        if (r.result.outcome === "failed" || r.result.outcome === "unknown") at(r, `${r.host}: step ${r.result.step} (${r.result.kind}) ${r.result.outcome}: ${r.result.detail}`);
        break;
      case "host-end":
        if (!["changed", "unchanged"].includes(r.result.outcome)) at(r, `${r.host}: ${r.result.outcome}: ${r.result.detail}`);
        break;
      case "host-wait":
        at(r, `${r.host}: ${r.detail}`);
        break;
      case "gate":
        at(r, `gate after wave ${r.wave + 1} ${r.ok ? "passed" : "failed"}: ${r.detail}`);
        break;
      case "budget-trip":
        at(r, `failure budget tripped at ${r.host}: ${r.failures} host(s) counted against it, halts at ${r.haltsAt}; no new host starts`);
        break;
      case "window-close":
        at(r, `maintenance window closed (${r.closes}): ${r.detail}`);
        break;
      case "signal":
        at(r, `${r.mode} stop requested: ${r.reason}`);
        break;
      case "run-end":
        at(r, `run ended: ${r.status} (exit ${r.exitCode})`);
        break;
      default:
        break;
    }
  }
  return out;
}

/** The --now clock a run was started with, from its run-start record; "" when it ran on the real clock. */
function runStartClock(journal: readonly JournalRecord[]): string {
  const start = journal[0];
  return start?.type === "run-start" ? (start.clockOverride ?? "") : "";
}

const seconds = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

function hostDetail(h: HostResult): string[] {
  const r = t();
  const parts = [r.stepsHead({ host: h.host })];
  for (const s of h.steps) {
    parts.push(r.stepRow({ step: s.step, kind: s.kind, outcome: s.outcome, duration: seconds(s.durationMs), detail: stepDetail(s) }));
    for (const p of s.packages ?? []) parts.push(r.packageRow({ name: p.arch !== undefined && p.arch !== "all" ? `${p.name}:${p.arch}` : p.name, from: p.from ?? "(none)", to: p.to ?? "(removed)" }));
  }
  return parts;
}

function stepDetail(s: StepResult): string {
  const tail = (s.stderrTail ?? "").trim().split("\n").filter((l) => l.trim() !== "").at(-1);
  return s.outcome === "failed" && tail !== undefined && !s.detail.includes(tail) ? `${s.detail} (last output: ${tail.slice(0, 200)})` : s.detail;
}

/** Renders report.md; pure: the same inputs give the same text. */
export function renderRunReport(input: RunReportInput, maxChars = 60_000): string {
  const r = t();
  const { results, plan } = input;
  const crit = (host: string): Criticality => input.criticality.get(host) ?? "medium";
  const halted = results.halt !== null && results.halt.reason !== "signal";
  const severity = runSeverity(results.hosts.map((h) => ({ result: h, criticality: crit(h.host) })), halted);
  const counts = Object.entries(results.counts).filter(([, n]) => n > 0).map(([o, n]) => `${n} ${o}`).join(", ") || "none";
  const head = r.head({
    runId: results.runId, status: results.status, exitCode: results.exitCode, halt: results.halt ? `${results.halt.reason}: ${results.halt.detail}` : "",
    planId: results.plan.id, digest: results.plan.digest, runbook: `${plan.runbook.name} (${plan.runbook.file})`, startedAt: results.startedAt, finishedAt: results.finishedAt,
    resumes: results.resumes, counts, clock: runStartClock(input.journal), budget: budgetCount(results.failureBudget.failures, results.hosts), haltsAt: results.failureBudget.haltsAt, severity: severity ?? "",
  });
  const byName = new Map(results.hosts.map((h) => [h.host, h]));
  const waves: string[] = [];
  const details: string[] = [];
  for (const wave of plan.rollout.waves) {
    waves.push(r.wave({ number: wave.index + 1 }));
    for (const name of wave.hosts) {
      const h = byName.get(name);
      if (h === undefined) continue;
      waves.push(r.hostRow({ host: h.host, outcome: h.outcome, detail: h.detail }));
      if (h.steps.length > 0) details.push(...hostDetail(h));
    }
  }
  const incident: string[] = [];
  const failed = results.hosts.filter((h) => failureKind(h) !== undefined);
  if (severity !== undefined || results.halt !== null) {
    const worst = failed.map((h) => ({ h, s: hostSeverity(h, crit(h.host))! })).sort((a, b) => a.s.localeCompare(b.s))[0];
    const why = worst ? `${worst.h.host} (${crit(worst.h.host)}) ${worst.h.outcome}: ${STATE[failureKind(worst.h)!]}` : results.halt ? `the rollout halted (${results.halt.reason})` : "";
    incident.push(r.incident({ severity: severity ?? "none (stopped by an operator)", why }));
    const events = timeline(input.journal);
    const rows = events.map((e) => r.timelineRow(e));
    incident.push(...rows);
    if (failed.length > 0) {
      incident.push(r.failedHead({}));
      for (const h of failed) incident.push(r.failedRow({ host: h.host, criticality: crit(h.host), severity: hostSeverity(h, crit(h.host)) ?? "", state: STATE[failureKind(h)!], detail: h.detail }));
    }
    incident.push(r.resume({ how: resumeAdvice(input, failed) }));
  }
  return fit(head + renderBackupSection(results) + complianceSection(results), waves, incident, details, results.runId, maxChars);
}

function resumeAdvice(input: RunReportInput, failed: readonly HostResult[]): string {
  const { results } = input;
  const command = `steward apply ${input.planFile} --resume ${results.runId}`;
  const unknown = results.hosts.some((h) => h.steps.some((s) => s.outcome === "unknown"));
  const notStarted = results.hosts.filter((h) => h.outcome.startsWith("not-started") || h.outcome === "interrupted").length;
  const lines = [
    notStarted > 0 ? `${notStarted} host(s) did not run to the end. Fix the cause above, then continue the same run with \`${command}\`: completed steps are never run again and earlier failures still count against the budget.` : `Every host reached an outcome. To try the failed hosts again, fix the cause and re-plan (\`steward plan ${input.plan.runbook.name} --gather\`): their facts have changed.`,
  ];
  if (unknown) lines.push(`Steps marked unknown were started but their effect could not be judged from the host; check them by hand, then add \`--retry-unknown\` to run them again.`);
  if (failed.some((h) => failureKind(h) === "broken")) lines.push("A host left half-changed may need its package manager repaired (see each step's detail, e.g. `dpkg --configure -a`) before anything else runs on it.");
  return lines.join("\n\n");
}

/** Puts the parts together under `maxChars`: per-host detail goes first, then the timeline's tail. */
function fit(head: string, waves: string[], incident: string[], details: string[], runId: string, maxChars: number): string {
  const join = (d: string[], inc: string[]): string => [head, ...waves, ...inc, ...(d.length > 0 ? ["\n## Hosts\n", ...d] : [])].join("");
  let text = join(details, incident);
  if (text.length <= maxChars) return text;
  text = join([], incident);
  if (text.length <= maxChars) return `${text}\n_Per-host step detail is in runs/${runId}/results.json (cut to stay under GitHub's size limit)._\n`;
  const cut = `${text.slice(0, maxChars - 120)}\n\n_… cut to stay under GitHub's size limit; the full record is runs/${runId}/journal.jsonl._\n`;
  return cut;
}

export type { Severity };
