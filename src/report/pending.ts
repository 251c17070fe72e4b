/**
 * Pending updates over time, from facts snapshots read in time order. One rule serves
 * the status report (the age of what is pending now) and trends (patch latency and
 * security exposure):
 *
 * - an update is a package name pending on a host; it is **first seen** at the first
 *   snapshot of an uninterrupted streak in which that host lists it as upgradable
 *   (a newer candidate of a package still pending does not restart the streak);
 * - an `unreachable` line is a gap: the host's last known pending set is carried over
 *   it, unchanged (nothing is known to have been installed);
 * - a streak ends at the first reachable snapshot that no longer lists the package:
 *   the update is **gone** there (installed by steward, by hand, or withdrawn — runs
 *   decide which, see trends.ts).
 */
import type { PendingSnapshot } from "./history/snapshot-pending.ts";
import type { SnapshotUpdateType } from "./history/snapshots.ts";

/** One pending update of one host. */
export interface PendingUpdate {
  name: string;
  type: SnapshotUpdateType;
  /** ISO 8601 UTC: first snapshot of the streak. */
  firstSeen: string;
}

/** A streak that ended: pending from `firstSeen`, no longer listed at `goneAt`. */
export interface EndedStreak extends PendingUpdate {
  host: string;
  /** Last snapshot that still listed it. */
  lastSeen: string;
  goneAt: string;
}

/** One host's state in a {@link PendingTracker}. */
export interface HostPending {
  /** The updates pending now (or carried over a gap), by package name. */
  pending: Map<string, PendingUpdate & { seen: number }>;
  /** The host's last snapshot fed, reachable or not. */
  latest: PendingSnapshot;
  lastReachable?: PendingSnapshot;
  /** The mark of the last reachable snapshot whose list was read (each such snapshot takes the next number). */
  seen: number;
  /** Whether `pending` holds a security update. */
  exposed: boolean;
}

/**
 * Per-host pending state, fed snapshot by snapshot in time order. A snapshot whose
 * `upgradable` is the very list (the same array) of the host's previous reachable one,
 * as the pending reader hands on an unchanged list (history/snapshot-pending.ts),
 * changes nothing but the host's latest snapshot: every streak goes on.
 */
export class PendingTracker {
  readonly hosts = new Map<string, HostPending>();
  readonly #onEnded: ((s: EndedStreak) => void) | undefined;

  constructor(onEnded?: (s: EndedStreak) => void) {
    this.#onEnded = onEnded;
  }

  /** Takes the host's next snapshot (never an older one than the last fed); returns the host's state after it. */
  add(s: PendingSnapshot): HostPending {
    let state = this.hosts.get(s.host);
    if (state === undefined) {
      state = { pending: new Map(), latest: s, seen: 0, exposed: false };
      this.hosts.set(s.host, state);
    }
    state.latest = s;
    if (s.unreachable === true) return state;
    const previous = state.lastReachable;
    state.lastReachable = s;
    if (previous !== undefined && previous.upgradable === s.upgradable && s.upgradable !== undefined) return state;
    // The pending map is updated in place (a year of a thousand hosts is 365,000
    // snapshots): a streak still listed keeps its entry, marked with this snapshot's
    // number; an entry this snapshot did not mark has ended.
    const seen = ++state.seen;
    const pending = state.pending;
    let marked = 0;
    for (const u of s.upgradable ?? []) {
      const before = pending.get(u.name);
      // A security candidate arriving for a package pending as a plain update makes it a security update from then on.
      if (before === undefined) pending.set(u.name, { name: u.name, type: u.type, firstSeen: s.takenAt, seen });
      else {
        if (before.seen === seen) marked -= 1; // listed twice in this snapshot
        before.type = u.type;
        before.seen = seen;
      }
      marked += 1;
    }
    if (marked !== pending.size) {
      // Every streak still pending was listed by the previous reachable snapshot too (it was marked there or ended).
      const lastSeen = previous!.takenAt;
      for (const [name, p] of pending) {
        if (p.seen === seen) continue;
        pending.delete(name);
        this.#onEnded?.({ host: s.host, name, type: p.type, firstSeen: p.firstSeen, lastSeen, goneAt: s.takenAt });
      }
    }
    let exposed = false;
    for (const p of pending.values()) if (p.type === "security") exposed = true;
    state.exposed = exposed;
    return state;
  }

  /** True when the host's current (or carried-over) pending set holds a security update. */
  exposed(host: string): boolean {
    return this.hosts.get(host)?.exposed ?? false;
  }
}
