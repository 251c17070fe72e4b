/**
 * Incidents from a run (README, "Incidents"): a failed or halted run opens or updates
 * one incident per runbook and severity (the run's severity, src/report/severity.ts);
 * the next clean run of the runbook resolves every open one. SEV1 and SEV2 escalate:
 * the logins in STEWARD_ESCALATE_SEV1 / STEWARD_ESCALATE_SEV2 (comma-separated; a
 * `@org/team` entry is mentioned rather than assigned) are assigned and mentioned in
 * each further failure's comment.
 */
import type { RunResults } from "../apply/results.ts";
import type { Plan } from "../plan/types.ts";
import { runSeverity, type Severity } from "../report/severity.ts";
import { PublishInputError } from "./errors.ts";
import type { IncidentReport } from "./types.ts";

export const SEVERITIES: readonly Severity[] = ["SEV1", "SEV2", "SEV3", "SEV4"];

const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const TEAM = /^@[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;

/** Who a severity escalates to, from the environment. @throws PublishInputError for an entry that is neither a login nor @org/team. */
export function escalationOf(env: NodeJS.ProcessEnv, severity: Severity): { assignees: string[]; mentions: string[] } {
  if (severity !== "SEV1" && severity !== "SEV2") return { assignees: [], mentions: [] };
  const variable = `STEWARD_ESCALATE_${severity}`;
  const entries = (env[variable] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const assignees: string[] = [];
  const mentions: string[] = [];
  for (const e of entries) {
    if (TEAM.test(e)) mentions.push(e);
    else if (LOGIN.test(e.replace(/^@/, ""))) {
      assignees.push(e.replace(/^@/, ""));
      mentions.push(`@${e.replace(/^@/, "")}`);
    } else throw new PublishInputError(`${variable} has ${JSON.stringify(e.slice(0, 60))}, which is neither a GitHub login nor @org/team`, `set ${variable} to e.g. "alice,@acme/oncall"`);
  }
  return { assignees, mentions };
}

/** The run's severity, or undefined for a run that neither failed a host nor halted. */
export function severityOfRun(results: RunResults, plan: Plan): Severity | undefined {
  const criticality = new Map(plan.hosts.map((h) => [h.name, h.criticality]));
  return runSeverity(results.hosts.map((result) => ({ result, criticality: criticality.get(result.host) ?? "medium" })), results.status.startsWith("halted"));
}

/**
 * The incident reports a run leads to: one `failing` report at the run's severity, or,
 * for a clean run (status ok), one `resolved` report per severity (each closes an open
 * incident, if there is one). [] for a run that failed only softly (stale hosts).
 */
export function incidentReports(results: RunResults, plan: Plan, env: NodeJS.ProcessEnv, reportPath: string): IncidentReport[] {
  const runbook = plan.runbook.name;
  const severity = severityOfRun(results, plan);
  const failed = results.hosts.filter((h) => !["changed", "unchanged"].includes(h.outcome));
  if (severity !== undefined) {
    const { assignees, mentions } = escalationOf(env, severity);
    const what = `${results.status}: ${failed.length} host(s) not done (${failed.slice(0, 10).map((h) => `${h.host} ${h.outcome}`).join(", ")}${failed.length > 10 ? ", …" : ""})`;
    const summary = [`**${severity}** — runbook \`${runbook}\`, run \`${results.runId}\` (plan \`${results.plan.id}\`): ${what}.`, "", `Report with the post-incident timeline: \`${reportPath}\`.`, ...(mentions.length > 0 ? ["", `Escalated to ${mentions.join(" ")}.`] : [])].join("\n");
    return [{ runbook, severity, status: "failing", runId: results.runId, title: `${severity}: ${runbook} failed`, body: { summary, details: [] }, ...(severity === "SEV1" || severity === "SEV2" ? { comment: `Run ${results.runId} failed: ${what}. Report: ${reportPath}${mentions.length > 0 ? ` ${mentions.join(" ")}` : ""}` } : {}), labels: ["steward:incident", `severity:${severity.toLowerCase()}`], assignees }];
  }
  if (results.status !== "ok") return [];
  return SEVERITIES.map((s) => ({ runbook, severity: s, status: "resolved" as const, runId: results.runId, title: `${s}: ${runbook} failed`, body: { summary: `Resolved by run \`${results.runId}\`.`, details: [] }, comment: `Resolved: run ${results.runId} of plan ${results.plan.id} completed cleanly. Report: ${reportPath}`, labels: ["steward:incident", `severity:${s.toLowerCase()}`], assignees: [] }));
}
