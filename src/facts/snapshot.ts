/**
 * Writing facts snapshots (`steward facts --snapshot`): the compact line of each host
 * (./snapshot-line.ts has the format written, src/report/history/snapshots.ts the
 * reader of every format) merged into
 * `facts/snapshots/<YYYY-MM-DD>.jsonl` of the UTC day it was taken, and the retention
 * rule applied on every write.
 *
 * Retention (so the committed history stays small and still covers long trends):
 * - every day's file is kept for {@link DAILY_RETENTION_DAYS} days (counted back from
 *   the newest day written, inclusive);
 * - older days are thinned to one file per ISO 8601 week (Monday to Sunday, the week
 *   numbering of ISO 8601 §3.2.2): the latest day present in that week is kept, the
 *   other days of that week are deleted.
 * Pruning only ever deletes regular files named `<YYYY-MM-DD>.jsonl` in the snapshot
 * folder; a link or anything else there is left alone.
 */
import { lstat, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../core/fs.ts";
import { classifyUpdate } from "../plan/policy.ts";
import { readSnapshotFile, snapshotFiles, snapshotProblem, SNAPSHOT_FORMAT, SNAPSHOTS_DIR, utcDay, type FactSnapshot, type SnapshotProblem, type SnapshotUpdate } from "../report/history/snapshots.ts";
import { snapshotFileText } from "./snapshot-line.ts";
import type { FactsResult } from "./types.ts";

export { snapshotFileText } from "./snapshot-line.ts";

/** Days for which every daily snapshot file is kept. */
export const DAILY_RETENTION_DAYS = 400;

const DAY_MS = 86_400_000;

/**
 * One host's snapshot line from its facts result. A failed result becomes an
 * `unreachable` line (a gap, never a missing host). A pending update's type is
 * `security` when its candidate comes from a security source, else the planner's
 * semver classification of `from → to` (src/plan/policy.ts, classifyUpdate).
 */
export function snapshotOf(result: FactsResult, groups: readonly string[]): FactSnapshot {
  const base = { v: SNAPSHOT_FORMAT, host: result.host, takenAt: new Date(result.gatheredAt).toISOString(), groups: [...new Set(groups)].sort() } as const;
  if (!result.ok) return { ...base, unreachable: true };
  const f = result.facts;
  const seen = new Set<string>();
  const upgradable: SnapshotUpdate[] = [];
  // A multi-arch package is one pending update: counted by name.
  for (const p of f.upgradable) {
    if (seen.has(p.name)) continue;
    seen.add(p.name);
    upgradable.push({ name: p.name, from: p.from, to: p.to, type: p.security ? "security" : classifyUpdate(p.from, p.to).type });
  }
  upgradable.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    ...base,
    os: `${f.os.id} ${f.os.versionId}`.trim() || "unknown",
    disks: f.disks.map((d) => ({ mount: d.mount, sizeBytes: d.sizeBytes, usedBytes: d.usedBytes })),
    memory: { totalBytes: f.memory.totalBytes, availableBytes: f.memory.availableBytes },
    load: { one: f.load.one, five: f.load.five, fifteen: f.load.fifteen, cpus: f.load.cpus },
    uptimeSeconds: f.uptimeSeconds,
    bootId: f.bootId,
    rebootRequired: f.reboot.required,
    upgradable,
  };
}

/** The ISO 8601 week of a UTC day, as "YYYY-Www" (the ISO week-numbering year). */
export function isoWeek(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  const weekday = (d.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(d.getTime() + (3 - weekday) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS / 7);
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/**
 * The days the retention rule deletes, given the days present and the newest day
 * (`today`, YYYY-MM-DD): days older than {@link DAILY_RETENTION_DAYS} days before `today`
 * that are not the latest present day of their ISO week.
 */
export function daysToPrune(days: readonly string[], today: string, dailyDays = DAILY_RETENTION_DAYS): string[] {
  const cutoff = utcDay(new Date(Date.parse(`${today}T00:00:00Z`) - (dailyDays - 1) * DAY_MS));
  const latestOfWeek = new Map<string, string>();
  for (const day of days) {
    if (day >= cutoff) continue;
    const week = isoWeek(day);
    const kept = latestOfWeek.get(week);
    if (kept === undefined || day > kept) latestOfWeek.set(week, day);
  }
  return days.filter((day) => day < cutoff && latestOfWeek.get(isoWeek(day)) !== day).sort();
}

/** What a write did: files written and deleted (relative to the root), lines dropped. */
export interface SnapshotWrite {
  written: string[];
  pruned: string[];
  /** Lines of existing files that were not valid snapshots and were not kept. */
  problems: SnapshotProblem[];
  /**
   * New lines that break the snapshot grammar (src/report/history/snapshot-grammar.ts)
   * and were not written, by host: a report would refuse them, so they are never
   * committed. The host's earlier line of that day, if any, stays.
   */
  refused: Array<{ host: string; message: string }>;
}

/**
 * Merges `snapshots` into their days' files (a host's earlier line of the same day is
 * replaced), each file written atomically (src/core/fs.ts), then applies the retention
 * rule relative to the newest day in the folder. Each new line is checked against the
 * snapshot grammar first; one that breaks it is not written and is listed in `refused`.
 * @throws EnvironmentError when a file cannot be written (link, read-only, disk full).
 */
export async function writeSnapshots(root: string, snapshots: readonly FactSnapshot[], options: { dailyDays?: number } = {}): Promise<SnapshotWrite> {
  const problems: SnapshotProblem[] = [];
  const refused: SnapshotWrite["refused"] = [];
  const byDay = new Map<string, FactSnapshot[]>();
  for (const s of snapshots) {
    const problem = snapshotProblem(s);
    if (problem !== null) {
      refused.push({ host: String(s.host), message: `its snapshot line ${problem}` });
      continue;
    }
    const day = utcDay(s.takenAt);
    byDay.set(day, [...(byDay.get(day) ?? []), s]);
  }
  const written: string[] = [];
  for (const [day, lines] of [...byDay].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const file = `${SNAPSHOTS_DIR}/${day}.jsonl`;
    const path = join(root, file);
    const merged = new Map<string, FactSnapshot>();
    if (await isFile(path)) for (const s of await readSnapshotFile(path, file, day, (p) => problems.push(p))) merged.set(s.host, s);
    for (const s of lines) {
      const previous = merged.get(s.host);
      if (previous === undefined || previous.takenAt <= s.takenAt) merged.set(s.host, s);
    }
    await writeFileAtomic(path, snapshotFileText(merged.values()), { root });
    written.push(file);
  }
  const files = await snapshotFiles(root);
  const today = files.at(-1)?.day;
  const pruned: string[] = [];
  if (today !== undefined) {
    const prune = new Set(daysToPrune(files.map((f) => f.day), today, options.dailyDays));
    for (const f of files) {
      if (!prune.has(f.day) || !(await isFile(f.path))) continue;
      await rm(f.path);
      pruned.push(f.file);
    }
  }
  return { written, pruned, problems, refused };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
