/**
 * Reading one wave's shards for `steward results merge`, and every check made before
 * anything is merged. A wave is merged only when it holds exactly shards 1..n of one
 * cut, each the journal and results of that shard (its run-start names the shard),
 * of the same plan and run, finished, run with the budget share the merged state
 * gives it, and covering exactly the hosts partitionWave gives it. Every refusal
 * names the shard's folder and what is wrong (exit 5; exit 2 when no shard exists).
 * A shard whose folder is gone or holds no journal is named by what else records it
 * (traces.ts): its record is missing when its lock or a commit shows it started; else
 * the refusal says that nothing tells whether it ran.
 */
import { lstat, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { digestOf, readRunFile } from "../../audit/record.ts";
import type { FileDigest } from "../../audit/entry.ts";
import { StewardError, UsageError } from "../../core/errors.ts";
import type { Plan } from "../../plan/types.ts";
import type { JournalRecord, ShardIdentity } from "../journal-records.ts";
import { FINAL_OUTCOMES, readJournal } from "../journal-replay.ts";
import { resultsProblems, type RunResults } from "../results.ts";
import type { HostResult, RunStatus } from "../types.ts";
import { tornTailNote } from "../torn.ts";
import { partitionWave, SHARD_FOLDER, shareOf } from "./partition.ts";
import { missingRecord, shardTraces, type MissingRecord } from "./traces.ts";

/** One shard of the wave, read and checked. */
export interface ReadShard {
  index: number;
  folder: string;
  identity: ShardIdentity;
  records: JournalRecord[];
  results: RunResults;
  status: RunStatus;
  /** Each host's final result, from its host-end record. */
  hosts: Map<string, HostResult>;
  files: Record<"journal.jsonl" | "results.json", FileDigest>;
}

/** A shard that cannot be merged: its journal, results or place in the cut is wrong (exit 5). */
export class ShardError extends StewardError {
  constructor(message: string, hint = "apply the missing or wrong shard again into an empty folder (remove that folder first), or start a new run from a fresh plan") {
    super("stale-plan", message, hint);
  }
}

/** The folder names of wave `wave` (0-based) under runs/<run-id>/shards/, as {folder, index, of}. */
async function waveFolders(shardsDir: string, shown: string, wave: number): Promise<Array<{ folder: string; index: number; of: number }>> {
  let names: string[];
  try {
    const info = await lstat(shardsDir);
    if (!info.isDirectory()) throw new ShardError(`${shown} is ${info.isSymbolicLink() ? "a symbolic link" : "not a folder"}: shards are folders steward writes`);
    names = await readdir(shardsDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") names = [];
    else throw error;
  }
  const found: Array<{ folder: string; index: number; of: number }> = [];
  for (const folder of names.sort()) {
    const m = SHARD_FOLDER.exec(folder);
    if (m === null || Number(m[1]) !== wave + 1) continue;
    found.push({ folder, index: Number(m[2]), of: Number(m[3]) });
  }
  return found;
}

/**
 * Reads and checks every shard of wave `wave` (0-based) of run `runId`.
 * `failures`: the budget's count before this wave (the merged state), from which each
 * shard's share is recomputed and compared with the share it ran with.
 * @throws UsageError when no shard of the wave exists; ShardError for any other refusal.
 */
export async function readWaveShards(runDir: string, runId: string, plan: Plan, wave: number, failures: number): Promise<ReadShard[]> {
  const shown = `runs/${runId}/shards`;
  const folders = await waveFolders(join(runDir, "shards"), shown, wave);
  if (folders.length === 0) throw new UsageError(`no shard of wave ${wave + 1} of run ${runId} was applied (${shown}/w${wave + 1}-<i>-of-<n>/)`, `apply them first: steward apply plans/${plan.id}.json --shard i/n --wave ${wave + 1}`);
  const cuts = [...new Set(folders.map((f) => f.of))];
  if (cuts.length > 1) throw new ShardError(`wave ${wave + 1} of run ${runId} was cut two ways: ${folders.map((f) => f.folder).join(", ")}`, "keep the shards of one cut (one n) and remove the others' folders");
  const of = cuts[0] as number;
  const cut = partitionWave(plan, wave, of);
  const root = resolve(runDir, "..", "..");
  /** Why shard `index` has no record (its folder gone, or no journal in it), from its traces. */
  const unrecorded = async (index: number): Promise<MissingRecord> => {
    const folder = `w${wave + 1}-${index}-of-${of}`;
    const commands = { apply: `steward apply plans/${plan.id}.json --shard ${index}/${of} --wave ${wave + 1}`, then: `merge again (once it ended: a shard that never finished is continued first with steward apply plans/${plan.id}.json --resume ${runId} --shard ${index}/${of} --wave ${wave + 1})` };
    return missingRecord(await shardTraces(root, runId, plan.id, folder), `${shown}/${folder}/`, cut[index - 1] ?? [], commands);
  };
  const missing = Array.from({ length: of }, (_, k) => k + 1).filter((i) => !folders.some((f) => f.index === i));
  if (missing.length > 0) {
    const verdicts = await Promise.all(missing.map(async (i) => ({ i, v: await unrecorded(i) })));
    const named = verdicts.map(({ i }) => `${i}/${of} (${shown}/w${wave + 1}-${i}-of-${of}/)`).join(", ");
    throw new ShardError(`wave ${wave + 1} of run ${runId} is missing shard(s) ${named}: ${verdicts.map(({ i, v }) => `shard ${i}/${of}'s folder does not exist, ${v.message}`).join("; ")}`, verdicts.map(({ i, v }) => `shard ${i}/${of}: ${v.hint}`).join("; "));
  }
  const remaining = Math.max(0, plan.rollout.failureBudget.allowed - failures);
  const owner = new Map<string, string>();
  const shards: ReadShard[] = [];
  for (const { folder, index } of folders) {
    const where = `${shown}/${folder}`;
    const journalBytes = await readRunFile(join(runDir, "shards", folder, "journal.jsonl"), `${where}/journal.jsonl`);
    const resultsBytes = await readRunFile(join(runDir, "shards", folder, "results.json"), `${where}/results.json`);
    if (journalBytes === null) {
      const v = await unrecorded(index);
      throw new ShardError(`${where}/journal.jsonl does not exist: shard ${index}/${of} has no record in its folder, ${v.message}`, v.hint);
    }
    if (journalBytes.indexOf(0x0a) === -1) throw new ShardError(`${where}/journal.jsonl holds no whole record: shard ${index}/${of} was killed while it started, so no host of it was started`, `remove ${where}/ and apply the shard: steward apply plans/${plan.id}.json --shard ${index}/${of} --wave ${wave + 1}; then merge again`);
    const { records, tornBytes } = await readJournal(join(runDir, "shards", folder, "journal.jsonl"));
    const start = records[0];
    if (start?.type !== "run-start") throw new ShardError(`${where}/journal.jsonl does not begin with run-start`);
    if (start.planDigest !== plan.digest || start.planId !== plan.id) throw new ShardError(`${where} applied plan ${start.planId} (digest ${start.planDigest.slice(0, 12)}…), not plan ${plan.id} (digest ${plan.digest.slice(0, 12)}…): shards of different plans are never merged`, "apply every shard of a run with the same plan");
    if (start.runId !== runId) throw new ShardError(`${where}/journal.jsonl belongs to run ${start.runId}, not ${runId}`);
    const id = start.shard;
    if (id === undefined) throw new ShardError(`${where}/journal.jsonl is the journal of a whole run, not of a shard`);
    if (id.wave !== wave || id.index !== index || id.of !== of) throw new ShardError(`${where}/journal.jsonl is the journal of shard ${id.index}/${id.of} of wave ${id.wave + 1}, not of shard ${index}/${of} of wave ${wave + 1}: a shard's files were copied or moved (a duplicated shard)`);
    const share = shareOf(remaining, index, of);
    if (id.allowed !== share) throw new ShardError(`${where} ran with ${id.allowed} failure(s) of budget, but the waves merged so far leave shard ${index}/${of} ${share}: it was applied against another state of the run`);
    const end = records.findLast((r) => r.type === "run-end");
    if (end === undefined) throw new ShardError(`${where}/journal.jsonl has no run-end: shard ${index}/${of} never finished (crashed or still running)${tornBytes > 0 ? `; ${tornTailNote(records.length + 1, tornBytes)}` : ""}`, `once its runner is gone, continue it from its journal: steward apply plans/${plan.id}.json --resume ${runId} --shard ${index}/${of} --wave ${wave + 1}; then merge again`);
    const hosts = new Map<string, HostResult>();
    // A host ends again only when a resume (a run-resume record after its end) ran it
    // again, and only when that end was not final (interrupted, not started): a resume
    // never runs a finished host. The latest end is the host's result.
    const resumedAfter = new Set<string>();
    for (const r of records) {
      if (r.type === "run-resume") for (const h of hosts.keys()) resumedAfter.add(h);
      if (r.type !== "host-end") continue;
      const before = hosts.get(r.host);
      if (before !== undefined && (!resumedAfter.has(r.host) || FINAL_OUTCOMES.has(before.outcome))) throw new ShardError(`${where}/journal.jsonl ends host ${r.host} twice`);
      hosts.set(r.host, r.result);
      resumedAfter.delete(r.host);
      const other = owner.get(r.host);
      if (other !== undefined && other !== folder) throw new ShardError(`host ${r.host} is in ${shown}/${other} and in ${where}: a duplicated shard`);
      owner.set(r.host, folder);
    }
    const expected = cut[index - 1] as string[];
    const extra = [...hosts.keys()].filter((h) => !expected.includes(h));
    const absent = expected.filter((h) => !hosts.has(h));
    if (extra.length > 0 || absent.length > 0) throw new ShardError(`${where} does not hold exactly its hosts of wave ${wave + 1}:${absent.length > 0 ? ` no result for ${absent.join(", ")}` : ""}${extra.length > 0 ? ` results for ${extra.join(", ")}, which are not its hosts` : ""}`);
    if (resultsBytes === null) throw new ShardError(`${where}/results.json does not exist: shard ${index}/${of} never finished`);
    let results: RunResults;
    try {
      results = JSON.parse(resultsBytes.toString("utf8")) as RunResults;
    } catch {
      throw new ShardError(`${where}/results.json is not JSON`);
    }
    const problems = resultsProblems(results);
    if (problems.length > 0) throw new ShardError(`${where}/results.json is not a results file steward writes: ${problems.slice(0, 3).join("; ")}`);
    const agrees = results.runId === runId && results.plan.digest === plan.digest && results.status === end.status && results.hosts.length === hosts.size && results.hosts.every((h) => JSON.stringify(h) === JSON.stringify(hosts.get(h.host)));
    if (!agrees) throw new ShardError(`${where}/results.json does not agree with its journal.jsonl: one of them was edited`);
    shards.push({ index, folder, identity: id, records, results, status: end.status, hosts, files: { "journal.jsonl": digestOf(journalBytes), "results.json": digestOf(resultsBytes) } });
  }
  return shards;
}
