import type { HostFacts, MountUsage } from "./types.ts";

/**
 * Parsers of the small system files and commands facts read. Each throws
 * `UnparsableError` naming what it expected, which gathering turns into an
 * `unparsable` result for the host.
 */

export class UnparsableError extends Error {
  constructor(
    readonly section: string,
    message: string,
  ) {
    super(`${section}: ${message}`);
    this.name = "UnparsableError";
  }
}

/** os-release(5): KEY=value lines, values optionally quoted with shell escapes. */
export function parseOsRelease(text: string): HostFacts["os"] {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    let value = match[2] ?? "";
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\([$"\\`])/g, "$1");
    }
    values.set(match[1] ?? "", value);
  }
  const id = values.get("ID");
  if (id === undefined) throw new UnparsableError("os", "no ID= line in os-release");
  // VERSION_ID is optional by the spec (rolling releases such as Arch or Debian sid omit it).
  return { id, versionId: values.get("VERSION_ID") ?? "", prettyName: values.get("PRETTY_NAME") ?? values.get("NAME") ?? id };
}

/** Mounts `df` reported, and a line per row that could not be read (see `HostFacts.warnings`). */
export interface DfReading {
  mounts: MountUsage[];
  warnings: string[];
}

const SIZES = String.raw`\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(\/.*)$`;
/** The source taken as short as possible: the sizes are the first run that fits. */
const FROM_LEFT = new RegExp(`^(.*?\\S)${SIZES}`);
/** The source taken as long as possible: the sizes are the last run that fits. */
const FROM_RIGHT = new RegExp(`^(.*\\S)${SIZES}`);

/**
 * `df -P` in bytes (`-B1`, header "1-blocks") or kibibytes (`-k`, "1024-blocks").
 * Both the source (`//nas.example/Team Share/Ops`) and the mount point may contain
 * spaces, so a row is read as source, four numbers, a percentage and a mount point
 * starting with `/`. When the source or mount itself looks like such numbers and the
 * row can be split two ways, or a row fits no split, the row is skipped and a warning
 * names it: one odd mount never costs the host its facts. Only a missing header fails.
 */
export function parseDf(text: string): DfReading {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const header = lines.shift();
  const blockMatch = header === undefined ? null : /\s(\d+)-blocks\s/.exec(header);
  if (!blockMatch) throw new UnparsableError("disks", `unexpected df header${header === undefined ? " (none)" : ""}`);
  const block = Number(blockMatch[1]);
  const mounts: MountUsage[] = [];
  const warnings: string[] = [];
  for (const [index, line] of lines.entries()) {
    const left = FROM_LEFT.exec(line);
    const right = FROM_RIGHT.exec(line);
    if (!left || !right) {
      // File systems without sizes (some pseudo file systems) print dashes: nothing to read.
      if (/\s-\s+-\s+-\s+-\s+\/.*$/.test(line)) continue;
      warnings.push(`disks: skipped df line ${index + 2}: no sizes and mount point found in it`);
      continue;
    }
    if (left[1] !== right[1]) {
      warnings.push(`disks: skipped df line ${index + 2}: its source or mount point looks like sizes, so it splits two ways`);
      continue;
    }
    mounts.push({
      mount: left[6] ?? "",
      filesystem: left[1] ?? "",
      sizeBytes: Number(left[2]) * block,
      usedBytes: Number(left[3]) * block,
      usedPercent: Number(left[5]),
    });
  }
  return { mounts: mounts.sort((a, b) => (a.mount < b.mount ? -1 : a.mount > b.mount ? 1 : 0)), warnings };
}

/** /proc/meminfo; MemAvailable exists since Linux 3.14, MemFree+Buffers+Cached approximates it before. */
export function parseMeminfo(text: string): HostFacts["memory"] {
  const kib = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?$/.exec(line.trim());
    if (match) kib.set(match[1] ?? "", Number(match[2]));
  }
  const total = kib.get("MemTotal");
  if (total === undefined) throw new UnparsableError("memory", "no MemTotal in /proc/meminfo");
  const available = kib.get("MemAvailable") ?? (kib.get("MemFree") ?? 0) + (kib.get("Buffers") ?? 0) + (kib.get("Cached") ?? 0);
  return { totalBytes: total * 1024, availableBytes: available * 1024 };
}

/** /proc/loadavg followed by the CPU count. */
export function parseLoad(text: string): HostFacts["load"] {
  const [loadLine = "", cpuLine = ""] = text.trim().split("\n");
  const [one, five, fifteen] = loadLine.split(/\s+/).map(Number);
  const cpus = Number(cpuLine.trim());
  if (one === undefined || five === undefined || fifteen === undefined || [one, five, fifteen].some(Number.isNaN) || !(cpus >= 1)) {
    throw new UnparsableError("load", `unexpected load average and CPU count: ${JSON.stringify(text.trim())}`);
  }
  return { one, five, fifteen, cpus };
}

/** /proc/uptime: seconds since boot, then idle seconds. */
export function parseUptime(text: string): number {
  const seconds = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(seconds)) throw new UnparsableError("uptime", `unexpected /proc/uptime: ${JSON.stringify(text.trim())}`);
  return seconds;
}

export function parseBootId(text: string): string {
  const id = text.trim();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new UnparsableError("boot-id", `unexpected boot id: ${JSON.stringify(id)}`);
  return id;
}

/**
 * `systemctl is-active` prints one state per unit, in order. Transitional states
 * (activating, reloading, deactivating) and anything systemd may add later are
 * "unknown": a check should not pass or fail on a state it does not understand.
 */
export function parseServices(text: string, services: readonly string[]): HostFacts["services"] {
  const result: HostFacts["services"] = {};
  const lines = text.trim() === "no-systemd" ? [] : text.split("\n").map((l) => l.trim());
  services.forEach((service, i) => {
    const state = lines[i];
    result[service] = state === "active" || state === "inactive" || state === "failed" ? state : "unknown";
  });
  return result;
}

/**
 * Kernel releases from /boot and /lib/modules, deduplicated and sorted; names that
 * cannot be releases (spaces, control characters, a leading '-') are skipped and said
 * in `warnings`, so an odd file costs that name, not the host.
 */
export function parseKernels(text: string): { kernels: string[]; warnings: string[] } {
  const names = [...new Set(text.split("\n").map((l) => l.trim()).filter((l) => l !== ""))].sort();
  // A file name in /boot or /lib/modules can be anything; only a single word can be a release.
  const kernels = names.filter((n) => /^[^\s\p{Cc}\p{Cf}-][^\s\p{Cc}\p{Cf}]{0,255}$/u.test(n));
  const skipped = names.length - kernels.length;
  return { kernels, warnings: skipped > 0 ? [`kernels: skipped ${skipped} name(s) in /boot or /lib/modules that cannot be kernel releases`] : [] };
}
