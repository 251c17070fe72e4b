/**
 * Recommended work: a resource predicted to run out before maintenance can deal with
 * it. The prediction used is the interval's pessimistic end (the soonest crossing the
 * data allows), so an uncertain trend is flagged early rather than late.
 *
 * Each host's maintenance windows come from the runbooks that target it (the model's
 * windows, src/model/window.ts). With N the next opening and F the one after:
 * - `urgent`: the soonest crossing is before N opens (or the resource is already at
 *   its threshold): waiting for the window is too late;
 * - `next-window`: it is before F opens: the next window is the last one in time.
 * A host no runbook with a window targets is judged against a horizon (default 14
 * days from now): within it, `urgent`.
 *
 * A recommendation's id is stable — `<kind>.<host>[.<mount>]` — so it is found again
 * by the publishers on every run, updated in place, and closed when it stops holding.
 */
import { createHash } from "node:crypto";
import { nextOpening } from "../../model/window.ts";
import type { Inventory, Runbook } from "../../model/types.ts";
import { selectedHostNames } from "../../plan/planner.ts";
import type { ResourceKind } from "./resources.ts";
import type { Trend } from "./trend.ts";

/** The next window a host's maintenance can use, and the one after it. */
export interface HostWindow {
  runbook: string;
  /** ISO 8601 UTC. */
  opens: string;
  closes: string;
  /** The opening after `opens`, of any runbook targeting the host; null when none. */
  following: string | null;
}

export type Urgency = "urgent" | "next-window";

export interface Recommendation {
  /** `<kind>.<host>[.<mount slug>]`: letters, digits and `. _ -` only. */
  id: string;
  kind: ResourceKind;
  host: string;
  mount?: string;
  urgency: Urgency;
  /** One line for an issue title. */
  title: string;
  /** What to do, in words. */
  action: string;
  /** The runbook whose window is next for this host, to schedule the work in; absent without one. */
  runbook?: string;
  /** The deadline judged against: a window's opening or the horizon. */
  deadline: { at: string; by: "next-window" | "following-window" | "horizon"; runbook?: string };
  /** The soonest crossing (interval's pessimistic end), and the fitted one. */
  soonest: { at: string; days: number };
  expected: { at: string | null; days: number | null };
  /** The facts behind it, one line each: the fit, its interval, the level, the readings. */
  evidence: string[];
}

const DAY_MS = 86_400_000;

/**
 * Each host's next window and the one after, from every runbook with a window that
 * targets it; hosts no such runbook targets are absent.
 */
export function hostWindows(inventory: Inventory, runbooks: readonly Runbook[], now: Date): Map<string, HostWindow> {
  const openings = new Map<string, Array<{ runbook: string; opens: Date; closes: Date }>>();
  for (const rb of [...runbooks].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (rb.window === undefined) continue;
    const first = nextOpening(rb.window, now);
    if (first === undefined) continue;
    const second = nextOpening(rb.window, new Date(first.closes.getTime() + 1));
    for (const host of selectedHostNames(inventory, rb)) {
      let list = openings.get(host);
      if (list === undefined) openings.set(host, (list = []));
      list.push({ runbook: rb.name, ...first });
      if (second !== undefined) list.push({ runbook: rb.name, ...second });
    }
  }
  const out = new Map<string, HostWindow>();
  for (const [host, list] of openings) {
    list.sort((a, b) => a.opens.getTime() - b.opens.getTime() || (a.runbook < b.runbook ? -1 : 1));
    const next = list[0]!;
    const following = list.find((o) => o.opens.getTime() > next.closes.getTime());
    out.set(host, { runbook: next.runbook, opens: next.opens.toISOString(), closes: next.closes.toISOString(), following: following?.opens.toISOString() ?? null });
  }
  return out;
}

/** The stable id of a recommendation (see the module comment). */
export function recommendationId(kind: ResourceKind, host: string, mount?: string): string {
  return mount === undefined ? `${kind}.${host}` : `${kind}.${host}.${mountSlug(mount)}`;
}

/**
 * A mount as an id part: `/` is `fs`, `/var/lib` is `fs-var-lib`; any character but
 * letters and digits is `_` and its hex code (so `/var-lib` is `fs-var_2dlib`), and
 * the part is unambiguous. Past 80 characters it is cut and a digest of the mount added.
 */
export function mountSlug(mount: string): string {
  const parts = mount.split("/").filter((p) => p !== "");
  const encoded = ["fs", ...parts.map((p) => p.replace(/[^A-Za-z0-9]/gu, (c) => [...Buffer.from(c, "utf8")].map((b) => `_${b.toString(16).padStart(2, "0")}`).join("")))].join("-");
  if (encoded.length <= 80) return encoded;
  return `${encoded.slice(0, 66)}-${createHash("sha256").update(mount, "utf8").digest("hex").slice(0, 12)}`;
}

const ACTIONS: Record<ResourceKind, (mount?: string) => string> = {
  disk: (mount) => `free space on ${mount ?? "the filesystem"} (old logs, caches, unused kernels and images) or grow the filesystem`,
  memory: () => "find what holds the memory (a leak shows as available memory falling steadily): restart or fix it, or add memory",
  load: () => "find what drives the load up: spread or reschedule the work, or add CPUs",
};

const WHAT: Record<ResourceKind, string> = { disk: "fill", memory: "run out of memory", load: "saturate its CPUs" };

/**
 * The recommendation a trend leads to, or undefined when it does not hold: no
 * soonest crossing, or one after the deadline.
 * @param window the host's windows (hostWindows), undefined when none targets it.
 * @param horizonDays the deadline for hosts without a window.
 */
export function recommend(trend: Trend, target: { kind: ResourceKind; host: string; mount?: string }, window: HostWindow | undefined, now: Date, horizonDays: number): Recommendation | undefined {
  const soonest = trend.status === "full" ? { at: trend.full!.at!, days: 0 } : trend.soonest?.at != null && trend.soonest.days !== null ? { at: trend.soonest.at, days: trend.soonest.days } : undefined;
  if (soonest === undefined || trend.status === "insufficient-data") return undefined;
  const when = Date.parse(soonest.at);
  let urgency: Urgency | undefined;
  let deadline: Recommendation["deadline"];
  if (window === undefined) {
    const horizon = new Date(now.getTime() + horizonDays * DAY_MS).toISOString();
    deadline = { at: horizon, by: "horizon" };
    if (when <= Date.parse(horizon)) urgency = "urgent";
  } else if (when <= Date.parse(window.opens)) {
    urgency = "urgent";
    deadline = { at: window.opens, by: "next-window", runbook: window.runbook };
  } else {
    deadline = window.following === null ? { at: window.opens, by: "next-window", runbook: window.runbook } : { at: window.following, by: "following-window" };
    if (window.following !== null && when <= Date.parse(window.following)) urgency = "next-window";
  }
  if (urgency === undefined) return undefined;
  const { kind, host, mount } = target;
  const where = mount === undefined ? host : `${host}:${mount}`;
  const title = `${where} may ${WHAT[kind]} by ${soonest.at.slice(0, 10)}${urgency === "urgent" ? " (before its next maintenance window)" : ""}`;
  const fit = trend.fit!;
  const perDay = (v: number): string => (kind === "load" ? `${v.toFixed(3)}/day` : `${bytes(v)}/day`);
  const level = kind === "load" ? `${fit.levelAtLast.toFixed(2)} of ${trend.capacity} CPUs` : `${bytes(fit.levelAtLast)} of ${bytes(trend.capacity)} (${((100 * fit.levelAtLast) / trend.capacity).toFixed(1)}%)`;
  const evidence = [
    `Fitted over ${trend.segment!.points} readings from ${trend.segment!.from.slice(0, 10)} to ${trend.segment!.to.slice(0, 10)}${trend.cleanups.length > 0 ? ` (after ${trend.cleanups.length} cleanup(s); the last on ${trend.cleanups.at(-1)!.at.slice(0, 10)})` : ""}.`,
    `Growth ${perDay(fit.slopePerDay)}, ${Math.round(fit.confidence * 100)}% interval ${perDay(fit.lowerPerDay)} to ${perDay(fit.upperPerDay)} (Sen's slope).`,
    `Level at the last reading: ${level}; threshold ${kind === "load" ? `${trend.threshold} (load of one per CPU)` : bytes(trend.threshold)}.`,
    `Soonest: ${soonest.at.slice(0, 10)} (${soonest.days.toFixed(1)} days); expected: ${trend.full?.at ? `${trend.full.at.slice(0, 10)} (${trend.full.days!.toFixed(1)} days)` : "no date (not growing at the fitted slope)"}.`,
    deadline.by === "horizon" ? `No runbook with a maintenance window targets ${host}: judged against ${horizonDays} days from now.` : `Next maintenance window: ${window!.runbook}, opening ${window!.opens}${window!.following ? `; the one after opens ${window!.following}` : ""}.`,
  ];
  return {
    id: recommendationId(kind, host, mount),
    kind,
    host,
    ...(mount !== undefined ? { mount } : {}),
    urgency,
    title,
    action: ACTIONS[kind](mount),
    ...(window !== undefined ? { runbook: window.runbook } : {}),
    deadline,
    soonest,
    expected: { at: trend.full?.at ?? null, days: trend.full?.days ?? null },
    evidence,
  };
}

/** Bytes in binary units, one decimal: `12.3 GiB`. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${n < 0 ? "-" : ""}${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}
