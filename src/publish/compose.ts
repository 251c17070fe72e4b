/**
 * What is published, built from the repository's artifacts: a plan (plans/<id>.json and
 * .md) or a run (runs/<run-id>/ and its audit entry), as files, a commit message whose
 * subject says what happened and whose trailers let `git log` alone tell the story
 * (README, "Commits"), and a pull-request body (summary first, detail after).
 *
 * Trailers follow git-interpret-trailers(1): `Key: value` lines in the last paragraph.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readJournal } from "../apply/journal-replay.ts";
import { recordedShardFiles } from "../audit/verify-shards.ts";
import { readRunFile } from "../audit/record.ts";
import { SUMMARY_FILE } from "../apply/summary.ts";
import type { RunResults } from "../apply/results.ts";
import type { AuditEntry } from "../audit/entry.ts";
import type { Plan } from "../plan/types.ts";
import type { PlanPublication, PublishFile, ResultsPublication } from "./types.ts";

const short = (digest: string): string => `${digest.slice(0, 12)}…`;

/** The approval as the Steward-Approved-By trailer states it. */
export function approvedBy(entry: Pick<AuditEntry, "approval"> | undefined): string {
  const a = entry?.approval;
  if (a === null || a === undefined) return "none recorded";
  const by = a.mergedBy !== undefined ? ` by ${a.mergedBy}` : "";
  return a.pullRequest !== undefined ? `pull request #${a.pullRequest} merged as ${a.commit}${by}` : `merge commit ${a.commit}${by}`;
}

/** A plan to publish: its JSON and Markdown files, on steward/plan/<runbook>. */
export async function planPublication(root: string, plan: Plan): Promise<PlanPublication> {
  const json = await readFile(join(root, "plans", `${plan.id}.json`));
  const md = await readFile(join(root, "plans", `${plan.id}.md`), "utf8");
  const changing = plan.hosts.length;
  const waves = plan.rollout.waves.length;
  const subject = `plan ${plan.runbook.name}: ${changing} host${changing === 1 ? "" : "s"} in ${waves} wave${waves === 1 ? "" : "s"}, ${plan.skipped.length} skipped (plan ${short(plan.digest)})`;
  const files: PublishFile[] = [
    { path: `plans/${plan.id}.json`, content: json },
    { path: `plans/${plan.id}.md`, content: md },
  ];
  const message = `${subject}\n\nMerging this commit's pull request approves exactly this plan; apply\nrefuses any other bytes.\n\nSteward-Plan: ${plan.digest}\nSteward-Plan-Id: ${plan.id}\nSteward-Runbook: ${plan.runbook.name}\n`;
  const summary = [
    `**Plan \`${plan.id}\`** for runbook \`${plan.runbook.name}\`: ${changing} host(s) in ${waves} wave(s), ${plan.skipped.length} skipped; failure budget halts at ${plan.rollout.failureBudget.haltsAt} failure(s).`,
    "",
    `Merge to approve. Digest \`${plan.digest}\`.`,
  ].join("\n");
  return { runbook: plan.runbook.name, planId: plan.id, title: subject.replace(/ \(plan [^)]*\)$/, ""), message, files, body: { summary, details: [{ title: "The plan", body: md }], fullTextPath: `plans/${plan.id}.md` }, labels: [] };
}

/** The subject of a run's commit, e.g. `apply security-patches: 38 changed, 1 failed (plan 3f2a…)`. */
export function resultsSubject(results: RunResults, runbook: string): string {
  const counts = Object.entries(results.counts).filter(([, n]) => n > 0).map(([o, n]) => `${n} ${o}`);
  return `apply ${runbook}: ${counts.join(", ") || "no hosts"}${results.status.startsWith("halted") ? `, ${results.status}` : ""} (plan ${short(results.plan.digest)})`;
}

/**
 * A run to publish: runs/<run-id>/ (journal, results, report, and the summary reports
 * read when the run has one: runs written before summaries existed have none until
 * `steward results summarise`), the audit log, and any incident files `extra` names,
 * on steward/results/<run-id>.
 */
export async function resultsPublication(root: string, results: RunResults, runbook: string, entry: AuditEntry | undefined, extra: readonly PublishFile[] = []): Promise<ResultsPublication> {
  const dir = `runs/${results.runId}`;
  const files: PublishFile[] = [];
  for (const name of ["journal.jsonl", "results.json", "report.md"]) files.push({ path: `${dir}/${name}`, content: await readFile(join(root, dir, name)) });
  const summaryFile = await readRunFile(join(root, dir, SUMMARY_FILE), `${dir}/${SUMMARY_FILE}`);
  if (summaryFile !== null) files.push({ path: `${dir}/${SUMMARY_FILE}`, content: summaryFile });
  // A sharded run: each shard's files, which its journal's shard-merge records name by digest.
  const shardFiles = recordedShardFiles(results.runId, (await readJournal(join(root, dir, "journal.jsonl"))).records);
  for (const path of [...shardFiles.keys()].sort()) files.push({ path, content: await readFile(join(root, path)) });
  files.push({ path: "runs/audit.jsonl", content: await readFile(join(root, "runs", "audit.jsonl")) });
  files.push(...extra);
  const subject = resultsSubject(results, runbook);
  const changed = results.hosts.filter((h) => h.outcome === "changed").map((h) => h.host);
  const trailers = [
    `Steward-Run: ${results.runId}`,
    `Steward-Plan: ${results.plan.digest}`,
    `Steward-Plan-Id: ${results.plan.id}`,
    `Steward-Outcome: ${results.status} (exit ${results.exitCode})`,
    `Steward-Hosts-Changed: ${changed.length}`,
    `Steward-Approved-By: ${approvedBy(entry)}`,
    ...(entry !== undefined ? [`Steward-Audit-Entry: ${entry.seq} ${entry.hash}`] : []),
  ];
  const hostLines = changed.length === 0 ? "No host was changed." : `Changed: ${changed.slice(0, 50).join(", ")}${changed.length > 50 ? `, and ${changed.length - 50} more (results.json)` : ""}.`;
  const message = `${subject}\n\n${hostLines}\nReport: ${dir}/report.md\n\n${trailers.join("\n")}\n`;
  const report = await readFile(join(root, dir, "report.md"), "utf8");
  const summary = [`**Run \`${results.runId}\`** of plan \`${results.plan.id}\`: **${results.status}** (exit ${results.exitCode}).`, "", hostLines, "", `Approved by: ${approvedBy(entry)}.`].join("\n");
  return { runId: results.runId, title: subject, message, files, body: { summary, details: [{ title: "Run report", body: report }], fullTextPath: `${dir}/report.md` }, labels: [] };
}
