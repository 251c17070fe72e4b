/**
 * The grammar of a facts snapshot line (format 1): every value in it was read from a
 * host, so each is checked against what the host's kernel or package manager can
 * actually produce, both when `steward facts --snapshot` writes a line and when a
 * report reads a committed one (which anyone may have edited by hand).
 *
 * - `bootId`: a UUID in Linux's form, 8-4-4-4-12 lower-case hex
 *   (/proc/sys/kernel/random/boot_id, random(4)).
 * - sizes (`disks[].sizeBytes`, `usedBytes`, `memory.*`): whole numbers of bytes, 0 to
 *   2^53−1 (`df -B1` and /proc/meminfo give integers; beyond that JSON numbers lose bytes).
 * - `disks[].mount`: an absolute path (starts with `/`), at most 4096 bytes (PATH_MAX),
 *   no control, bidirectional or invisible character, each mount once.
 * - `load`: one, five, fifteen are finite numbers ≥ 0 (/proc/loadavg); `cpus` a whole
 *   number 1 to 65,536 (Linux's NR_CPUS is at most 8192 today).
 * - `uptimeSeconds`: a finite number ≥ 0 and below 100 years (/proc/uptime).
 * - `os`: `<ID> <VERSION_ID>` of os-release(5), each a word of letters, digits and
 *   `. _ ~ + -`, or `unknown`.
 * - `upgradable[]`: a name and versions some package manager steward drives accepts
 *   (src/drivers/<manager>/grammar.ts), a type of security, patch, minor or major.
 * - `host`, `groups`: inventory names; `takenAt`: ISO 8601 UTC.
 */
import { drivers } from "../../drivers/registry.ts";
import { MAX_VALUE_LENGTH, shown } from "../../drivers/untrusted.ts";
import { hasUnprintable } from "../../core/text.ts";
import { ISO_UTC } from "./run-view.ts";

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OS_WORD = "[A-Za-z0-9._~+-]{1,64}";
const OS = new RegExp(`^${OS_WORD}( ${OS_WORD})?$`);
const MAX_PATH = 4096;
const MAX_UPTIME = 100 * 366 * 86_400;
const TYPES: ReadonlySet<string> = new Set(["security", "patch", "minor", "major"]);
const KEYS: ReadonlySet<string> = new Set(["v", "host", "takenAt", "groups", "unreachable", "os", "disks", "memory", "load", "uptimeSeconds", "bootId", "rebootRequired", "upgradable"]);
const FACTS = ["os", "disks", "memory", "load", "uptimeSeconds", "bootId", "rebootRequired", "upgradable"] as const;

const bytes = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const reading = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
const obj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const packageValue = (v: unknown, valid: (d: (typeof drivers)[keyof typeof drivers], v: string) => boolean): boolean =>
  typeof v === "string" && v.length <= MAX_VALUE_LENGTH && Object.values(drivers).some((d) => valid(d, v));
const quoted = (v: unknown): string => (typeof v === "string" ? shown(v) : JSON.stringify(v)?.slice(0, 40) ?? String(v));

/**
 * What is wrong with a parsed value as a snapshot line, naming the member and the rule
 * it breaks, or null when it is one (see the module comment for every rule).
 */
export function snapshotProblem(value: unknown, format: number): string | null {
  if (!obj(value)) return "is not a JSON object";
  if (value.v !== format) return `has format ${JSON.stringify(value.v)}, expected ${format}`;
  for (const k in value) if (!KEYS.has(k)) return `has a member no snapshot has (${shown(k.slice(0, 40))})`;
  if (typeof value.host !== "string" || !HOST.test(value.host)) return "has no valid host name";
  if (typeof value.takenAt !== "string" || !ISO_UTC.test(value.takenAt) || Number.isNaN(Date.parse(value.takenAt))) return "has a takenAt that is not an ISO 8601 UTC time";
  if (!Array.isArray(value.groups) || value.groups.length > 1000 || !value.groups.every((g) => typeof g === "string" && HOST.test(g))) return "has groups that are not group names";
  if (value.unreachable !== undefined) {
    if (value.unreachable !== true) return "has an unreachable that is not true";
    if (FACTS.some((k) => value[k] !== undefined)) return "is unreachable yet has facts";
    return null;
  }
  if (typeof value.os !== "string" || !OS.test(value.os)) return `has an os ${quoted(value.os)} that is not "<ID> <VERSION_ID>" of os-release (letters, digits, . _ ~ + -)`;
  if (!Array.isArray(value.disks) || value.disks.length > 10_000) return "has no disks list";
  const mounts = new Set<string>();
  for (const d of value.disks) {
    if (!obj(d) || typeof d.mount !== "string") return "has a disk that is not {mount, sizeBytes, usedBytes}";
    if (!d.mount.startsWith("/") || d.mount.length > MAX_PATH || hasUnprintable(d.mount)) return `has a disk mount ${shown(d.mount)} that is not an absolute path without control characters`;
    if (mounts.has(d.mount)) return `lists the disk mount ${shown(d.mount)} twice`;
    mounts.add(d.mount);
    if (!bytes(d.sizeBytes) || !bytes(d.usedBytes)) return `has a size of disk ${shown(d.mount)} that is not a whole number of bytes (0 to 2^53-1)`;
  }
  const m = value.memory;
  if (!obj(m) || !bytes(m.totalBytes) || !bytes(m.availableBytes)) return "has a memory that is not {totalBytes, availableBytes} in whole bytes (0 to 2^53-1)";
  const l = value.load;
  if (!obj(l) || !reading(l.one) || !reading(l.five) || !reading(l.fifteen)) return "has a load that is not {one, five, fifteen} as numbers of 0 or more";
  if (typeof l.cpus !== "number" || !Number.isInteger(l.cpus) || l.cpus < 1 || l.cpus > 65_536) return `has a load.cpus ${quoted(l.cpus)} that is not a whole number from 1 to 65536`;
  if (!reading(value.uptimeSeconds) || value.uptimeSeconds > MAX_UPTIME) return `has an uptimeSeconds ${quoted(value.uptimeSeconds)} that is not a number of seconds from 0 to 100 years`;
  if (typeof value.bootId !== "string" || !BOOT_ID.test(value.bootId)) return `has a bootId ${quoted(value.bootId)} that is not a UUID (Linux's /proc/sys/kernel/random/boot_id: 8-4-4-4-12 lower-case hex)`;
  if (typeof value.rebootRequired !== "boolean") return "has no rebootRequired";
  if (!Array.isArray(value.upgradable) || value.upgradable.length > 100_000) return "has no upgradable list";
  for (const u of value.upgradable) {
    if (!obj(u) || typeof u.type !== "string" || !TYPES.has(u.type)) return "has an upgradable entry that is not {name, from, to, type}";
    if (!packageValue(u.name, (d, v) => d.validName(v))) return `has an upgradable name ${quoted(u.name)} no package manager accepts`;
    for (const k of ["from", "to"] as const) if (!packageValue(u[k], (d, v) => d.validVersion(v))) return `has an upgradable ${k} version ${quoted(u[k])} of ${shown(String(u.name))} no package manager accepts`;
  }
  return null;
}
