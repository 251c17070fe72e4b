/**
 * `steward audit verify` for sharded runs (README, "Past one runner: sharding"). A
 * shard applies no audit entry of its own; the merge of its wave does, and the run's
 * journal (whose digest that entry holds) names each shard's journal.jsonl and
 * results.json by sha256 in its shard-merge record. So the chain reaches every shard
 * file: entry → journal.jsonl → shard-merge → shard file. Checked here: every shard a
 * merge names has its files with those digests, every shard folder was merged, and
 * (in git) no committed version of a shard file differs from the merged one.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { JournalRecord } from "../apply/journal-records.ts";
import { commitsTouching, fileAtCommit } from "../core/git.ts";
import { SHARD_FOLDER } from "../apply/shard/partition.ts";
import { AUDIT_LOG } from "./entry.ts";
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
  for (const d of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const shown = `runs/${runId}/shards/${JSON.stringify(d.name).slice(1, -1)}`;
    if (!SHARD_FOLDER.test(d.name) || !d.isDirectory()) findings.push({ severity: "error", entry: at, file: shown, message: `${shown} is not a shard folder steward writes` });
    else if (!merged.has(d.name)) findings.push({ severity: "error", entry: at, file: `${shown}/`, message: `${shown}/ was applied but never merged: no merge of run ${runId} names it (steward results merge ${runId})` });
  }
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
