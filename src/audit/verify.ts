/**
 * `steward audit verify`: checks the recorded history is complete and untampered, from
 * the repository alone. Every finding names the exact entry (line and seq of
 * runs/audit.jsonl), file and commit, and verification never stops at the first one.
 *
 * Checked: the log's own chain (entry.ts); that every run folder has an entry and every
 * entry a folder; that each run's files match the digests of its latest entry, and its
 * journal still begins with what every earlier entry recorded (a journal only grows);
 * that each journal's own hash chain holds and names the entry's plan; that each run's
 * summary.json is exactly the one derived from its results.json (verify-summary.ts);
 * and, in a git
 * repository, that each applied plan was committed before its apply started (and is in
 * the approving commit the entry names), that no committed version of a run's
 * files differs from every digest the log recorded for it, and that every committed
 * summary is the one derived from the results.json committed with it.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { readJournal } from "../apply/journal-replay.ts";
import { EnvironmentError } from "../core/errors.ts";
import { quotedName } from "../core/text.ts";
import { commitsTouching, fileAtCommit, git, isGitRepository, safeRepoPath } from "../core/git.ts";
import type { RunResults } from "../apply/results.ts";
import { AUDIT_LOG, hostsDigest, RUN_ID } from "./entry.ts";
import { readAuditLog, type ReadEntry } from "./log.ts";
import { digestOf, readRunFile, RUN_FILES } from "./record.ts";
import { checkShardCommits, checkShardFiles, neverRan, unrecordedMerge } from "./verify-shards.ts";
import { checkSummaryCommits, checkSummaryFile } from "./verify-summary.ts";

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


function at(e: ReadEntry): Finding["entry"] {
  return { line: e.line, seq: e.entry.seq, runId: e.entry.runId };
}

/**
 * Run folders under runs/ (runs/locks and runs/audit.jsonl are not runs). Anything else
 * there (a link, a file, a name that is no run id) is a finding: nothing is skipped silently.
 */
async function runFolders(root: string, findings: Finding[]): Promise<string[]> {
  const runs = join(root, "runs");
  try {
    const info = await lstat(runs);
    if (!info.isDirectory()) {
      findings.push({ severity: "error", file: "runs", message: `runs is ${info.isSymbolicLink() ? "a symbolic link" : "not a folder"}: run history lives in a folder steward writes` });
      return [];
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const names: string[] = [];
  for (const d of await readdir(runs, { withFileTypes: true })) {
    if (d.name === "locks" || d.name === "audit.jsonl") continue;
    const shown = quotedName(`runs/${d.name}`);
    if (!RUN_ID.test(d.name)) findings.push({ severity: "error", file: shown, message: `${shown} is not a run folder steward writes (its name is no run id)` });
    else if (d.isSymbolicLink()) findings.push({ severity: "error", file: `${shown}/`, message: `${shown} is a symbolic link: a run's files are a folder steward writes, never a link` });
    else if (!d.isDirectory()) findings.push({ severity: "error", file: shown, message: `${shown} is not a folder: not a run steward writes` });
    else names.push(d.name);
  }
  return names.sort();
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
  if (log.problemsLeftOut > 0) findings.push({ severity: "error", file: AUDIT_LOG, message: `${AUDIT_LOG}: and ${log.problemsLeftOut} more damaged lines` });
  if (log.tornBytes > 0) findings.push({ severity: "error", message: `${AUDIT_LOG} ends with a torn line of ${log.tornBytes} bytes (a process was killed while appending); the next apply cuts it off and records that it did`, file: AUDIT_LOG });

  const byRun = new Map<string, ReadEntry[]>();
  for (const e of log.entries) byRun.set(e.entry.runId, [...(byRun.get(e.entry.runId) ?? []), e]);
  const folders = await runFolders(root, findings);
  for (const folder of folders) {
    if (byRun.has(folder)) continue;
    const file = `runs/${folder}/journal.jsonl`;
    let ended = false;
    try {
      ended = (await readJournal(join(root, file))).records.some((r) => r.type === "run-end");
    } catch {
      // A missing or damaged journal is reported as it is: the folder has no entry either way.
    }
    const sharded = await lstat(join(root, "runs", folder, "shards")).then(() => true, () => false);
    if (sharded && !(await lstat(join(root, file)).then(() => true, () => false))) {
      // Shard folders that hold no record applied nothing (verify-shards.ts): no shard ran yet.
      const ran = await shardsThatRan(join(root, "runs", folder, "shards"));
      if (ran === 0) findings.push({ severity: "note", file: `runs/${folder}/`, message: `runs/${folder}/ has no entry in ${AUDIT_LOG} and records nothing applied: its shard folders hold no journal record (no shard ran in them, or their files were deleted), and no wave was merged` });
      else findings.push({ severity: "error", file: `runs/${folder}/`, message: `runs/${folder}/ has no entry in ${AUDIT_LOG}: ${ran} of its shard folders were applied and no wave was merged yet (steward results merge ${folder})` });
      continue;
    }
    const merging = sharded ? unrecordedMerge(folder, (await readRunFile(join(root, file), file).catch(() => null)) ?? Buffer.alloc(0), null) : null;
    if (sharded) {
      // A sharded run is never resumed by one runner: its merge is run again (src/apply/shard/merge-journal.ts).
      findings.push({ severity: "error", file: `runs/${folder}/`, message: `runs/${folder}/ has no entry in ${AUDIT_LOG}: ${merging ?? `the merge of its first wave was killed (or is still running) before it recorded its entry: run it again (steward results merge ${folder})`}` });
      continue;
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

  let gitChecked = await isGitRepository(root);
  if (!gitChecked && (await lstat(join(root, ".git")).then(() => true, () => false))) {
    throw new EnvironmentError(`${root}/.git exists but git cannot read the repository: approvals and committed versions cannot be checked`, "repair or re-clone the repository (git fsck)");
  }
  if (gitChecked && (await git(root, ["rev-parse", "--is-shallow-repository"])).stdout.toString("utf8").trim() === "true") {
    findings.push({ severity: "error", message: `${root} is a shallow clone: when each plan was first committed cannot be told from a cut history`, file: ".git" });
    gitChecked = false;
  }
  if (gitChecked) {
    const unattended: string[] = [];
    for (const [runId, entries] of byRun) {
      if (!folderSet.has(runId)) continue;
      if (entries[0]!.entry.type === "run") unattended.push(runId);
      await checkCommits(root, runId, entries, findings);
    }
    const note = unattendedNote(unattended);
    if (note !== undefined) findings.push({ severity: "note", message: note });
    await checkTrailers(root, log.entries, findings);
  } else if (!(await isGitRepository(root))) {
    findings.push({ severity: "note", message: `${root} is not a git work tree: approvals and committed versions were not checked` });
  }
  return { entries: log.entries.length, runs: folders.length, findings, gitChecked };
}

/** How many folders under a sharded run's shards/ hold a journal record (neverRan: empty ones do not). */
async function shardsThatRan(dir: string): Promise<number> {
  let n = 0;
  for (const d of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!d.isDirectory() || !(await neverRan(join(dir, d.name)))) n += 1;
  }
  return n;
}

async function checkRunFiles(root: string, runId: string, entries: ReadEntry[], findings: Finding[]): Promise<void> {
  try {
    await checkRunFilesOf(root, runId, entries, findings);
  } catch (error) {
    if (!(error instanceof Error) || !("code" in error) || (error as { code: unknown }).code !== "stale-plan") throw error;
    findings.push({ severity: "error", entry: at(entries.at(-1) as ReadEntry), file: `runs/${runId}/`, message: error.message });
  }
}

async function checkRunFilesOf(root: string, runId: string, entries: ReadEntry[], findings: Finding[]): Promise<void> {
  const latest = entries.at(-1) as ReadEntry;
  // Each file is read once: its digest, the results' agreement and the journal's prefixes all come from these bytes.
  const contents = new Map<string, Buffer | null>();
  for (const name of RUN_FILES) contents.set(name, await readRunFile(join(root, `runs/${runId}/${name}`), `runs/${runId}/${name}`));
  // A sharded run whose latest merge was killed before its entry: its files changed for that reason, and are completed by merging again.
  const journalBytes = contents.get("journal.jsonl") ?? null;
  const pending = journalBytes === null ? null : unrecordedMerge(runId, journalBytes, latest.entry.files["journal.jsonl"] ?? null);
  const why = pending === null ? "" : `; ${pending}`;
  for (const name of RUN_FILES) {
    const file = `runs/${runId}/${name}`;
    const bytes = contents.get(name) ?? null;
    const recorded = latest.entry.files[name];
    const now = bytes === null ? null : digestOf(bytes);
    if (recorded === undefined && now === null) continue;
    if (recorded === undefined) findings.push({ severity: "error", entry: at(latest), file, message: `${file} was added after ${AUDIT_LOG} line ${latest.line} (seq ${latest.entry.seq}) recorded the run without it` });
    else if (now === null) findings.push({ severity: "error", entry: at(latest), file, message: `${file} was removed: ${AUDIT_LOG} line ${latest.line} (seq ${latest.entry.seq}) recorded it` });
    else if (now.sha256 !== recorded.sha256) findings.push({ severity: "error", entry: at(latest), file, message: `${file} changed after ${AUDIT_LOG} line ${latest.line} (seq ${latest.entry.seq}) recorded it (sha256 ${recorded.sha256.slice(0, 12)}…, ${recorded.bytes} bytes; now ${now.sha256.slice(0, 12)}…, ${now.bytes} bytes)${why}` });
  }
  const journalFile = `runs/${runId}/journal.jsonl`;
  checkResultsAgree(contents.get("results.json") ?? null, latest, findings);
  await checkSummaryFile(root, runId, contents.get("results.json") ?? null, latest, findings);
  const journal = contents.get("journal.jsonl") ?? null;
  if (journal !== null) {
    for (const e of entries.slice(0, -1)) {
      const d = e.entry.files["journal.jsonl"];
      if (d === undefined) continue;
      if (journal.length < d.bytes || digestOf(journal.subarray(0, d.bytes)).sha256 !== d.sha256) findings.push({ severity: "error", entry: at(e), file: journalFile, message: `${journalFile} no longer begins with the ${d.bytes} bytes ${AUDIT_LOG} line ${e.line} (seq ${e.entry.seq}) recorded: records written before that entry were changed` });
    }
    try {
      const read = await readJournal(join(root, journalFile));
      await checkShardFiles(root, runId, read.records, latest, findings);
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
  // `steward run` plans and applies at once: nothing was proposed, so nothing was approved (one note for all such runs: unattendedNote).
  if (first.entry.type !== "run") await checkPlanCommitted(root, runId, planFile, first, findings);
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
  const journal = await readJournal(join(root, `runs/${runId}/journal.jsonl`)).catch(() => null);
  if (journal !== null) await checkShardCommits(root, runId, journal.records, entries.at(-1) as ReadEntry, findings);
  for (const name of RUN_FILES) {
    const file = `runs/${runId}/${name}`;
    const known = new Set(entries.map((e) => e.entry.files[name]?.sha256).filter((d): d is string => d !== undefined));
    for (const c of await commitsTouching(root, file)) {
      const bytes = await fileAtCommit(root, c.commit, file);
      if (bytes === null) continue;
      if (!known.has(digestOf(bytes).sha256)) findings.push({ severity: "error", entry: at(entries.at(-1) as ReadEntry), file, commit: c.commit, message: `commit ${c.commit} holds a version of ${file} that no entry of run ${runId} in ${AUDIT_LOG} recorded: it was changed after the run recorded it` });
    }
  }
  await checkSummaryCommits(root, runId, entries.at(-1) as ReadEntry, findings);
}

/** Run ids an unattended-runs note names before "and N more". */
export const UNATTENDED_SHOWN = 3;

/**
 * One note for every run `steward run` planned and applied at once (nothing proposed,
 * so no approval to check): their count and the first {@link UNATTENDED_SHOWN} ids, not
 * a line per run — a daily unattended check would otherwise bury every other finding.
 * Undefined when there is none.
 */
export function unattendedNote(runIds: readonly string[]): string | undefined {
  if (runIds.length === 0) return undefined;
  const more = runIds.length - UNATTENDED_SHOWN;
  return `${runIds.length} run(s) were planned and applied at once by steward run (unattended): no approval to check (${runIds.slice(0, UNATTENDED_SHOWN).join(", ")}${more > 0 ? ` and ${more} more` : ""})`;
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

/**
 * The latest entry says what results.json says: run, plan, status, exit code, times and
 * every host's outcome. The entry's own hash cannot protect the last entry (nothing
 * chains after it yet), but its results.json digest does: an entry and a results file
 * that disagree were not written together.
 */
function checkResultsAgree(bytes: Buffer | null, latest: ReadEntry, findings: Finding[]): void {
  if (bytes === null) return;
  let results: RunResults;
  try {
    results = JSON.parse(bytes.toString("utf8")) as RunResults;
  } catch {
    return;
  }
  const e = latest.entry;
  const counts: Record<string, number> = {};
  for (const [k, n] of Object.entries(results.counts ?? {})) if (typeof n === "number" && n > 0) counts[k] = n;
  const differs: string[] = [];
  if (results.runId !== e.runId) differs.push("run id");
  if (results.plan?.id !== e.plan.id || results.plan?.digest !== e.plan.digest) differs.push("plan");
  if (results.status !== e.status) differs.push("status");
  if (results.exitCode !== e.exitCode) differs.push("exit code");
  if (results.startedAt !== e.startedAt || results.finishedAt !== e.finishedAt) differs.push("times");
  if (JSON.stringify(Object.entries(counts).sort()) !== JSON.stringify(Object.entries(e.outcomes).sort())) differs.push("outcome counts");
  if (Array.isArray(results.hosts) && hostsDigest(results.hosts) !== e.hostsDigest) differs.push("host outcomes");
  if (differs.length > 0) findings.push({ severity: "error", entry: at(latest), file: `runs/${e.runId}/results.json`, message: `${AUDIT_LOG} line ${latest.line} (seq ${e.seq}) does not agree with runs/${e.runId}/results.json on its ${differs.join(", ")}: one of them was edited` });
}

/**
 * Every `Steward-Audit-Entry: <seq> <hash>` trailer in the repository's history names an
 * entry the log still holds, with that hash: a committed results commit anchors its entry,
 * so even the log's last entry cannot be rewritten once its results were committed.
 */
async function checkTrailers(root: string, entries: readonly ReadEntry[], findings: Finding[]): Promise<void> {
  const r = await git(root, ["log", "--all", "--format=%H%x00%(trailers:key=Steward-Audit-Entry,valueonly,separator=%x01)%x00"]);
  if (r.code !== 0) throw new EnvironmentError(`git log failed in ${root}: ${r.stderr.trim().split("\n")[0] ?? ""}`, "repair the repository (git fsck)");
  const bySeq = new Map(entries.map((e) => [e.entry.seq, e]));
  const fields = r.stdout.toString("utf8").split("\0");
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const commit = (fields[i] as string).trim();
    for (const value of (fields[i + 1] as string).split("\x01").map((v) => v.trim()).filter(Boolean)) {
      const m = /^(\d{1,12}) ([0-9a-f]{64})$/.exec(value);
      if (m === null) continue;
      const entry = bySeq.get(Number(m[1]));
      if (entry === undefined) findings.push({ severity: "error", commit, file: AUDIT_LOG, message: `commit ${commit} records audit entry ${m[1]}, which ${AUDIT_LOG} no longer holds: it was removed` });
      else if (entry.entry.hash !== m[2]) findings.push({ severity: "error", commit, entry: at(entry), file: AUDIT_LOG, message: `commit ${commit} records audit entry ${m[1]} with hash ${(m[2] as string).slice(0, 12)}…, but ${AUDIT_LOG} line ${entry.line} now has ${entry.entry.hash.slice(0, 12)}…: the entry was rewritten after it was committed` });
    }
  }
}
