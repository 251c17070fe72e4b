/**
 * `steward audit verify` for sharded runs (README, "Past one runner: sharding"). A
 * shard applies no audit entry of its own; the merge of its wave does, and the run's
 * journal (whose digest that entry holds) names each shard's journal.jsonl and
 * results.json by sha256 in its shard-merge record. So the chain reaches every shard
 * file: entry → journal.jsonl → shard-merge → shard file. Checked here: every shard a
 * merge names has its files with those digests, every shard folder was merged, and
 * (in git) no committed version of a shard file differs from the merged one.
 *
 * A shard folder that holds no whole journal record (empty, or a journal cut before its
 * first line ended) applied nothing: it is a note, not a gap — unless something else
 * records that a shard ran there (its lock left behind, a commit holding its journal:
 * src/apply/shard/traces.ts), and then its record was removed (an error).
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { JournalRecord } from "../apply/journal-records.ts";
import { commitsTouching, fileAtCommit } from "../core/git.ts";
import { SHARD_FOLDER } from "../apply/shard/partition.ts";
import { missingRecord, shardTraces } from "../apply/shard/traces.ts";
import { AUDIT_LOG, type FileDigest } from "./entry.ts";
import type { ReadEntry } from "./log.ts";
import { digestOf, readRunFile } from "./record.ts";
import type { Finding } from "./verify.ts";

/** The shard files a sharded run's journal records, by repository path: sha256. */
export function recordedShardFiles(runId: string, records: readonly JournalRecord[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of records) {
    if (r.type !== "shard-merge") continue;
    for (const s of r.shards) for (const [name, d] of Object.entries(s.files)) out.set(`runs/${runId}/shards/${s.folder}/${name}`, d.sha256);
  }
  return out;
}

/**
 * Checks the shard folders of run `runId` against what its journal recorded; pushes a
 * finding for each difference, naming the latest entry, the file and what changed.
 */
export async function checkShardFiles(root: string, runId: string, records: readonly JournalRecord[], latest: ReadEntry, findings: Finding[]): Promise<void> {
  const at = { line: latest.line, seq: latest.entry.seq, runId };
  const recorded = recordedShardFiles(runId, records);
  for (const [file, sha256] of recorded) {
    const bytes = await readRunFile(join(root, file), file);
    if (bytes === null) findings.push({ severity: "error", entry: at, file, message: `${file} was removed: the merge recorded in runs/${runId}/journal.jsonl (${AUDIT_LOG} line ${latest.line}, seq ${latest.entry.seq}) named it by digest` });
    else if (digestOf(bytes).sha256 !== sha256) findings.push({ severity: "error", entry: at, file, message: `${file} changed after it was merged (sha256 ${sha256.slice(0, 12)}… recorded in runs/${runId}/journal.jsonl, ${AUDIT_LOG} line ${latest.line}, seq ${latest.entry.seq}; now ${digestOf(bytes).sha256.slice(0, 12)}…)` });
  }
  const dir = join(root, "runs", runId, "shards");
  const info = await lstat(dir).catch(() => null);
  if (info === null) return;
  if (!info.isDirectory()) {
    findings.push({ severity: "error", entry: at, file: `runs/${runId}/shards`, message: `runs/${runId}/shards is ${info.isSymbolicLink() ? "a symbolic link" : "not a folder"}: shards are folders steward writes` });
    return;
  }
  const merged = new Set([...recorded.keys()].map((f) => f.split("/")[3]));
  const start = records[0];
  const planId = start?.type === "run-start" ? start.planId : null;
  const mergedWaves = new Set(records.flatMap((r) => (r.type === "shard-merge" ? [r.wave + 1] : [])));
  for (const d of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const shown = `runs/${runId}/shards/${JSON.stringify(d.name).slice(1, -1)}`;
    const m = SHARD_FOLDER.exec(d.name);
    if (m === null || !d.isDirectory()) findings.push({ severity: "error", entry: at, file: shown, message: `${shown} is not a shard folder steward writes` });
    else if (merged.has(d.name)) continue;
    else if (planId !== null && (await neverRan(join(dir, d.name)))) findings.push(await emptyFolder(root, runId, planId, d.name, { wave: Number(m[1]), index: Number(m[2]), of: Number(m[3]) }, mergedWaves, at));
    else findings.push({ severity: "error", entry: at, file: `${shown}/`, message: `${shown}/ was applied but never merged: no merge of run ${runId} names it (steward results merge ${runId})` });
  }
}

/**
 * True when shard folder `path` holds no whole journal record: nothing in it, or only a
 * journal.jsonl whose first line never ended (its runner was killed as it started).
 */
export async function neverRan(path: string): Promise<boolean> {
  const names = await readdir(path);
  if (names.length === 0) return true;
  if (names.length !== 1 || names[0] !== "journal.jsonl") return false;
  const bytes = await readRunFile(join(path, "journal.jsonl"), "journal.jsonl").catch(() => null);
  return bytes !== null && bytes.indexOf(0x0a) === -1;
}

/**
 * The finding for an unmerged shard folder that holds no record (neverRan): an error
 * when its traces show a shard ran there (its record was removed); else a note saying
 * that it applied nothing and what to do with it, by whether its wave was merged.
 */
async function emptyFolder(root: string, runId: string, planId: string, folder: string, shard: { wave: number; index: number; of: number }, mergedWaves: ReadonlySet<number>, at: Finding["entry"] & object): Promise<Finding> {
  const shown = `runs/${runId}/shards/${folder}/`;
  const traces = await shardTraces(root, runId, planId, folder);
  const what = `${shown} holds no journal record (it is empty, or its journal's first line never ended)`;
  if (traces.lock !== null || traces.commit !== null) {
    const verdict = missingRecord(traces, shown, [], { apply: `steward apply plans/${planId}.json --shard ${shard.index}/${shard.of} --wave ${shard.wave}`, then: `merge: steward results merge ${runId}` });
    return { severity: "error", entry: at, file: shown, message: `${what}, ${verdict.message}; ${verdict.hint}` };
  }
  const next = mergedWaves.has(shard.wave)
    ? `wave ${shard.wave} was merged from other shard folders, so this one is not part of the run: remove it`
    : `wave ${shard.wave} is not merged yet: apply the shard into it (steward apply plans/${planId}.json --shard ${shard.index}/${shard.of} --wave ${shard.wave}) and merge (steward results merge ${runId}), or remove it`;
  return { severity: "note", entry: at, file: shown, message: `${what}: an empty shard folder, where no shard ran (or whose files were deleted, which nothing else records: no lock left behind, no commit holding them); it records nothing applied, so it is no gap in the history; ${next}` };
}

/** In git: every committed version of a shard file is the one its merge recorded. */
export async function checkShardCommits(root: string, runId: string, records: readonly JournalRecord[], latest: ReadEntry, findings: Finding[]): Promise<void> {
  for (const [file, sha256] of recordedShardFiles(runId, records)) {
    for (const c of await commitsTouching(root, file)) {
      const bytes = await fileAtCommit(root, c.commit, file);
      if (bytes !== null && digestOf(bytes).sha256 !== sha256) findings.push({ severity: "error", entry: { line: latest.line, seq: latest.entry.seq, runId }, file, commit: c.commit, message: `commit ${c.commit} holds a version of ${file} that the merge of run ${runId} did not record: it was changed after it was merged` });
    }
  }
}

/**
 * When a merge of sharded run `runId` was killed (or still runs) after it put a wave in
 * the run's journal and before it recorded its entry (src/apply/shard/merge-journal.ts):
 * the journal begins with what the run's latest entry recorded (`recorded`; null when
 * no entry recorded the run yet) and holds a shard-merge record after it. Returns the
 * sentence that says so and what to do, or null.
 */
export function unrecordedMerge(runId: string, journal: Buffer, recorded: FileDigest | null): string | null {
  const from = recorded?.bytes ?? 0;
  if (journal.length <= from || (recorded !== null && digestOf(journal.subarray(0, from)).sha256 !== recorded.sha256)) return null;
  const wave = journal
    .subarray(from)
    .toString("utf8")
    .split("\n")
    .flatMap((line) => {
      try {
        const r = JSON.parse(line) as { type?: unknown; wave?: unknown };
        return r.type === "shard-merge" && typeof r.wave === "number" ? [r.wave + 1] : [];
      } catch {
        return [];
      }
    })[0];
  if (wave === undefined) return null;
  return `the merge of wave ${wave} of run ${runId} wrote runs/${runId}/journal.jsonl and was killed (or is still running) before it recorded its entry: run it again, which completes it (steward results merge ${runId} --wave ${wave})`;
}
