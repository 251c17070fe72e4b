/**
 * `steward audit verify` for run summaries (runs/<run-id>/summary.json, the compact
 * form reports read; src/apply/summary.ts). A summary is derived from results.json by
 * one pure function, so it needs no digest of its own in the audit log: results.json's
 * digest is there, and verify derives the summary again from those bytes and compares
 * byte for byte. A summary that differs — edited, derived from other results, or of a
 * format this steward does not write — is a finding naming it; a run without one (written
 * before summaries existed) is not (`steward results summarise` adds it).
 */
import { join } from "node:path";
import type { RunResults } from "../apply/results.ts";
import { SUMMARY_FILE, summariseResults, summaryText } from "../apply/summary.ts";
import { commitsTouching, fileAtCommit } from "../core/git.ts";
import { AUDIT_LOG } from "./entry.ts";
import type { ReadEntry } from "./log.ts";
import { digestOf, readRunFile } from "./record.ts";
import type { Finding } from "./verify.ts";

/**
 * The summary text derived from results.json's bytes, or why it cannot be (the bytes are
 * not a results file steward writes). Pure.
 */
export function derivedSummary(resultsBytes: Buffer): { text: string } | { problem: string } {
  let results: RunResults;
  try {
    results = JSON.parse(resultsBytes.toString("utf8")) as RunResults;
    return { text: summaryText(summariseResults(results, resultsBytes)) };
  } catch {
    return { problem: "results.json is not a results file steward writes, so no summary can be derived from it" };
  }
}

/**
 * Why `summary` is not the summary of `resultsBytes`, or null when it is. Names what
 * differs: the results it was derived from (its recorded sha256), or its own content.
 */
export function summaryMismatch(summary: Buffer, resultsBytes: Buffer | null, runId: string): string | null {
  const file = `runs/${runId}/${SUMMARY_FILE}`;
  const fix = `\`steward results summarise ${runId}\` derives it again once results.json is right`;
  if (resultsBytes === null) return `${file} has no runs/${runId}/results.json to be derived from: it cannot be trusted (restore results.json from Git)`;
  const derived = derivedSummary(resultsBytes);
  if ("problem" in derived) return `${file} cannot be checked: runs/${runId}/${derived.problem}`;
  if (Buffer.compare(Buffer.from(derived.text, "utf8"), summary) === 0) return null;
  const actual = digestOf(resultsBytes).sha256;
  let recorded: unknown;
  try {
    recorded = (JSON.parse(summary.toString("utf8")) as { results?: { sha256?: unknown } }).results?.sha256;
  } catch {
    return `${file} is not JSON: it is not the summary of runs/${runId}/results.json; ${fix}`;
  }
  if (typeof recorded === "string" && recorded !== actual) return `${file} was derived from results.json bytes with sha256 ${recorded.slice(0, 12)}…, not from runs/${runId}/results.json (sha256 ${actual.slice(0, 12)}…): one of them was edited; ${fix}`;
  return `${file} differs from the summary derived from runs/${runId}/results.json: it was edited (or written by another version of steward); ${fix}`;
}

/** The work tree's summary of run `runId` against its results.json (`resultsBytes`, null when missing). */
export async function checkSummaryFile(root: string, runId: string, resultsBytes: Buffer | null, latest: ReadEntry, findings: Finding[]): Promise<void> {
  const file = `runs/${runId}/${SUMMARY_FILE}`;
  const summary = await readRunFile(join(root, file), file);
  if (summary === null) return;
  const why = summaryMismatch(summary, resultsBytes, runId);
  if (why !== null) findings.push({ severity: "error", entry: { line: latest.line, seq: latest.entry.seq, runId }, file, message: why });
}

/** In git: every committed version of the run's summary is the summary of the results.json committed with it. */
export async function checkSummaryCommits(root: string, runId: string, latest: ReadEntry, findings: Finding[]): Promise<void> {
  const file = `runs/${runId}/${SUMMARY_FILE}`;
  for (const c of await commitsTouching(root, file)) {
    const summary = await fileAtCommit(root, c.commit, file);
    if (summary === null) continue;
    const why = summaryMismatch(summary, await fileAtCommit(root, c.commit, `runs/${runId}/results.json`), runId);
    if (why !== null) findings.push({ severity: "error", entry: { line: latest.line, seq: latest.entry.seq, runId }, file, commit: c.commit, message: `commit ${c.commit}: ${why} (${AUDIT_LOG} line ${latest.line} records the run)` });
  }
}
