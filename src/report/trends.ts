/**
 * `steward report trends`: what happened between `since` and `until`. Every figure
 * and its source:
 * - runs per runbook and their status rates: the runs started in the range (each
 *   run's summary.json, else its results.json; `ok` is a success; `hosts-failed` and
 *   `halted:*` are failures);
 * - host failure rate: host results counted against the failure budget (failed,
 *   unreachable, cancelled:precheck) over all host results of those runs;
 * - hosts changed: distinct hosts with outcome `changed`, and host-runs that changed;
 * - MTTR: incident episodes (incidents/*.md timelines) closed in the range, opened →
 *   the clean run that closed them; mean and median;
 * - patch latency: per package a run installed (a packages step observed it at a new
 *   version) in the range, the time from the update's first sighting in facts snapshots
 *   (src/report/pending.ts) to that step's end; by update type; updates that left the
 *   snapshots with no run installing them are counted apart;
 * - security exposure: host-days with a pending security update — each host's snapshot
 *   of each day in the range counts one host-day observed, exposed when its pending set
 *   (carried over unreachable days) holds a security update;
 * - per group (the host's groups in its latest snapshot): the same host-level figures.
 * Memory: per-host state and the update streaks that ended in the range; runs and
 * snapshots are streamed.
 */
import { BUDGET_OUTCOMES } from "../apply/types.ts";
import type { History } from "./history/index.ts";
import type { SnapshotUpdateType } from "./history/snapshots.ts";
import { PendingTracker, type EndedStreak } from "./pending.ts";
import { UPDATE_TYPES } from "./status.ts";

const DAY = 86_400_000;
const round = (n: number, places = 2): number => Math.round(n * 10 ** places) / 10 ** places;

export interface Latency { count: number; meanDays: number | null; medianDays: number | null; p90Days: number | null }
export interface RunbookTrend { runbook: string; runs: number; ok: number; hostsFailed: number; halted: number; successRate: number | null; hostResults: number; hostFailures: number; hostFailureRate: number | null; hostsChanged: number; changes: number }
export interface GroupTrend { group: string; hosts: number; hostResults: number; hostFailures: number; hostFailureRate: number | null; changes: number; patchLatency: Latency; exposureHostDays: number; observedHostDays: number }
export interface TrendsReport {
  report: "trends";
  generatedAt: string;
  source: { commit?: string; uncommitted?: number; since: string; until: string; files: number; runs: { summary: number; results: number } };
  summary: Omit<RunbookTrend, "runbook"> & { mttr: { incidents: number; meanHours: number | null; medianHours: number | null; stillOpen: number }; patchLatency: Latency; exposureHostDays: number; observedHostDays: number; exposureShare: number | null };
  runbooks: RunbookTrend[];
  groups: GroupTrend[];
  mttrByRunbook: Array<{ runbook: string; incidents: number; meanHours: number | null }>;
  patchLatencyByType: Record<SnapshotUpdateType, Latency>;
  /** Updates that left the snapshots in the range without a run installing them. */
  goneWithoutInstall: number;
  daily: Array<{ day: string; runs: number; failedRuns: number; exposedHosts: number; observedHosts: number }>;
  problems: Array<{ file: string; line: number; message: string }>;
  problemsLeftOut: number;
}

/** Mean, median and 90th percentile (nearest rank) of durations in ms, in days. */
export function latency(ms: number[]): Latency {
  if (ms.length === 0) return { count: 0, meanDays: null, medianDays: null, p90Days: null };
  const s = [...ms].sort((a, b) => a - b);
  const median = s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { count: s.length, meanDays: round(s.reduce((a, b) => a + b, 0) / s.length / DAY), medianDays: round(median / DAY), p90Days: round(s[Math.ceil(0.9 * s.length) - 1]! / DAY) };
}

const rate = (n: number, of: number): number | null => (of === 0 ? null : round(n / of, 4));
const newRunbook = (runbook: string) => ({ runbook, runs: 0, ok: 0, hostsFailed: 0, halted: 0, hostResults: 0, hostFailures: 0, changed: new Set<string>(), changes: 0 });

/** Computes the trends report over [since, until]; see the module comment. */
export async function trendsReport(history: History, o: { since: Date; until: Date; now: Date }): Promise<TrendsReport> {
  const since = o.since.getTime();
  const until = o.until.getTime();
  // The streaks that ended in the range, per host and package, kept until the runs are
  // read (after every snapshot) to find the install that ended each: three numbers per
  // streak (first seen and gone, in ms; the type's index in UPDATE_TYPES, stored as
  // -1 - index once an install is matched to it), about 100 bytes a streak with its key
  // where an object per streak and a set of matched ones took about 470 (measured: live
  // heap at the end of the bench's year 76 MB before). It grows with the updates that
  // end in the range (110,000 in the bench's year of a thousand hosts), not with files.
  const streaks = new Map<string, number[]>();
  const tracker = new PendingTracker((s: EndedStreak) => {
    const gone = Date.parse(s.goneAt);
    if (gone < since) return;
    const key = `${s.host}\0${s.name}`;
    const list = streaks.get(key);
    const entry = [Date.parse(s.firstSeen), gone, UPDATE_TYPES.indexOf(s.type)];
    if (list === undefined) streaks.set(key, entry);
    else list.push(...entry);
  });
  const daily = new Map<string, { day: string; runs: number; failedRuns: number; exposedHosts: number; observedHosts: number }>();
  const dayOf = (day: string) => {
    let d = daily.get(day);
    if (d === undefined) daily.set(day, (d = { day, runs: 0, failedRuns: 0, exposedHosts: 0, observedHosts: 0 }));
    return d;
  };
  const exposure = new Map<string, { exposed: number; observed: number }>();
  // Earlier snapshots are read too: an update pending since before the range was first seen then.
  for await (const day of history.pendingSnapshotDays({ until: o.until })) {
    // Every line of a day's file is taken that day (readSnapshotFile checks it).
    const date = day[0]!.takenAt.slice(0, 10);
    const dayStart = Date.parse(date);
    const before = dayStart + DAY <= since;
    const whole = dayStart >= since;
    let d: ReturnType<typeof dayOf> | undefined;
    for (const s of day) {
      const state = tracker.add(s);
      if (before || (!whole && Date.parse(s.takenAt) < since)) continue;
      d ??= dayOf(date);
      let e = exposure.get(s.host);
      if (e === undefined) exposure.set(s.host, (e = { exposed: 0, observed: 0 }));
      e.observed += 1;
      d.observedHosts += 1;
      if (state.exposed) {
        e.exposed += 1;
        d.exposedHosts += 1;
      }
    }
  }
  const groupsOf = (host: string): string[] => tracker.hosts.get(host)?.latest.groups ?? [];

  const runbooks = new Map<string, ReturnType<typeof newRunbook>>();
  const hostRuns = new Map<string, { results: number; failures: number; changes: number; latencies: number[] }>();
  const hostOf = (host: string) => {
    let h = hostRuns.get(host);
    if (h === undefined) hostRuns.set(host, (h = { results: 0, failures: 0, changes: 0, latencies: [] }));
    return h;
  };
  const byType: Record<SnapshotUpdateType, number[]> = { security: [], patch: [], minor: [], major: [] };
  for await (const { run: r, runbook } of history.runs({ since: o.since, until: o.until })) {
    const rb = runbooks.get(runbook) ?? newRunbook(runbook);
    runbooks.set(runbook, rb);
    rb.runs += 1;
    const d = dayOf(r.startedAt.slice(0, 10));
    d.runs += 1;
    if (r.status === "ok") rb.ok += 1;
    else {
      d.failedRuns += 1;
      if (r.status === "hosts-failed") rb.hostsFailed += 1;
      else rb.halted += 1;
    }
    r.outcomes.forEach((outcome, i) => {
      const host = r.hosts[i]!;
      const hs = hostOf(host);
      rb.hostResults += 1;
      hs.results += 1;
      if (BUDGET_OUTCOMES.has(outcome)) {
        rb.hostFailures += 1;
        hs.failures += 1;
      }
      if (outcome === "changed") {
        rb.changes += 1;
        rb.changed.add(host);
        hs.changes += 1;
      }
    });
    for (const p of r.packages) {
      if (p.to === null || p.to === p.from) continue;
      const host = r.hosts[p.host]!;
      const at = p.at;
      const key = `${host}\0${p.name}`;
      // The streak the install ended: first seen before it, gone after it (or still listed, when facts lag).
      let streak: { firstSeen: number; type: SnapshotUpdateType } | undefined;
      const list = streaks.get(key);
      if (list !== undefined) {
        for (let i = 0; i < list.length; i += 3) {
          if (list[i + 2]! < 0 || list[i]! > at || at > list[i + 1]!) continue;
          streak = { firstSeen: list[i]!, type: UPDATE_TYPES[list[i + 2]!]! };
          list[i + 2] = -1 - list[i + 2]!;
          break;
        }
      }
      if (streak === undefined) {
        const open = tracker.hosts.get(host)?.pending.get(p.name);
        if (open !== undefined && Date.parse(open.firstSeen) <= at) streak = { firstSeen: Date.parse(open.firstSeen), type: open.type };
      }
      if (streak === undefined) continue;
      const ms = at - streak.firstSeen;
      byType[streak.type].push(ms);
      hostOf(host).latencies.push(ms);
    }
  }
  let goneWithoutInstall = 0;
  for (const list of streaks.values()) for (let i = 0; i < list.length; i += 3) if (list[i + 2]! >= 0 && list[i + 1]! <= until) goneWithoutInstall += 1;

  const allEpisodes = await history.incidents();
  const episodes = allEpisodes.filter((e) => e.closedAt !== undefined && Date.parse(e.closedAt) >= since && Date.parse(e.closedAt) <= until);
  const stillOpen = allEpisodes.filter((e) => e.closedAt === undefined && Date.parse(e.openedAt) <= until).length;
  const repairHours = (list: typeof episodes): number[] => list.map((e) => (Date.parse(e.closedAt!) - Date.parse(e.openedAt)) / 3_600_000);
  const mean = (xs: number[]): number | null => (xs.length === 0 ? null : round(xs.reduce((a, b) => a + b, 0) / xs.length));
  const allHours = repairHours(episodes);
  const medianHours = allHours.length === 0 ? null : round(latency(allHours.map((h) => h * 3_600_000)).medianDays! * 24);

  const runbookRows: RunbookTrend[] = [...runbooks.values()].sort((a, b) => (a.runbook < b.runbook ? -1 : 1)).map((rb) => ({ runbook: rb.runbook, runs: rb.runs, ok: rb.ok, hostsFailed: rb.hostsFailed, halted: rb.halted, successRate: rate(rb.ok, rb.runs), hostResults: rb.hostResults, hostFailures: rb.hostFailures, hostFailureRate: rate(rb.hostFailures, rb.hostResults), hostsChanged: rb.changed.size, changes: rb.changes }));
  const sum = (f: (r: RunbookTrend) => number): number => runbookRows.reduce((a, r) => a + f(r), 0);
  const allChanged = new Set<string>();
  for (const rb of runbooks.values()) for (const h of rb.changed) allChanged.add(h);
  const allHosts = new Set<string>([...exposure.keys(), ...hostRuns.keys()]);
  const groupNames = [...new Set([...allHosts].flatMap(groupsOf))].sort();
  const groups: GroupTrend[] = groupNames.map((group) => {
    const members = [...allHosts].filter((h) => groupsOf(h).includes(group));
    const t = { results: 0, failures: 0, changes: 0, latencies: [] as number[], exposed: 0, observed: 0 };
    for (const m of members) {
      const hr = hostRuns.get(m);
      if (hr !== undefined) {
        t.results += hr.results;
        t.failures += hr.failures;
        t.changes += hr.changes;
        t.latencies.push(...hr.latencies);
      }
      const e = exposure.get(m);
      if (e !== undefined) {
        t.exposed += e.exposed;
        t.observed += e.observed;
      }
    }
    return { group, hosts: members.length, hostResults: t.results, hostFailures: t.failures, hostFailureRate: rate(t.failures, t.results), changes: t.changes, patchLatency: latency(t.latencies), exposureHostDays: t.exposed, observedHostDays: t.observed };
  });
  let exposed = 0;
  let observed = 0;
  for (const e of exposure.values()) {
    exposed += e.exposed;
    observed += e.observed;
  }
  const mttrRunbooks = [...new Set(episodes.map((e) => e.runbook))].sort().map((runbook) => {
    const list = episodes.filter((e) => e.runbook === runbook);
    return { runbook, incidents: list.length, meanHours: mean(repairHours(list)) };
  });
  const commit = await history.commit();
  const uncommitted = commit === undefined ? undefined : await history.uncommitted();
  const runs = sum((r) => r.runs);
  const hostResults = sum((r) => r.hostResults);
  return {
    report: "trends",
    generatedAt: o.now.toISOString(),
    source: { ...(commit ? { commit } : {}), ...(uncommitted ? { uncommitted } : {}), since: o.since.toISOString(), until: o.until.toISOString(), files: history.files, runs: { ...history.runsRead } },
    summary: {
      runs, ok: sum((r) => r.ok), hostsFailed: sum((r) => r.hostsFailed), halted: sum((r) => r.halted), successRate: rate(sum((r) => r.ok), runs),
      hostResults, hostFailures: sum((r) => r.hostFailures), hostFailureRate: rate(sum((r) => r.hostFailures), hostResults),
      hostsChanged: allChanged.size, changes: sum((r) => r.changes),
      mttr: { incidents: episodes.length, meanHours: mean(allHours), medianHours, stillOpen },
      patchLatency: latency(UPDATE_TYPES.flatMap((t) => byType[t])),
      exposureHostDays: exposed, observedHostDays: observed, exposureShare: rate(exposed, observed),
    },
    runbooks: runbookRows,
    groups,
    mttrByRunbook: mttrRunbooks,
    patchLatencyByType: { security: latency(byType.security), patch: latency(byType.patch), minor: latency(byType.minor), major: latency(byType.major) },
    goneWithoutInstall,
    daily: [...daily.values()].filter((d) => d.day >= o.since.toISOString().slice(0, 10)).sort((a, b) => (a.day < b.day ? -1 : 1)),
    problems: history.problems,
    problemsLeftOut: history.problemsLeftOut,
  };
}
