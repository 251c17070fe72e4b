/**
 * What records that a shard started, besides its own folder (README, "Past one runner:
 * sharding"). A shard's folder, runs/<run-id>/shards/w<K>-<i>-of-<n>/, is its only
 * record until the merge of its wave names its files by digest; when that folder is
 * gone, or holds no journal, the merge, a resume and `audit verify` must tell a record
 * that went missing from a shard that never ran — and say so when they cannot.
 *
 * Shards write no audit entry (the merge does) and release their lock when they end,
 * so only two things outlive a shard's folder:
 * - its lock, runs/locks/<plan-id>.<folder>.lock, left behind by a runner that was
 *   killed (or still held by one that runs); its holder.json names the run, pid,
 *   machine and start;
 * - in git, a commit that holds the folder's journal.jsonl.
 * The other shards' folders record the cut (how many shards the wave has), never
 * whether another shard ran; the merged journal names only merged waves' shards.
 */
import { join } from "node:path";
import { commitsTouching, fileAtCommit, isGitRepository } from "../../core/git.ts";
import { lockState, type LockHolder } from "../lock.ts";

/** What outlives a shard's folder; see the module comment. */
export interface ShardTraces {
  /** runs/locks/<plan-id>.<folder>.lock as it stands; null when it is not there. */
  lock: { name: string; holder: LockHolder | null; live: boolean } | null;
  /** The newest commit (any branch) whose tree holds the folder's journal.jsonl; null when none or not a git work tree. */
  commit: string | null;
}

/**
 * Reads the traces of shard folder `folder` of run `runId` of plan `planId` under `root`.
 * @throws EnvironmentError when git cannot read a repository it says is one.
 */
export async function shardTraces(root: string, runId: string, planId: string, folder: string): Promise<ShardTraces> {
  const name = `${planId}.${folder}`;
  const state = await lockState(join(root, "runs"), name);
  let commit: string | null = null;
  if (await isGitRepository(root)) {
    const path = `runs/${runId}/shards/${folder}`;
    for (const c of await commitsTouching(root, path)) {
      if ((await fileAtCommit(root, c.commit, `${path}/journal.jsonl`)) === null) continue;
      commit = c.commit;
      break;
    }
  }
  return { lock: state === null ? null : { name, ...state }, commit };
}

/** How a verdict on a shard without its record reads: sentences for a message and a hint. */
export interface MissingRecord {
  /** True when a trace shows the shard started (or runs). */
  started: boolean;
  /** What the traces say, after "<folder> does not exist" or "holds no journal.jsonl". */
  message: string;
  /** What to do. */
  hint: string;
}

/** At most this many host names in a hint, then "and N more". */
const HOSTS_SHOWN = 5;

function hostList(hosts: readonly string[]): string {
  const more = hosts.length - HOSTS_SHOWN;
  return `${hosts.slice(0, HOSTS_SHOWN).join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}

/**
 * The verdict on a shard whose folder `where` (as messages name it, ending in "/") is
 * gone or holds no journal, from its traces. `hosts`: the shard's hosts (empty when not known); `apply`: the
 * command that applies it; `then`: what follows a restore or the runner's end (merge
 * again, resume it…, with its command). Pure.
 */
export function missingRecord(traces: ShardTraces, where: string, hosts: readonly string[], commands: { apply: string; then: string }): MissingRecord {
  const { lock, commit } = traces;
  const lockFile = lock === null ? "" : `runs/locks/${lock.name}.lock`;
  if (lock?.live === true) {
    const who = lock.holder === null ? "a steward process that has not said who it is yet" : `run ${lock.holder.runId} (pid ${lock.holder.pid} on ${lock.holder.machine}, since ${lock.holder.startedAt})`;
    return { started: true, message: `yet ${lockFile} is held by ${who}: the shard is being applied right now`, hint: `wait for it to end (its journal and results appear in ${where}), then ${commands.then}; if its folder is still empty then, it was deleted while it ran: see its runner's output` };
  }
  const seen: string[] = [];
  if (lock !== null) seen.push(lock.holder === null ? `${lockFile} was left by a runner that took it and never released it` : `${lockFile} was left by its runner (run ${lock.holder.runId}, pid ${lock.holder.pid} on ${lock.holder.machine}, since ${lock.holder.startedAt}), which took it and never released it`);
  if (commit !== null) seen.push(`commit ${commit} holds ${where}journal.jsonl`);
  const check = `check its hosts${hosts.length === 0 ? "" : ` (${hostList(hosts)})`} by hand first: applying it again runs their steps a second time (packages and guarded steps are judged from the hosts; unguarded commands run again)`;
  if (seen.length > 0) {
    const killedEarly = commit === null ? ` (or its runner was killed between taking its lock and writing its first record: then no host of it was touched)` : "";
    const restore = commit !== null ? `git checkout ${commit} -- ${where}` : "from its runner's job artifact or a backup";
    return {
      started: true,
      message: `yet ${seen.join(", and ")}: the shard started, and its record is missing — its folder was deleted, or not gathered from its runner${killedEarly}`,
      hint: `restore ${where} (${restore}), then ${commands.then}; if it cannot be restored, ${check}, then ${lock !== null ? `remove ${lockFile} and ` : ""}apply it: ${commands.apply}`,
    };
  }
  return {
    started: false,
    message: `and nothing else records whether the shard started: shards write no audit entry and release their lock when they end, so a folder that was deleted (or not gathered from its runner) and a shard that never ran look the same`,
    hint: `if it never ran, apply it: ${commands.apply}; if it ran, restore ${where} first (from its runner's job artifact or a backup), then ${commands.then}; if that cannot be done, ${check}`,
  };
}
