/**
 * The history loader: every committed file a report reads (runs/*\/summary.json or,
 * for a run without a good one, runs/*\/results.json,
 * runs/audit.jsonl, incidents/*.md, facts/snapshots/*.jsonl), read as streams so a
 * report aggregates as it reads, with one record of what was read: how many files,
 * which commit, and every problem (file:line) — a report names its sources so an
 * auditor can check each figure against them.
 */
import { git } from "../../core/git.ts";
import { readAuditLog } from "../../audit/log.ts";
import { readIncidents, type IncidentEpisode } from "./incidents.ts";
import { readRuns, type HistoryProblem, type RunRecord } from "./runs.ts";
import { readPendingSnapshotDays, type PendingSnapshot } from "./snapshot-pending.ts";
import { readSnapshotDays, type FactSnapshot, type SnapshotRange } from "./snapshots.ts";

export type { FactSnapshot, SnapshotProblem, SnapshotRange, SnapshotUpdate, SnapshotUpdateType } from "./snapshots.ts";
export { readSnapshotDays, readSnapshots } from "./snapshots.ts";
export type { HistoryProblem, RunRecord } from "./runs.ts";
export type { IncidentEpisode } from "./incidents.ts";

/** Problems listed in full; more are counted. */
const MAX_PROBLEMS = 200;

/** A repository's history as a report reads it; counts what it read. */
export class History {
  readonly root: string;
  /** Files read so far (snapshot days, results.json, incident files, the audit log). */
  files = 0;
  readonly problems: HistoryProblem[] = [];
  problemsLeftOut = 0;
  /** Runs read so far, by the file each was read from: its summary.json, or its results.json (no good summary). */
  readonly runsRead = { summary: 0, results: 0 };
  #snapshotFiles = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** Records a problem (the first {@link MAX_PROBLEMS} are kept). */
  problem = (p: HistoryProblem): void => {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(p);
    else this.problemsLeftOut += 1;
  };

  /** Snapshots in `range`, oldest day first (see readSnapshots). */
  async *snapshots(range: SnapshotRange = {}): AsyncIterable<FactSnapshot> {
    for await (const day of this.snapshotDays(range)) yield* day;
  }

  /** Snapshots in `range`, one day's lines at a time, oldest day first (see readSnapshotDays). */
  snapshotDays(range: SnapshotRange = {}): AsyncIterable<FactSnapshot[]> {
    return this.#counted(readSnapshotDays(this.root, range, { onProblem: this.problem }));
  }

  /**
   * Snapshots in `range` read for their pending updates only, one day's lines at a time,
   * oldest day first (see readPendingSnapshotDays: identity, reboot flag and upgradable
   * list, an unchanged list handed on as the same array).
   */
  pendingSnapshotDays(range: SnapshotRange = {}): AsyncIterable<PendingSnapshot[]> {
    return this.#counted(readPendingSnapshotDays(this.root, range, { onProblem: this.problem }));
  }

  /** The days of `days`, each day's file counted once in {@link History.files}. */
  async *#counted<T extends { takenAt: string }>(days: AsyncIterable<T[]>): AsyncIterable<T[]> {
    for await (const lines of days) {
      const day = lines[0]!.takenAt.slice(0, 10);
      if (!this.#snapshotFiles.has(day)) {
        this.#snapshotFiles.add(day);
        this.files += 1;
      }
      yield lines;
    }
  }

  /** Runs started in `range`, oldest first (see readRuns). */
  async *runs(range: { since?: Date; until?: Date } = {}): AsyncIterable<RunRecord> {
    for await (const r of readRuns(this.root, range, this.problem)) {
      this.files += 1;
      this.runsRead[r.source] += 1;
      yield r;
    }
  }

  /** Every incident episode (see readIncidents). */
  async incidents(): Promise<IncidentEpisode[]> {
    const { episodes, files } = await readIncidents(this.root, this.problem);
    this.files += files;
    return episodes;
  }

  /** The audit log's entries: run ids with type and actor; chain problems are report problems. */
  async audit(): Promise<Array<{ runId: string; type: string; actor: string; finishedAt: string; status: string }>> {
    const read = await readAuditLog(this.root);
    if (read.entries.length > 0 || read.problems.length > 0) this.files += 1;
    for (const p of read.problems) this.problem({ file: "runs/audit.jsonl", line: p.line, message: p.message });
    return read.entries.map(({ entry: e }) => ({ runId: e.runId, type: e.type, actor: e.actor, finishedAt: e.finishedAt, status: e.status }));
  }

  /**
   * How many files under the folders reports read (runs/, incidents/, facts/snapshots/)
   * differ from the commit checked out (changed, added or untracked): 0 when the work tree
   * matches it, undefined when the root is no git work tree. A report says so, since its
   * figures are then not the commit's.
   */
  async uncommitted(): Promise<number | undefined> {
    try {
      const r = await git(this.root, ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "runs", "incidents", "facts/snapshots"]);
      if (r.code !== 0) return undefined;
      return r.stdout.toString("utf8").split("\0").filter((entry) => entry.length > 3).length;
    } catch {
      return undefined;
    }
  }

  /** The commit checked out (HEAD), when the root is a git work tree with a commit. */
  async commit(): Promise<string | undefined> {
    try {
      const r = await git(this.root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
      const id = r.stdout.toString("utf8").trim();
      return r.code === 0 && /^[0-9a-f]{40,64}$/.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  }
}
