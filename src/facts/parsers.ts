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

/** `df -P` in bytes (`-B1`, header "1-blocks") or kibibytes (`-k`, "1024-blocks"). */
export function parseDf(text: string): MountUsage[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const header = lines.shift();
  const blockMatch = header === undefined ? null : /\s(\d+)-blocks\s/.exec(header);
  if (!blockMatch) throw new UnparsableError("disks", `unexpected df header: ${header ?? "(none)"}`);
  const block = Number(blockMatch[1]);
  const mounts: MountUsage[] = [];
  for (const line of lines) {
    // The mount point is the rest of the line: it may contain spaces.
    const match = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(.+)$/.exec(line);
    if (!match) {
      if (/^\S+\s+-\s/.test(line)) continue; // file systems without sizes (some pseudo file systems)
      throw new UnparsableError("disks", `unexpected df line: ${line}`);
    }
    mounts.push({
      mount: match[6] ?? "",
      filesystem: match[1] ?? "",
      sizeBytes: Number(match[2]) * block,
      usedBytes: Number(match[3]) * block,
      usedPercent: Number(match[5]),
    });
  }
  return mounts.sort((a, b) => a.mount.localeCompare(b.mount));
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

/** Kernel releases from /boot and /lib/modules, deduplicated and sorted. */
export function parseKernels(text: string): string[] {
  return [...new Set(text.split("\n").map((l) => l.trim()).filter((l) => l !== ""))].sort();
}
