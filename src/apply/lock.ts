/**
 * One apply per plan at a time: a lock held for the whole run, so two runners never
 * change the same hosts from the same plan.
 *
 * The lock is proper-lockfile's: a folder `runs/locks/<plan-id>.lock` made with
 * mkdir(2) (atomic, also on NFS), whose mtime the holder refreshes every `staleMs/2`.
 * A lock not refreshed for `staleMs` is stale (its holder died or hung) and the next
 * apply takes it over. A `holder.json` inside the folder names the holder (pid,
 * machine, run id, start time), so a refusal says who holds the plan and a takeover
 * says whom it replaced. On the holder's own machine a holder whose pid is gone is
 * stale at once, without waiting for the mtime to age.
 */
import { readFileSync } from "node:fs";
import * as fs from "node:fs";
import { readFile, stat, utimes, writeFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { ensureDirectory } from "../core/fs.ts";
import { StewardError } from "../core/errors.ts";

/** Who holds a plan's lock: the holder.json inside the lock folder. */
export interface LockHolder {
  pid: number;
  machine: string;
  runId: string;
  planId: string;
  /** ISO 8601 UTC: when the lock was taken. */
  startedAt: string;
}

/** Another run holds the plan. */
export class PlanLockedError extends StewardError {
  readonly holder: LockHolder | null;
  constructor(planId: string, holder: LockHolder | null, staleMs: number) {
    const who = holder === null ? "another steward process (it has not said who yet)" : `run ${holder.runId} (pid ${holder.pid} on ${holder.machine}, since ${holder.startedAt})`;
    // A shard's lock is <plan-id>.w<K>-<i>-of-<n>: a shard so stopped is continued as a crashed one is. A merge's (<run-id>.merge) is not stopped: it is short and has no resume.
    const shard = SHARD_LOCK.exec(planId);
    const after = holder === null ? null : shard !== null ? `a shard so stopped is continued with --resume ${holder.runId} --shard ${shard[2]}/${shard[3]} --wave ${shard[1]}` : holder.runId.endsWith("-sharded") ? null : `a stopped run is continued with --resume ${holder.runId}`;
    const stop = holder === null || after === null ? "" : `, or stop it (kill -INT ${holder.pid} on ${holder.machine}; ${after})`;
    super("busy", `plan ${planId} is being applied by ${who}; one apply per plan at a time`, `wait for it to finish${stop}; if that process is gone, its lock goes stale after ${Math.round(staleMs / 1000)}s and the next apply takes it over`);
    this.holder = holder;
  }
}

export interface PlanLock {
  holder: LockHolder;
  /** The stale holder this lock replaced, and a sentence saying so; null when the lock was free. */
  takenOver: { holder: LockHolder | null; message: string } | null;
  /** Set when the lock was lost while held (its folder removed or refreshed by someone else). */
  readonly compromised: Error | null;
  release(): Promise<void>;
}

export interface LockOptions {
  runId: string;
  /** The repository root: no folder between it and the lock may be a symbolic link (src/core/fs.ts). */
  root?: string;
  /** A lock not refreshed for this long is stale; at least 2000 (proper-lockfile's floor). Default 20 s. */
  staleMs?: number;
  /** The journal the holder writes, as a takeover names it (repository-relative); default runs/<run-id>/journal.jsonl. */
  journal?: string;
  /** Called when the held lock is lost; the caller should stop the run gracefully. */
  onCompromised?: (error: Error) => void;
}

const HOLDER_FILE = "holder.json";
/** A shard's lock name ends with its folder, w<K>-<i>-of-<n> (src/apply/shard/partition.ts). */
const SHARD_LOCK = /\.w([1-9]\d{0,6})-([1-9]\d{0,2})-of-([1-9]\d{0,2})$/;
const PLAN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** proper-lockfile removes a lock with rmdir(2); the folder holds holder.json, so remove it whole. */
const lockFs = {
  ...fs,
  rmdir: (path: string, callback: (error: NodeJS.ErrnoException | null) => void) => fs.rm(path, { recursive: true }, callback),
  rmdirSync: (path: string) => fs.rmSync(path, { recursive: true }),
};

/**
 * Takes the lock of plan `planId` under `runsDir` (runs/locks/<plan-id>.lock).
 * @throws PlanLockedError naming the holder when another live run holds it.
 * @throws StewardError (usage) for a plan id that is not a file name.
 */
export async function lockPlan(runsDir: string, planId: string, options: LockOptions): Promise<PlanLock> {
  if (!PLAN_ID.test(planId)) throw new StewardError("usage", `plan id ${JSON.stringify(planId)} cannot name a lock file`, "use the plan file steward plan wrote");
  const staleMs = Math.max(options.staleMs ?? 20_000, 2000);
  const dir = join(runsDir, "locks");
  await ensureDirectory(dir, options.root);
  const file = join(dir, planId);
  const lockDir = `${file}.lock`;
  let compromised: Error | null = null;
  const lockOptions = {
    ...lockfileOptions(lockDir, staleMs),
    onCompromised: (error: Error) => {
      compromised = error;
      options.onCompromised?.(error);
    },
  };
  let previous = readHolder(lockDir);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, lockOptions);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
    previous = readHolder(lockDir);
    if (previous === null || !isDeadHere(previous)) throw new PlanLockedError(planId, previous, staleMs);
    // The holder ran on this machine and its process is gone: stale now.
    await rm(lockDir, { recursive: true, force: true });
    try {
      release = await lockfile.lock(file, lockOptions);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === "ELOCKED") throw new PlanLockedError(planId, readHolder(lockDir), staleMs);
      throw again;
    }
  }
  const holder: LockHolder = { pid: process.pid, machine: hostname(), runId: options.runId, planId, startedAt: new Date().toISOString() };
  // Writing into the folder moves its mtime, which proper-lockfile reads as someone else's refresh: put it back.
  const { atime, mtime } = await stat(lockDir);
  await writeFile(join(lockDir, HOLDER_FILE), `${JSON.stringify(holder)}\n`);
  await utimes(lockDir, atime, mtime);
  const takenOver = previous === null ? null : { holder: previous, message: `took over the stale lock of run ${previous.runId} (pid ${previous.pid} on ${previous.machine}, since ${previous.startedAt}): that process is gone; check its journal (${options.journal ?? `runs/${previous.runId}/journal.jsonl`}) before trusting what it did` };
  return {
    holder,
    takenOver,
    get compromised() {
      return compromised;
    },
    release: async () => {
      await release();
    },
  };
}

/** Reads a lock's holder.json; null when it is missing or unreadable (the holder is between mkdir and writing it). */
export async function lockHolder(runsDir: string, planId: string): Promise<LockHolder | null> {
  try {
    return parseHolder(await readFile(join(runsDir, "locks", `${planId}.lock`, HOLDER_FILE), "utf8"));
  } catch {
    return null;
  }
}

/**
 * Refuses when a live runner holds the lock, without taking it or taking over a stale
 * one (that is left to the run that will hold it, so it can say so): a lock held and
 * fresh (proper-lockfile's check, the same staleness as lockPlan) whose holder is not
 * a process known gone on this machine.
 * @throws PlanLockedError (exit 7) naming the holder.
 */
export async function refuseLiveHolder(runsDir: string, planId: string, staleMs = 20_000): Promise<void> {
  const state = await lockState(runsDir, planId, staleMs);
  if (state?.live === true) throw new PlanLockedError(planId, state.holder, Math.max(staleMs, 2000));
}

/**
 * Whether the lock `planId` under `runsDir` is there, without taking it: null when its
 * folder is absent (never taken, or released); else its holder (null while unnamed or
 * unreadable) and whether that holder is live — fresh by proper-lockfile's check (the
 * same staleness as lockPlan) and not a process known gone on this machine. A lock left
 * behind (`live: false`) records that a holder took it and never released it.
 */
export async function lockState(runsDir: string, planId: string, staleMs = 20_000): Promise<{ holder: LockHolder | null; live: boolean } | null> {
  const file = join(runsDir, "locks", planId);
  const lockDir = `${file}.lock`;
  if ((await stat(lockDir).catch(() => null)) === null) return null;
  const held = await lockfile.check(file, lockfileOptions(lockDir, staleMs)).catch(() => false);
  const holder = readHolder(lockDir);
  return { holder, live: held && !(holder !== null && isDeadHere(holder)) };
}

/** proper-lockfile's options for a plan lock: the lock folder itself (no realpath), steward's fs, staleness of at least 2 s. */
function lockfileOptions(lockDir: string, staleMs: number): { stale: number; realpath: false; lockfilePath: string; fs: typeof lockFs } {
  return { stale: Math.max(staleMs, 2000), realpath: false, lockfilePath: lockDir, fs: lockFs };
}

function readHolder(lockDir: string): LockHolder | null {
  try {
    return parseHolder(readFileSync(join(lockDir, HOLDER_FILE), "utf8"));
  } catch {
    return null;
  }
}

function parseHolder(text: string): LockHolder | null {
  const v = JSON.parse(text) as Partial<LockHolder>;
  if (typeof v.pid !== "number" || typeof v.machine !== "string" || typeof v.runId !== "string" || typeof v.startedAt !== "string" || typeof v.planId !== "string") return null;
  return v as LockHolder;
}

/** True when the holder ran on this machine and no process has its pid any more. */
function isDeadHere(holder: LockHolder): boolean {
  if (holder.machine !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
