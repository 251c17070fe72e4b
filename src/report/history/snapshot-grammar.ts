/**
 * The grammar of a facts snapshot: every value in it was read from a host, so each is
 * checked against what the host's kernel or package manager can actually produce, both
 * when `steward facts --snapshot` writes a line and when a report reads a committed one
 * (which anyone may have edited by hand). The same rules hold for both line formats: a
 * format-1 line (the record as a JSON object, {@link snapshotProblem}) and a format-2
 * row (the record's values as a JSON array under its file's header, {@link decodeRow};
 * src/facts/snapshot-line.ts).
 *
 * - `bootId`: a UUID in Linux's form, 8-4-4-4-12 lower-case hex
 *   (/proc/sys/kernel/random/boot_id, random(4)).
 * - sizes (`disks[].sizeBytes`, `usedBytes`, `memory.*`): whole numbers of bytes, 0 to
 *   2^53−1 (`df -B1` and /proc/meminfo give integers; beyond that JSON numbers lose bytes);
 *   `memory.availableBytes` at most `totalBytes`.
 * - `disks[].mount`: an absolute path (starts with `/`), at most 4096 bytes (PATH_MAX),
 *   no control, bidirectional or invisible character, each mount once.
 * - `load`: one, five, fifteen are finite numbers from 0 to 2^22 (/proc/loadavg; Linux's
 *   PID_MAX_LIMIT bounds the tasks a load averages); `cpus` a whole
 *   number 1 to 65,536 (Linux's NR_CPUS is at most 8192 today).
 * - `uptimeSeconds`: a finite number ≥ 0 and below 100 years (/proc/uptime).
 * - `os`: `<ID> <VERSION_ID>` of os-release(5), each a word of letters, digits and
 *   `. _ ~ + -`, or `unknown`.
 * - `upgradable[]`: a name and versions some package manager steward drives accepts
 *   (src/drivers/<manager>/grammar.ts), a type of security, patch, minor or major.
 * - `host`, `groups`: inventory names; `takenAt`: ISO 8601 UTC.
 *
 * Cost: every report checks every line it reads (365,000 in a year of a thousand
 * hosts), so the checks allocate nothing and create no function per value (the
 * sources run through tsx, which names each function expression as it is created).
 * The readers skip a check only for a value equal to one of the same host's previous
 * line that passed (its os, bootId, update entries: {@link factsRowProblem}; the
 * pending reader compares bytes), never for one merely seen elsewhere.
 */
import { drivers } from "../../drivers/registry.ts";
import { MAX_VALUE_LENGTH, shown } from "../../drivers/untrusted.ts";
import { hasUnprintable } from "../../core/text.ts";
import type { FactSnapshot, SnapshotUpdate } from "./snapshots.ts";
import { ISO_UTC } from "./run-view.ts";

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OS_WORD = "[A-Za-z0-9._~+-]{1,64}";
const OS = new RegExp(`^${OS_WORD}( ${OS_WORD})?$`);
const MAX_PATH = 4096;
/** Longest uptime believed, in seconds (100 years). */
export const MAX_UPTIME = 100 * 366 * 86_400;
const MAX_GROUPS = 1000;
/** Most disks one line lists. */
export const MAX_DISKS = 10_000;
const MAX_UPDATES = 100_000;
const TYPES: ReadonlySet<string> = new Set(["security", "patch", "minor", "major"]);
const KEYS: ReadonlySet<string> = new Set(["v", "host", "takenAt", "groups", "unreachable", "os", "disks", "memory", "load", "uptimeSeconds", "bootId", "rebootRequired", "upgradable"]);
const FACTS = ["os", "disks", "memory", "load", "uptimeSeconds", "bootId", "rebootRequired", "upgradable"] as const;
const DRIVERS = Object.values(drivers);

const bytes = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const reading = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
const obj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
// A number JSON cannot write (1e400 parses to Infinity) is shown as it is, not as JSON's null.
const quoted = (v: unknown): string => (typeof v === "string" ? shown(v) : typeof v === "number" && !Number.isFinite(v) ? String(v) : JSON.stringify(v)?.slice(0, 40) ?? String(v));
const isHost = (s: string): boolean => HOST.test(s);
/** Whether `s` is `<ID> <VERSION_ID>` of os-release(5) (see the module comment), or `unknown`. */
export const isOs = (s: string): boolean => OS.test(s);
/** Whether `s` is a Linux boot id: a UUID, 8-4-4-4-12 lower-case hex. */
export const isBootId = (s: string): boolean => BOOT_ID.test(s);
// A lone surrogate (a JSON "\ud800" escape) is no text: two such mounts could not be told apart once written out.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isMount = (s: string): boolean => s.startsWith("/") && s.length <= MAX_PATH && !hasUnprintable(s) && !LONE_SURROGATE.test(s);
// Loops, not DRIVERS.some(callback): a callback closing over the value would be a new (named) function per value.
function isName(s: string): boolean {
  for (let i = 0; i < DRIVERS.length; i++) if (DRIVERS[i]!.validName(s)) return true;
  return false;
}
function isVersion(s: string): boolean {
  for (let i = 0; i < DRIVERS.length; i++) if (DRIVERS[i]!.validVersion(s)) return true;
  return false;
}
const hostName = (v: unknown): v is string => typeof v === "string" && isHost(v);
const packageName = (v: unknown): boolean => typeof v === "string" && v.length <= MAX_VALUE_LENGTH && isName(v);
const packageVersion = (v: unknown): boolean => typeof v === "string" && v.length <= MAX_VALUE_LENGTH && isVersion(v);

/** What is wrong with a line's host, takenAt and groups (in that order), or null. */
export function identityProblem(host: unknown, takenAt: unknown, groups: unknown): string | null {
  if (!hostName(host)) return host === undefined ? "has no host" : `has a host ${quoted(host)} that is not an inventory host name (a letter or digit, then letters, digits, . _ -; at most 253)`;
  if (typeof takenAt !== "string" || !ISO_UTC.test(takenAt) || Number.isNaN(Date.parse(takenAt))) return "has a takenAt that is not an ISO 8601 UTC time";
  return groupsProblem(groups);
}

/** What is wrong with a line's groups (a list of at most 1,000 inventory names), or null. */
export function groupsProblem(groups: unknown): string | null {
  if (!Array.isArray(groups) || groups.length > MAX_GROUPS) return "has groups that are not group names";
  for (const g of groups) if (!hostName(g)) return "has groups that are not group names";
  return null;
}

function osProblem(os: unknown): string | null {
  if (os === undefined) return "has no os";
  return typeof os === "string" && isOs(os) ? null : `has an os ${quoted(os)} that is not "<ID> <VERSION_ID>" of os-release (letters, digits, . _ ~ + -)`;
}

function diskProblem(mount: unknown, size: unknown, used: unknown, mounts: Set<string>): string | null {
  if (typeof mount !== "string") return "has a disk that is not {mount, sizeBytes, usedBytes}";
  if (!isMount(mount)) return `has a disk mount ${shown(mount)} that is not an absolute path without control characters`;
  if (mounts.has(mount)) return `lists the disk mount ${shown(mount)} twice`;
  mounts.add(mount);
  if (!bytes(size) || !bytes(used)) return `has a size of disk ${shown(mount)} that is not a whole number of bytes (0 to 2^53-1)`;
  return null;
}

function memoryProblem(total: unknown, available: unknown): string | null {
  if (!bytes(total) || !bytes(available)) return "has a memory that is not {totalBytes, availableBytes} in whole bytes (0 to 2^53-1)";
  // MemAvailable is an estimate of what of MemTotal can be had (Linux, Documentation/filesystems/proc.rst): never more than it.
  return available > total ? `has an availableBytes ${available} above its totalBytes ${total}` : null;
}

/**
 * Most a load average can be: it averages the tasks runnable or in uninterruptible
 * sleep, and Linux has at most PID_MAX_LIMIT (2^22, include/linux/threads.h) tasks.
 */
export const MAX_LOAD = 4_194_304;

function loadProblem(one: unknown, five: unknown, fifteen: unknown, cpus: unknown): string | null {
  if (!reading(one) || !reading(five) || !reading(fifteen)) return "has a load that is not {one, five, fifteen} as numbers of 0 or more";
  if (one > MAX_LOAD || five > MAX_LOAD || fifteen > MAX_LOAD) return `has a load above ${MAX_LOAD} (Linux's most tasks, PID_MAX_LIMIT): not a load average`;
  if (typeof cpus !== "number" || !Number.isInteger(cpus) || cpus < 1 || cpus > 65_536) return `has a load.cpus ${quoted(cpus)} that is not a whole number from 1 to 65536`;
  return null;
}

function hostStateProblem(uptime: unknown, bootId: unknown, rebootRequired: unknown): string | null {
  return uptimeProblem(uptime) ?? bootIdProblem(bootId) ?? rebootProblem(rebootRequired);
}

function uptimeProblem(uptime: unknown): string | null {
  return !reading(uptime) || uptime > MAX_UPTIME ? `has an uptimeSeconds ${quoted(uptime)} that is not a number of seconds from 0 to 100 years` : null;
}

function bootIdProblem(bootId: unknown): string | null {
  return typeof bootId !== "string" || !isBootId(bootId) ? `has a bootId ${quoted(bootId)} that is not a UUID (Linux's /proc/sys/kernel/random/boot_id: 8-4-4-4-12 lower-case hex)` : null;
}

function rebootProblem(rebootRequired: unknown): string | null {
  if (typeof rebootRequired !== "boolean") return rebootRequired === undefined ? "has no rebootRequired" : `has a rebootRequired ${quoted(rebootRequired)} that is not true or false`;
  return null;
}

function updateProblem(name: unknown, from: unknown, to: unknown, type: unknown): string | null {
  if (typeof type === "string" && !TYPES.has(type)) return `has an upgradable type ${quoted(type)} of ${shown(String(name))} that is not security, patch, minor or major`;
  if (typeof type !== "string") return "has an upgradable entry without a type (security, patch, minor or major)";
  if (!packageName(name)) return `has an upgradable name ${quoted(name)} no package manager accepts`;
  if (!packageVersion(from)) return `has an upgradable from version ${quoted(from)} of ${shown(String(name))} no package manager accepts`;
  if (!packageVersion(to)) return `has an upgradable to version ${quoted(to)} of ${shown(String(name))} no package manager accepts`;
  return null;
}

/**
 * What is wrong with a parsed value as a format-1 snapshot line (the record as an
 * object), naming the member and the rule it breaks, or null when it is one (see the
 * module comment for every rule).
 */
export function snapshotProblem(value: unknown, format: number): string | null {
  if (!obj(value)) return "is not a JSON object";
  if (value.v !== format) return value.v === undefined ? `has no "v" (its format): not a snapshot line of format ${format}` : `has format ${quoted(value.v)}, expected ${format}`;
  for (const k in value) if (!KEYS.has(k)) return `has a member no snapshot has (${shown(k.slice(0, 40))})`;
  const identity = identityProblem(value.host, value.takenAt, value.groups);
  if (identity !== null) return identity;
  if (value.unreachable !== undefined) {
    if (value.unreachable !== true) return "has an unreachable that is not true";
    if (FACTS.some((k) => value[k] !== undefined)) return "is unreachable yet has facts";
    return null;
  }
  const os = osProblem(value.os);
  if (os !== null) return os;
  if (!Array.isArray(value.disks) || value.disks.length > MAX_DISKS) return "has no disks list";
  const mounts = new Set<string>();
  for (const d of value.disks) {
    const problem = obj(d) ? diskProblem(d.mount, d.sizeBytes, d.usedBytes, mounts) : "has a disk that is not {mount, sizeBytes, usedBytes}";
    if (problem !== null) return problem;
  }
  const m = value.memory;
  const memory = obj(m) ? memoryProblem(m.totalBytes, m.availableBytes) : memoryProblem(undefined, undefined);
  if (memory !== null) return memory;
  const l = value.load;
  const load = obj(l) ? loadProblem(l.one, l.five, l.fifteen, l.cpus) : loadProblem(undefined, undefined, undefined, undefined);
  if (load !== null) return load;
  const state = hostStateProblem(value.uptimeSeconds, value.bootId, value.rebootRequired);
  if (state !== null) return state;
  if (!Array.isArray(value.upgradable) || value.upgradable.length > MAX_UPDATES) return "has no upgradable list";
  for (const u of value.upgradable) {
    const problem = obj(u) ? updateProblem(u.name, u.from, u.to, u.type) : "has an upgradable entry that is not {name, from, to, type}";
    if (problem !== null) return problem;
  }
  return null;
}

/** Values in a format-2 row of a reachable host, and of an unreachable one (src/facts/snapshot-line.ts). */
export const ROW_LENGTH = 11;
export const UNREACHABLE_ROW_LENGTH = 3;

/**
 * What is wrong with a format-2 row for a report that reads only its identity (host,
 * takenAt, groups) and its resources (disks, memory, load), or null: the row's length,
 * and those values under the same rules and with the same messages as {@link decodeRow};
 * the other values (os, uptimeSeconds, bootId, rebootRequired, upgradable) are not
 * looked at. Allocates only the set of mounts seen.
 */
export function resourceRowProblem(row: readonly unknown[]): string | null {
  if (row.length !== ROW_LENGTH && row.length !== UNREACHABLE_ROW_LENGTH) return `has ${row.length} values, not ${ROW_LENGTH} (a reachable host) or ${UNREACHABLE_ROW_LENGTH} (an unreachable one: host, takenAt, groups)`;
  const identity = identityProblem(row[0], row[1], row[2]);
  if (identity !== null || row.length === UNREACHABLE_ROW_LENGTH) return identity;
  const diskRows = row[4];
  if (!Array.isArray(diskRows) || diskRows.length > MAX_DISKS) return "has no disks list";
  if (diskRows.length > 0) {
    const mounts = new Set<string>();
    for (let i = 0; i < diskRows.length; i++) {
      const d: unknown = diskRows[i];
      if (!Array.isArray(d) || d.length !== 3) return "has a disk that is not [mount, sizeBytes, usedBytes]";
      const problem = diskProblem(d[0], d[1], d[2], mounts);
      if (problem !== null) return problem;
    }
  }
  const memory = row[5];
  if (!Array.isArray(memory) || memory.length !== 2) return "has a memory that is not [totalBytes, availableBytes] in whole bytes (0 to 2^53-1)";
  const mp = memoryProblem(memory[0], memory[1]);
  if (mp !== null) return mp;
  const load = row[6];
  if (!Array.isArray(load) || load.length !== 4) return "has a load that is not [one, five, fifteen, cpus]";
  return loadProblem(load[0], load[1], load[2], load[3]);
}

/** A reachable host's last row that passed {@link factsRowProblem}: its os, bootId and upgradable values. */
export interface CheckedFacts {
  os: unknown;
  bootId: unknown;
  upgradable: readonly unknown[];
}

/**
 * What is wrong with the values of a reachable host's format-2 row that are not its
 * identity or resources (os, uptimeSeconds, bootId, rebootRequired, upgradable), in
 * {@link decodeRow}'s order and words, or null. For a reader that checks identity and
 * resources with {@link resourceRowProblem} first: the two together are decodeRow's
 * whole check. `previous`, when given, is the host's last row that passed: an os or
 * bootId equal to its, and an upgradable entry equal to the one at its index there, is
 * not checked again (they recur from day to day).
 */
export function factsRowProblem(row: readonly unknown[], previous?: CheckedFacts): string | null {
  if (previous === undefined || row[3] !== previous.os) {
    const os = osProblem(row[3]);
    if (os !== null) return os;
  }
  const state = uptimeProblem(row[7]) ?? (previous !== undefined && row[8] === previous.bootId ? null : bootIdProblem(row[8])) ?? rebootProblem(row[9]);
  if (state !== null) return state;
  const updateRows = row[10];
  if (!Array.isArray(updateRows) || updateRows.length > MAX_UPDATES) return "has no upgradable list";
  for (let i = 0; i < updateRows.length; i++) {
    const u: unknown = updateRows[i];
    if (!Array.isArray(u) || u.length !== 4) return "has an upgradable entry that is not [name, from, to, type]";
    const before = previous?.upgradable[i] as unknown[] | undefined;
    if (before !== undefined && before[0] === u[0] && before[1] === u[1] && before[2] === u[2] && before[3] === u[3]) continue;
    const problem = updateProblem(u[0], u[1], u[2], u[3]);
    if (problem !== null) return problem;
  }
  return null;
}

/**
 * A format-2 row's upgradable value (a list of `[name, from, to, type]`) checked and
 * decoded into update records, or what is wrong with it (the first entry that breaks a
 * rule, named as {@link decodeRow} names it).
 */
export function decodeUpdates(updateRows: unknown): SnapshotUpdate[] | string {
  if (!Array.isArray(updateRows) || updateRows.length > MAX_UPDATES) return "has no upgradable list";
  const upgradable: SnapshotUpdate[] = [];
  for (let i = 0; i < updateRows.length; i++) {
    const u: unknown = updateRows[i];
    if (!Array.isArray(u) || u.length !== 4) return "has an upgradable entry that is not [name, from, to, type]";
    const problem = updateProblem(u[0], u[1], u[2], u[3]);
    if (problem !== null) return problem;
    upgradable.push({ name: u[0] as string, from: u[1] as string, to: u[2] as string, type: u[3] as SnapshotUpdate["type"] });
  }
  return upgradable;
}

/** What a report of pending updates takes of a snapshot line (history/snapshot-pending.ts). */
export interface PendingRow {
  host: string;
  takenAt: string;
  groups: string[];
  /** Absent for a reachable host. */
  unreachable?: true;
  /** Absent for an unreachable host. */
  rebootRequired?: boolean;
  upgradable?: SnapshotUpdate[];
}

/**
 * A format-2 row (a JSON array in the order of its file's header, src/facts/
 * snapshot-line.ts) checked against the same rules as a format-1 line and, when it
 * keeps them, decoded into the record; otherwise the problem, naming the value and the
 * rule it breaks (a string). One pass: each value is checked as it is taken.
 */
export function decodeRow(row: readonly unknown[]): FactSnapshot | string {
  // No closure or spread here: this runs for every line of every report.
  // Length, identity and resources under the rules forecast reads them by (one copy of them).
  const resources = resourceRowProblem(row);
  if (resources !== null) return resources;
  const host = row[0];
  const takenAt = row[1];
  const groups = row[2];
  if (row.length === UNREACHABLE_ROW_LENGTH) return { v: 1, host: host as string, takenAt: takenAt as string, groups: groups as string[], unreachable: true };
  // The rest of the row under the rules the forecast checks it by (one copy of them).
  const facts = factsRowProblem(row);
  if (facts !== null) return facts;
  const os = row[3];
  const diskRows = row[4] as unknown[][];
  const disks: NonNullable<FactSnapshot["disks"]> = [];
  for (let i = 0; i < diskRows.length; i++) {
    const d = diskRows[i]!;
    disks.push({ mount: d[0] as string, sizeBytes: d[1] as number, usedBytes: d[2] as number });
  }
  const memory = row[5] as unknown[];
  const load = row[6] as unknown[];
  const updateRows = row[10] as string[][];
  const upgradable: SnapshotUpdate[] = [];
  for (let i = 0; i < updateRows.length; i++) {
    const u = updateRows[i]!;
    upgradable.push({ name: u[0]!, from: u[1]!, to: u[2]!, type: u[3] as SnapshotUpdate["type"] });
  }
  return {
    v: 1,
    host: host as string,
    takenAt: takenAt as string,
    groups: groups as string[],
    os: os as string,
    disks,
    memory: { totalBytes: memory[0] as number, availableBytes: memory[1] as number },
    load: { one: load[0] as number, five: load[1] as number, fifteen: load[2] as number, cpus: load[3] as number },
    uptimeSeconds: row[7] as number,
    bootId: row[8] as string,
    rebootRequired: row[9] as boolean,
    upgradable,
  };
}
