/**
 * The series a forecast fits, gathered from facts snapshots as they stream by (core's
 * readSnapshots): per host, each mount's disk readings, memory and load. Readings are
 * kept as numbers, a few per host a day, so a year of 1,000 hosts stays small.
 * Unreachable days are gaps: counted, never readings.
 */
import type { FactSnapshot } from "../history/snapshots.ts";
import type { DiskSample, LoadSample, MemorySample } from "./resources.ts";

/** Everything recorded about one host in the range. */
export interface HostSeries {
  host: string;
  /** Groups from the latest snapshot. */
  groups: string[];
  disks: Map<string, DiskSample[]>;
  memory: MemorySample[];
  load: LoadSample[];
  /** Snapshots read, and those that said the host was unreachable. */
  snapshots: number;
  unreachable: number;
  /** ISO 8601 UTC of the latest reading (reachable), "" when none. */
  lastReading: string;
}

/** The series of every host, by host name, and how many snapshots were read. */
export interface CollectedSeries {
  hosts: Map<string, HostSeries>;
  snapshots: number;
  /** Distinct UTC days with a snapshot. */
  days: number;
}

/** Reads every snapshot once, keeping only what forecasts fit. */
export async function collectSeries(snapshots: AsyncIterable<FactSnapshot>): Promise<CollectedSeries> {
  const hosts = new Map<string, HostSeries>();
  const days = new Set<string>();
  let count = 0;
  for await (const s of snapshots) {
    count++;
    days.add(s.takenAt.slice(0, 10));
    let h = hosts.get(s.host);
    if (h === undefined) {
      h = { host: s.host, groups: [], disks: new Map(), memory: [], load: [], snapshots: 0, unreachable: 0, lastReading: "" };
      hosts.set(s.host, h);
    }
    h.snapshots++;
    h.groups = s.groups;
    if (s.unreachable === true) {
      h.unreachable++;
      continue;
    }
    const t = new Date(s.takenAt);
    if (s.takenAt > h.lastReading) h.lastReading = s.takenAt;
    for (const d of s.disks ?? []) {
      let list = h.disks.get(d.mount);
      if (list === undefined) h.disks.set(d.mount, (list = []));
      list.push({ t, usedBytes: d.usedBytes, sizeBytes: d.sizeBytes });
    }
    if (s.memory !== undefined) h.memory.push({ t, availableBytes: s.memory.availableBytes, totalBytes: s.memory.totalBytes });
    if (s.load !== undefined) h.load.push({ t, fifteen: s.load.fifteen, cpus: s.load.cpus });
  }
  return { hosts, snapshots: count, days: days.size };
}
