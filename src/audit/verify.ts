/**
 * `steward audit verify`: checks the recorded history is complete and untampered, from
 * the repository alone. Every finding names the exact entry (line and seq of
 * runs/audit.jsonl), file and commit, and verification never stops at the first one.
 *
 * Checked: the log's own chain (entry.ts); that every run folder has an entry and every
 * entry a folder; that each run's files match the digests of its latest entry, and its
 * journal still begins with what every earlier entry recorded (a journal only grows);
 * that each journal's own hash chain holds and names the entry's plan; and, in a git
 * repository, that each applied plan was committed before its apply started (and is in
 * the approving commit the entry names), and that no committed version of a run's
 * files differs from every digest the log recorded for it.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { readJournal } from "../apply/journal-replay.ts";
import { AUDIT_LOG } from "./entry.ts";
import { commitsTouching, fileAtCommit, isGitRepository, safeRepoPath } from "../core/git.ts";
import { readAuditLog, type ReadEntry } from "./log.ts";
import { fileDigest, RUN_FILES } from "./record.ts";

/** One thing verification found. `error`s make verify fail; a `note` says what could not be checked. */
export interface Finding {
  severity: "error" | "note";
  message: string;
  /** The entry concerned: its line in runs/audit.jsonl, seq and run. */
  entry?: { line: number; seq: number; runId: string };
  /** A repository-relative file concerned. */
  file?: string;
  /** A commit concerned. */
  commit?: string;
}

export interface VerifyResult {
  entries: number;
  runs: number;
  findings: Finding[];
  /** True when git checks ran (the root is a git work tree). */
  gitChecked: boolean;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

function at(e: ReadEntry): Finding["entry"] {
  return { line: e.line, seq: e.entry.seq, runId: e.entry.runId };
}

/** Run folders under runs/: every folder holding a journal (runs/locks is not a run). */
async function runFolders(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(join(root, "runs"), { withFileTypes: true })).filter((d) => d.isDirectory() && d.name !== "locks").map((d) => d.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return names.sort();
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Verifies the audit trail of the repository at `root`.
 * @returns every finding; the caller decides the exit (any `error`: exit 5).
 * @throws errno errors of unreadable files other than missing ones.
 */
export async function verifyAudit(root: string): Promise<VerifyResult> {
  const findings: Finding[] = [];
  const log = await readAuditLog(root);
  for (const p of log.problems) findings.push({ severity: "error", message: `${AUDIT_LOG} line ${p.line} ${p.message}`, file: AUDIT_LOG });
  if (log.tornBytes > 0) findings.push({ severity: "error", message: `${AUDIT_LOG} ends with a torn line of ${log.tornBytes} bytes (a process was killed while appending); the next apply cuts it off and records that it did`, file: AUDIT_LOG });

  const byRun = new Map<string, ReadEntry[]>();
  for (const e of log.entries) byRun.set(e.entry.runId, [...(byRun.get(e.entry.runId) ?? []), e]);
  const folders = await runFolders(root);
  for (const folder of folders) {
    if (byRun.has(folder)) continue;
    const file = `runs/${folder}/journal.jsonl`;
    let ended = false;
    try {
      ended = (await readJournal(join(root, file))).records.some((r) => r.type === "run-end");
    } catch {
      // A missing or damaged journal is reported as it is: the folder has no entry either way.
    }
    findings.push({ severity: "error", file: `runs/${folder}/`, message: ended ? `runs/${folder}/ has no entry in ${AUDIT_LOG}: the run finished but its entry was removed (or never written)` : `runs/${folder}/ has no entry in ${AUDIT_LOG}: the run never finished (crashed or still running); resume it with steward apply <plan> --resume ${folder}` });
  }
  const folderSet = new Set(folders);
  for (const [runId, entries] of byRun) {
    if (!RUN_ID.test(runId) || !folderSet.has(runId)) {
      for (const e of entries) findings.push({ severity: "error", entry: at(e), file: `runs/${runId}/`, message: `${AUDIT_LOG} line ${e.line} (seq ${e.entry.seq}) records run ${runId}, but runs/${runId}/ does not exist: the run's files were removed` });
      continue;
    }
    await checkRunFiles(root, runId, entries, findings);
  }

  const gitChecked = await isGitRepository(root);
  if (gitChecked) {
    for (const [runId, entries] of byRun) {
      if (!folderSet.has(runId)) continue;
      await checkCommits(root, runId, entries, findings);
    }
  } else {
    findings.push({ severity: "note", message: `${root} is not a git work tree: approvals and committed versions were not checked` });
  }
  return { entries: log.entries.length, runs: folders.length, findings, gitChecked };
}

async function checkRunFiles(root: string, runId: string, entries: ReadEntry[], findings: Finding[]): Promise<void> {
  const latest = entries.at(-1) as ReadEntry;
  for (const name of RUN_FILES) {
    const file = `runs/${runId}/${name}`;
    const recorded = latest.entry.files[name];
    const now = await fileDigest(join(root, file));
    if (recorded === undefined && now === null) continue;
    if (recorded === undefined) findings.push({ severity: "error", entry: at(latest), file, message: `${file} was added after ${AUDIT_LOG} line ${latest.line} (seq ${latest.entry.seq}) recorded the run without it` });
    else if (now === null) findings.push({ severity: "error", entry: at(latest), file, message: `${file} was removed: ${AUDIT_LOG} line ${latest.line} (seq ${latest.entry.seq}) recorded it` });
    else if (now.sha256 !== recorded.sha256) findings.push({ severity: "error", entry: at(latest), file, message: `${file} changed after ${AUDIT_LOG} line ${latest.line} (seq ${latest.entry.seq}) recorded it (sha256 ${recorded.sha256.slice(0, 12)}…, ${recorded.bytes} bytes; now ${now.sha256.slice(0, 12)}…, ${now.bytes} bytes)` });
  }
  const journalFile = `runs/${runId}/journal.jsonl`;
  let journal: Buffer | null = null;
  try {
    journal = await readFile(join(root, journalFile));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (journal !== null) {
    for (const e of entries.slice(0, -1)) {
      const d = e.entry.files["journal.jsonl"];
      if (d === undefined) continue;
      if (journal.length < d.bytes || sha256(journal.subarray(0, d.bytes)) !== d.sha256) findings.push({ severity: "error", entry: at(e), file: journalFile, message: `${journalFile} no longer begins with the ${d.bytes} bytes ${AUDIT_LOG} line ${e.line} (seq ${e.entry.seq}) recorded: records written before that entry were changed` });
    }
    try {
      const read = await readJournal(join(root, journalFile));
      const start = read.records[0];
      if (start?.type === "run-start" && (start.runId !== runId || start.planDigest !== latest.entry.plan.digest)) findings.push({ severity: "error", entry: at(latest), file: journalFile, message: `${journalFile} is the journal of run ${start.runId} applying plan digest ${start.planDigest.slice(0, 12)}…, not what ${AUDIT_LOG} line ${latest.line} records (run ${runId}, plan ${latest.entry.plan.digest.slice(0, 12)}…)` });
    } catch (error) {
      findings.push({ severity: "error", entry: at(latest), file: journalFile, message: (error as Error).message });
    }
  }
}

async function checkCommits(root: string, runId: string, entries: ReadEntry[], findings: Finding[]): Promise<void> {
  const first = entries[0] as ReadEntry;
  const planFile = `plans/${first.entry.plan.id}.json`;
  if (!safeRepoPath(planFile)) {
    findings.push({ severity: "error", entry: at(first), message: `plan id ${JSON.stringify(first.entry.plan.id)} cannot name a file` });
    return;
  }
  // `steward run` plans and applies at once: nothing was proposed, so nothing was approved.
  if (first.entry.type === "run") findings.push({ severity: "note", entry: at(first), message: `run ${runId} was planned and applied at once by steward run (unattended): no approval to check` });
  else await checkPlanCommitted(root, runId, planFile, first, findings);
  for (const e of entries) {
    const approval = e.entry.approval;
    if (approval === null) continue;
    let bytes: Buffer | null = null;
    try {
      bytes = await fileAtCommit(root, approval.commit, planFile);
    } catch (error) {
      findings.push({ severity: "error", entry: at(e), commit: approval.commit, message: `the approving commit ${approval.commit} of run ${runId} (${AUDIT_LOG} line ${e.line}): ${(error as Error).message}` });
      continue;
    }
    if (bytes === null) findings.push({ severity: "error", entry: at(e), file: planFile, commit: approval.commit, message: `the approving commit ${approval.commit} of run ${runId} (${AUDIT_LOG} line ${e.line}) does not hold ${planFile}` });
    else if (!planDigestIs(bytes, e.entry.plan.digest)) findings.push({ severity: "error", entry: at(e), file: planFile, commit: approval.commit, message: `${planFile} at the approving commit ${approval.commit} is not the plan run ${runId} applied (${AUDIT_LOG} line ${e.line}: digest ${e.entry.plan.digest.slice(0, 12)}…)` });
  }
  for (const name of RUN_FILES) {
    const file = `runs/${runId}/${name}`;
    const known = new Set(entries.map((e) => e.entry.files[name]?.sha256).filter((d): d is string => d !== undefined));
    for (const c of await commitsTouching(root, file)) {
      const bytes = await fileAtCommit(root, c.commit, file);
      if (bytes === null) continue;
      if (!known.has(sha256(bytes))) findings.push({ severity: "error", entry: at(entries.at(-1) as ReadEntry), file, commit: c.commit, message: `commit ${c.commit} holds a version of ${file} that no entry of run ${runId} in ${AUDIT_LOG} recorded: it was changed after the run recorded it` });
    }
  }
}

async function checkPlanCommitted(root: string, runId: string, planFile: string, first: ReadEntry, findings: Finding[]): Promise<void> {
  const earliest = (await commitsTouching(root, planFile)).at(-1);
  if (earliest === undefined) findings.push({ severity: "error", entry: at(first), file: planFile, message: `${planFile}, applied by run ${runId} (${AUDIT_LOG} line ${first.line}), was never committed: nothing shows it was reviewed before it was applied` });
  else if (earliest.committedAt > first.entry.startedAt) findings.push({ severity: "error", entry: at(first), file: planFile, commit: earliest.commit, message: `${planFile} was first committed at ${earliest.committedAt} (commit ${earliest.commit}), after run ${runId} started applying it at ${first.entry.startedAt}` });
}

function planDigestIs(bytes: Buffer, digest: string): boolean {
  try {
    const value = JSON.parse(bytes.toString("utf8")) as { digest?: unknown };
    return value.digest === digest;
  } catch {
    return false;
  }
}
