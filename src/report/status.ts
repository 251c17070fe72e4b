/**
 * `steward report status`: the fleet as the committed history leaves it at `until`,
 * per host and per group. Every figure and its source:
 * - pending updates by type and their age: the host's latest reachable facts snapshot;
 *   age = `until` − first seen (src/report/pending.ts: first snapshot of the streak);
 * - pending reboot: `rebootRequired` of that snapshot;
 * - reachable: whether the host's latest snapshot line is a gap (`unreachable`);
 * - facts stale: the host's latest snapshot line (reachable or not) is older than the
 *   staleness threshold (the one compliance evidence has): the host was retired, or its
 *   facts are no longer recorded. Its last known state is listed but not trusted: it
 *   counts in no total of pending updates, reboots or unreachable hosts, only as stale;
 * - last successful maintenance: the latest run (its summary.json, else results.json)
 *   in which the host's outcome was `changed` or `unchanged`;
 * - compliance per rule: the latest verdict of each rule on the host (compliance step
 *   evidence, as the run's summary keeps it) with its age; evidence older than the staleness threshold
 *   is flagged `stale` and not trusted (it counts neither as compliant nor as failing);
 * - last backup: the latest backup step that made a snapshot; last verified restore:
 *   the latest verify-backup step that test-restored a snapshot and found every file
 *   equal to the backup's manifest (src/report/backup.ts has the same rule per run);
 * - open incidents: incident files whose timeline ends failing (history/incidents.ts).
 * Memory: one small record per host and rule; runs and snapshots are streamed.
 */
import type { History } from "./history/index.ts";
import type { ViewBackup } from "./history/run-view.ts";
import type { SnapshotUpdateType } from "./history/snapshots.ts";
import { PendingTracker } from "./pending.ts";

export const UPDATE_TYPES: readonly SnapshotUpdateType[] = ["security", "patch", "minor", "major"];

/** Default staleness threshold for compliance evidence: a weekly compliance run plus a day of slack. */
export const DEFAULT_STALE_AFTER_MS = 8 * 86_400_000;

const DAY = 86_400_000;
const days = (ms: number): number => Math.round((ms / DAY) * 10) / 10;
type Counts = Record<SnapshotUpdateType, number>;
const zero = (): Counts => ({ security: 0, patch: 0, minor: 0, major: 0 });

export interface RuleStatus { rule: string; severity: string; status: string; observedAt: string; ageDays: number; stale: boolean; runId: string }
export interface HostStatus {
  host: string;
  groups: string[];
  lastSeen: string | null;
  reachable: boolean;
  /** The latest snapshot is older than the staleness threshold: state as last seen, not counted in totals. */
  factsStale: boolean;
  pending: Counts;
  /** Age in days of the oldest pending update of each type; null when none. */
  oldestPendingDays: Record<SnapshotUpdateType, number | null>;
  updates: Array<{ name: string; type: SnapshotUpdateType; firstSeen: string; ageDays: number }>;
  rebootRequired: boolean | null;
  lastSuccess: { at: string; runId: string; runbook: string } | null;
  compliance: RuleStatus[];
  lastBackup: { at: string; runId: string; tool: string; snapshot: string; verification: string } | null;
  lastVerifiedRestore: { at: string; runId: string; filesCompared: number } | null;
}
export interface GroupStatus { group: string; hosts: number; factsStale: number; unreachable: number; pending: Counts; withPendingSecurity: number; rebootRequired: number; nonCompliant: number; staleEvidence: number; withoutVerifiedRestore: number }
export interface StatusReport {
  report: "status";
  generatedAt: string;
  source: { commit?: string; uncommitted?: number; since: string | null; until: string; files: number; runs: { summary: number; results: number } };
  staleAfterDays: number;
  summary: Omit<GroupStatus, "group"> & { openIncidents: number };
  hosts: HostStatus[];
  groups: GroupStatus[];
  openIncidents: Array<{ runbook: string; severity: string; file: string; openedAt: string; openedBy: string; failures: number; ageDays: number }>;
  problems: Array<{ file: string; line: number; message: string }>;
  problemsLeftOut: number;
}

/** Computes the status report from the history; see the module comment for each figure. */
export async function statusReport(history: History, o: { since?: Date; until: Date; now: Date; staleAfterMs?: number }): Promise<StatusReport> {
  const staleAfter = o.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const until = o.until.getTime();
  const range = { ...(o.since ? { since: o.since } : {}), until: o.until };
  const tracker = new PendingTracker();
  for await (const day of history.pendingSnapshotDays(range)) for (const s of day) tracker.add(s);

  const success = new Map<string, HostStatus["lastSuccess"]>();
  const rules = new Map<string, Map<string, Omit<RuleStatus, "ageDays" | "stale">>>();
  const backups = new Map<string, HostStatus["lastBackup"]>();
  const restores = new Map<string, HostStatus["lastVerifiedRestore"]>();
  for await (const { run, runId, runbook } of history.runs(range)) {
    run.outcomes.forEach((outcome, i) => {
      const host = run.hosts[i]!;
      if ((outcome === "changed" || outcome === "unchanged") && (success.get(host)?.at ?? "") <= run.finishedAt) success.set(host, { at: run.finishedAt, runId, runbook });
    });
    for (const r of run.rules) {
      const host = run.hosts[r.host]!;
      let byRule = rules.get(host);
      if (byRule === undefined) rules.set(host, (byRule = new Map()));
      const before = byRule.get(r.id);
      if (before === undefined || before.observedAt <= r.observedAt) byRule.set(r.id, { rule: r.id, severity: r.severity, status: r.status, observedAt: r.observedAt, runId });
    }
    // Each backup is judged by the host's first verify-backup step of the same snapshot.
    const verifies = new Map<number, ViewBackup[]>();
    for (const b of run.backups) if (b.kind === "verify-backup") verifies.set(b.host, [...(verifies.get(b.host) ?? []), b]);
    for (const b of run.backups) {
      if (b.kind !== "backup" || b.outcome !== "changed") continue;
      const host = run.hosts[b.host]!;
      const tool = b.tool || "restic";
      const snapshot = tool === "tar" ? b.archive : b.snapshotId;
      const verify = verifies.get(b.host)?.find((v) => snapshot !== "" && (v.snapshotId || v.archive) === snapshot);
      const restored = verify !== undefined && verify.outcome !== "failed" && verify.testRestore?.ok === true;
      const verification = restored ? "verified" : verify?.outcome === "failed" ? "verification-failed" : "unverified";
      if ((backups.get(host)?.at ?? "") <= b.finishedAt) backups.set(host, { at: b.finishedAt, runId, tool, snapshot, verification });
      if (restored && (restores.get(host)?.at ?? "") <= verify.finishedAt) restores.set(host, { at: verify.finishedAt, runId, filesCompared: verify.testRestore!.filesCompared });
    }
  }

  const names = new Set<string>([...tracker.hosts.keys(), ...success.keys(), ...rules.keys(), ...backups.keys()]);
  const hosts: HostStatus[] = [];
  for (const host of [...names].sort()) {
    const state = tracker.hosts.get(host);
    const pending = zero();
    const oldest: Record<SnapshotUpdateType, number | null> = { security: null, patch: null, minor: null, major: null };
    const updates: HostStatus["updates"] = [];
    for (const p of state?.pending.values() ?? []) {
      pending[p.type] += 1;
      const age = days(until - Date.parse(p.firstSeen));
      oldest[p.type] = Math.max(oldest[p.type] ?? 0, age);
      updates.push({ name: p.name, type: p.type, firstSeen: p.firstSeen, ageDays: age });
    }
    updates.sort((a, b) => UPDATE_TYPES.indexOf(a.type) - UPDATE_TYPES.indexOf(b.type) || b.ageDays - a.ageDays || (a.name < b.name ? -1 : 1));
    const compliance = [...(rules.get(host)?.values() ?? [])]
      .map((r) => ({ ...r, ageDays: days(until - Date.parse(r.observedAt)), stale: until - Date.parse(r.observedAt) > staleAfter }))
      .sort((a, b) => (a.rule < b.rule ? -1 : 1));
    hosts.push({
      host,
      groups: state?.latest.groups ?? [],
      lastSeen: state?.latest.takenAt ?? null,
      reachable: state !== undefined && state.latest.unreachable !== true,
      factsStale: state !== undefined && until - Date.parse(state.latest.takenAt) > staleAfter,
      pending,
      oldestPendingDays: oldest,
      updates,
      rebootRequired: state?.lastReachable?.rebootRequired ?? null,
      lastSuccess: success.get(host) ?? null,
      compliance,
      lastBackup: backups.get(host) ?? null,
      lastVerifiedRestore: restores.get(host) ?? null,
    });
  }

  const tally = (list: HostStatus[]): Omit<GroupStatus, "group"> => {
    const t = { hosts: list.length, factsStale: 0, unreachable: 0, pending: zero(), withPendingSecurity: 0, rebootRequired: 0, nonCompliant: 0, staleEvidence: 0, withoutVerifiedRestore: 0 };
    for (const h of list) {
      if (h.factsStale) t.factsStale += 1;
      else {
        if (!h.reachable) t.unreachable += 1;
        for (const k of UPDATE_TYPES) t.pending[k] += h.pending[k];
        if (h.pending.security > 0) t.withPendingSecurity += 1;
        if (h.rebootRequired === true) t.rebootRequired += 1;
      }
      if (h.compliance.some((c) => !c.stale && c.status === "non-compliant")) t.nonCompliant += 1;
      if (h.compliance.some((c) => c.stale)) t.staleEvidence += 1;
      if (h.lastBackup !== null && h.lastVerifiedRestore === null) t.withoutVerifiedRestore += 1;
    }
    return t;
  };
  const groupNames = [...new Set(hosts.flatMap((h) => h.groups))].sort();
  const groups = groupNames.map((group) => ({ group, ...tally(hosts.filter((h) => h.groups.includes(group))) }));
  const episodes = await history.incidents();
  const open = episodes.filter((e) => e.closedAt === undefined && Date.parse(e.openedAt) <= until).map((e) => ({ runbook: e.runbook, severity: e.severity, file: e.file, openedAt: e.openedAt, openedBy: e.openedBy, failures: e.failures, ageDays: days(until - Date.parse(e.openedAt)) }));
  await history.audit();
  const commit = await history.commit();
  const uncommitted = commit === undefined ? undefined : await history.uncommitted();
  return {
    report: "status",
    generatedAt: o.now.toISOString(),
    source: { ...(commit ? { commit } : {}), ...(uncommitted ? { uncommitted } : {}), since: o.since?.toISOString() ?? null, until: o.until.toISOString(), files: history.files, runs: { ...history.runsRead } },
    staleAfterDays: days(staleAfter),
    summary: { ...tally(hosts), openIncidents: open.length },
    hosts,
    groups,
    openIncidents: open,
    problems: history.problems,
    problemsLeftOut: history.problemsLeftOut,
  };
}
