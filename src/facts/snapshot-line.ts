/**
 * The line format `steward facts --snapshot` writes: format 2, a header line naming the
 * columns, then one JSON array per host in that order (a "row"), by host name:
 *
 *   {"v":2,"columns":["host","takenAt","groups","os",{"disks":["mount","sizeBytes","usedBytes"]},…],"unreachable":["host","takenAt","groups"]}
 *   ["a-1","2026-03-02T01:00:00.000Z",["db"]]
 *   ["web-2","2026-03-02T01:00:00.000Z",["web"],"debian 12",[["/",53687091200,13390830965]],[8589934592,5662964412],[0.92,0.85,0.79,2],12704400,"bc2a61b2-…",true,[["openssl","3.0.11-1","3.0.13-1","security"]]]
 *
 * A row holds the same values as a format-1 line (the record as a JSON object, still
 * read: src/report/history/snapshots.ts) without repeating each member's name: half the
 * bytes, and a JSON array parses quicker than an object with the same values (a year of
 * a thousand hosts is 365,000 lines, read by every report). An unreachable host's row
 * holds only its first three values. The header is checked whole when read: a file
 * whose header differs is a problem, never guessed at.
 */
import type { FactSnapshot } from "../report/history/snapshots.ts";

/** The format the writer writes. */
export const SNAPSHOT_LINE_FORMAT = 2;

/** The header of a format-2 file: its first line, naming every row's values in order. */
export const SNAPSHOT_HEADER = {
  v: SNAPSHOT_LINE_FORMAT,
  columns: ["host", "takenAt", "groups", "os", { disks: ["mount", "sizeBytes", "usedBytes"] }, { memory: ["totalBytes", "availableBytes"] }, { load: ["one", "five", "fifteen", "cpus"] }, "uptimeSeconds", "bootId", "rebootRequired", { upgradable: ["name", "from", "to", "type"] }],
  unreachable: ["host", "takenAt", "groups"],
} as const;

/** The header line as written (without its newline); a file's header must be exactly this JSON value. */
export const SNAPSHOT_HEADER_LINE = JSON.stringify(SNAPSHOT_HEADER);

/**
 * A record as a format-2 row: its values in the header's order; an unreachable host's
 * row is `[host, takenAt, groups]`. The record is checked by the caller (writeSnapshots
 * refuses one that breaks the grammar); this only rearranges it.
 */
export function snapshotRow(s: FactSnapshot): unknown[] {
  if (s.unreachable === true) return [s.host, s.takenAt, s.groups];
  return [
    s.host,
    s.takenAt,
    s.groups,
    s.os,
    (s.disks ?? []).map((d) => [d.mount, d.sizeBytes, d.usedBytes]),
    [s.memory?.totalBytes, s.memory?.availableBytes],
    [s.load?.one, s.load?.five, s.load?.fifteen, s.load?.cpus],
    s.uptimeSeconds,
    s.bootId,
    s.rebootRequired,
    (s.upgradable ?? []).map((u) => [u.name, u.from, u.to, u.type]),
  ];
}

/** The text of one day's file: the header, then one row per host, by host name. */
export function snapshotFileText(lines: Iterable<FactSnapshot>): string {
  const sorted = [...lines].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return `${SNAPSHOT_HEADER_LINE}\n${sorted.map((s) => `${JSON.stringify(snapshotRow(s))}\n`).join("")}`;
}
