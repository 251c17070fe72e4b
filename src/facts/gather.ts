import { compareDebianVersions } from "../drivers/apt/version.ts";
import { DETECTION_ORDER, drivers } from "../drivers/registry.ts";
import { TransportError } from "../transport/errors.ts";
import { mapConcurrent } from "../transport/limiter.ts";
import type { HostTarget, Transport } from "../transport/types.ts";
import { writeCachedFacts } from "./cache.ts";
import { parseBootId, parseDf, parseKernels, parseLoad, parseMeminfo, parseOsRelease, parseServices, parseUptime, UnparsableError } from "./parsers.ts";
import { factsScript, probeSection, splitSections, type Section, type SectionName } from "./script.ts";
import type { AppFacts, AppProbe, FactsErrorKind, FactsResult, HostFacts, PackageManager, RebootFacts } from "./types.ts";

/** Options of `gatherFacts`. */
export interface GatherOptions {
  /** Connections come from here; the caller closes it. */
  transport: Transport;
  /** Services whose `systemctl is-active` state to report. */
  services?: readonly string[];
  /**
   * Refresh the package lists first (`apt-get update`), through the host's become.
   * Off by default: facts are read-only and need no root.
   */
  refresh?: boolean;
  /** Hosts gathered at once. Default 16. */
  concurrency?: number;
  /** Limit for each command on a host. Default 120 s. */
  timeoutMs?: number;
  /** When set, each result is also written to `<cacheDir>/<host>.json`. */
  cacheDir?: string;
  /** App-upgrade version probes for a host, rendered for it; their results land in `facts.apps`. */
  apps?: (target: HostTarget) => AppProbe[];
  /** Clock for `gatheredAt`. */
  now?: () => Date;
  /** Called as each host finishes, for progress output. */
  onResult?: (result: FactsResult) => void;
}

class CommandFailed extends Error {}

/** Gathers facts from every host; one result per host, in input order, never throws per host. */
export async function gatherFacts(targets: readonly HostTarget[], options: GatherOptions): Promise<FactsResult[]> {
  const settled = await mapConcurrent(targets, options.concurrency ?? 16, async (target) => {
    const result = await gatherHostFacts(target, options);
    if (options.cacheDir !== undefined) await writeCachedFacts(options.cacheDir, result);
    options.onResult?.(result);
    return result;
  });
  return settled.map((outcome, i) => {
    if (outcome.status === "fulfilled") return outcome.value;
    // Only the cache write can get here (gatherHostFacts returns failures as values).
    const host = targets[i]?.name ?? "";
    return failure(host, options, "command-failed", String(outcome.reason instanceof Error ? outcome.reason.message : outcome.reason));
  });
}

/** One host: at most two commands over one connection (the refresh only when asked). */
export async function gatherHostFacts(target: HostTarget, options: GatherOptions): Promise<FactsResult> {
  const services = [...(options.services ?? [])].sort();
  const timeoutMs = options.timeoutMs ?? 120_000;
  try {
    const session = await options.transport.connect(target);
    try {
      if (options.refresh) {
        const refresh = DETECTION_ORDER.map((m, i) => `${i === 0 ? "if" : "elif"} ${drivers[m].detect}; then ${drivers[m].refresh.command}`).join("; ");
        await session.exec(`${refresh}; fi`, { become: true, timeoutMs });
      }
      const probes = options.apps?.(target) ?? [];
      const runnable = probes.filter((p): p is Extract<AppProbe, { current: string }> => !("error" in p));
      const { script, marker } = factsScript(services, undefined, runnable);
      const result = await session.exec(script, { timeoutMs, check: false, tailBytes: 64 * 1024 * 1024 });
      const sections = splitSections(result.stdout, result.stderr, marker);
      const facts = interpret(sections, services);
      if (probes.length > 0) facts.apps = appFacts(probes, runnable, sections);
      return { host: target.name, ok: true, gatheredAt: stamp(options), facts };
    } finally {
      await session.close();
    }
  } catch (error) {
    return failure(target.name, options, errorKind(error), error instanceof Error ? error.message : String(error));
  }
}

function stamp(options: GatherOptions): string {
  return (options.now?.() ?? new Date()).toISOString();
}

function failure(host: string, options: GatherOptions, kind: FactsErrorKind, message: string): FactsResult {
  return { host, ok: false, gatheredAt: stamp(options), error: { kind, message } };
}

/** The transport's typed errors, as the kinds a facts result reports. */
export function errorKind(error: unknown): FactsErrorKind {
  if (error instanceof UnparsableError) return "unparsable";
  if (!(error instanceof TransportError)) return "command-failed";
  switch (error.code) {
    case "unreachable":
    case "connection-lost":
      return "unreachable";
    case "connect-timeout":
    case "command-timeout":
      return "timeout";
    case "auth-failed":
    case "host-key-unknown":
    case "host-key-mismatch":
    case "host-key-revoked":
      return error.code;
    case "become-failed":
    case "command-failed":
      return "command-failed";
  }
}

function section(sections: ReadonlyMap<string, Section>, name: SectionName, okExitCodes: readonly number[] = [0]): string {
  const found = sections.get(name);
  if (found === undefined) throw new UnparsableError(name, "section missing from the output (the script stopped early)");
  if (found.exitCode === null || !okExitCodes.includes(found.exitCode)) {
    const said = found.stderr.trim().split("\n").slice(-3).join(" | ");
    throw new CommandFailed(`${name}: exit ${found.exitCode ?? "none"}${said ? `: ${said}` : ""}`);
  }
  return found.stdout;
}

function interpret(sections: ReadonlyMap<string, Section>, services: readonly string[]): HostFacts {
  const managerText = section(sections, "manager").trim();
  const manager = (DETECTION_ORDER as readonly string[]).includes(managerText) ? (managerText as PackageManager) : null;
  const release = section(sections, "kernel").trim();
  const installedKernels = parseKernels(section(sections, "kernels"));
  let installed: HostFacts["installed"] = [];
  let upgradable: HostFacts["upgradable"] = [];
  if (manager !== null) {
    const driver = drivers[manager];
    installed = driver.parseInstalled(section(sections, "installed", driver.listInstalled.okExitCodes));
    const held = new Set(driver.parseHeld(section(sections, "held", driver.listHeld.okExitCodes)));
    installed = installed.map((p) => (held.has(p.name) ? { ...p, held: true } : p));
    upgradable = driver.parseUpgradable(section(sections, "upgradable", driver.listUpgradable.okExitCodes), installed);
  }
  return {
    os: parseOsRelease(section(sections, "os")),
    kernel: { release, installed: installedKernels },
    packageManager: manager,
    installed,
    upgradable,
    reboot: rebootFacts(section(sections, "reboot"), release, installedKernels),
    disks: parseDf(section(sections, "disks")),
    memory: parseMeminfo(section(sections, "memory")),
    load: parseLoad(section(sections, "load")),
    uptimeSeconds: parseUptime(section(sections, "uptime")),
    bootId: parseBootId(section(sections, "boot-id")),
    services: parseServices(section(sections, "services"), services),
  };
}

/** Each probed app's versions, or why they are unknown; a failed probe is a value, not a failed host. */
function appFacts(probes: readonly AppProbe[], runnable: ReadonlyArray<Extract<AppProbe, { current: string }>>, sections: ReadonlyMap<string, Section>): Record<string, AppFacts> {
  const out: Record<string, AppFacts> = {};
  for (const probe of probes) {
    if ("error" in probe) {
      out[probe.app] = { current: "", error: probe.error };
      continue;
    }
    const i = runnable.indexOf(probe);
    const read = (kind: "current" | "available"): { text: string; error?: string } => {
      const found = sections.get(probeSection(kind, i));
      const command = kind === "current" ? "current_version" : "available_versions";
      if (found === undefined) return { text: "", error: `${command}: no output (the script stopped early)` };
      if (found.exitCode !== 0) {
        const said = found.stderr.trim().split("\n").slice(-3).join(" | ");
        return { text: found.stdout, error: `${command}: exit ${found.exitCode ?? "none"}${said ? `: ${said}` : ""}` };
      }
      return { text: found.stdout };
    };
    const current = read("current");
    const available = probe.available !== undefined ? read("available") : undefined;
    const errors = [current.error, available?.error].filter((e): e is string => e !== undefined);
    out[probe.app] = {
      current: current.text.trim(),
      ...(available !== undefined ? { available: available.text.split(/\s+/).filter((v) => v !== "") } : {}),
      ...(errors.length > 0 ? { error: errors.join("; ") } : {}),
    };
  }
  return out;
}

/**
 * A reboot is required when the system says so (Debian's /var/run/reboot-required,
 * written by packages' postinst) or when a newer kernel is installed than the one
 * running (dnf and apk systems write no flag).
 */
export function rebootFacts(text: string, running: string, installed: readonly string[]): RebootFacts {
  const reasons: string[] = [];
  const [flag, ...pkgs] = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (flag === "required") {
    reasons.push("/var/run/reboot-required");
    const names = [...new Set(pkgs)].sort();
    if (names.length > 0) reasons.push(`packages: ${names.join(", ")}`);
  }
  const newest = [...installed].sort(compareDebianVersions).pop();
  if (newest !== undefined && compareDebianVersions(newest, running) > 0) reasons.push(`running kernel ${running} < installed ${newest}`);
  return { required: reasons.length > 0, reasons };
}
