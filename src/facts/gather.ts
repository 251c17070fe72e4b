import { DETECTION_ORDER, drivers } from "../drivers/registry.ts";
import { TransportError } from "../transport/errors.ts";
import { mapConcurrent } from "../transport/limiter.ts";
import type { HostTarget, Session, Transport } from "../transport/types.ts";
import { EnvironmentError } from "../core/errors.ts";
import { writeCachedFacts } from "./cache.ts";
import { parseBootId, parseDf, parseKernels, parseLoad, parseMeminfo, parseOsRelease, parseServices, parseUptime, UnparsableError } from "./parsers.ts";
import { rebootFacts } from "./reboot.ts";
import { factsResultProblems } from "./schema.ts";
import { factsScript, ForgedOutputError, PLAN_SECTIONS, SECTIONS, splitSections, probeOutput, probeScript, startupOutput, type Section, type SectionName } from "./script.ts";
import type { AppFacts, AppProbe, FactsErrorKind, FactsResult, HostFacts, PackageManager, PlanFacts, PlanFactsResult } from "./types.ts";

/**
 * Output budget of the facts script: room for the package lists of a large host (a
 * desktop with 6,000 packages prints about 1 MiB per list), far short of what would
 * hurt the control machine. Past it the script is killed and the host fails.
 */
export const FACTS_MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

/** Output budget of one app version probe: versions are short lines. */
export const PROBE_MAX_OUTPUT_BYTES = 1024 * 1024;

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
  /**
   * Read the installed, upgradable and held package lists (default true). False leaves
   * them empty (see FactsScriptOptions): for a caller whose decision depends on no
   * package, which then skips the costliest part of the script.
   */
  packageLists?: boolean;
  /** Hosts gathered at once. Default 16. */
  concurrency?: number;
  /** Limit for each command on a host. Default 120 s. */
  timeoutMs?: number;
  /** When set, each result is also written to `<cacheDir>/<host>.json`. */
  cacheDir?: string;
  /** Applied to every string of a result before it is cached: the run's secrets (RunSecrets.redact). */
  redact?: (text: string) => string;
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
    if (options.cacheDir !== undefined) await writeCachedFacts(options.cacheDir, result, options.redact ? { redact: options.redact } : {});
    options.onResult?.(result);
    return result;
  });
  // Only the cache write can reject (gatherHostFacts returns failures as values). A full
  // disk, a read-only or linked cache folder is the machine's problem, not the host's:
  // it stops the command (exit 6) instead of passing for a failed host.
  const environment = settled.find((o): o is PromiseRejectedResult => o.status === "rejected" && o.reason instanceof EnvironmentError);
  if (environment) throw environment.reason;
  return settled.map((outcome, i) => {
    if (outcome.status === "fulfilled") return outcome.value;
    const host = targets[i]?.name ?? "";
    return failure(host, options, "command-failed", String(outcome.reason instanceof Error ? outcome.reason.message : outcome.reason));
  });
}

/**
 * One host over one connection: the refresh (only when asked), the facts script, then
 * the app probes (one command each, run together).
 */
export function gatherHostFacts(target: HostTarget, options: GatherOptions): Promise<FactsResult> {
  return gatherScoped(target, options, "all") as Promise<FactsResult>;
}

/**
 * The facts a plan depends on (PlanFacts), as gatherHostFacts reads them but with only
 * the script's PLAN_SECTIONS: what apply's stale check needs to recompute a host's
 * facts digest (factsDigest) and say what moved, and nothing else. Checked against the
 * facts schema like a full read.
 */
export function gatherPlanFacts(target: HostTarget, options: GatherOptions): Promise<PlanFactsResult> {
  return gatherScoped(target, options, "plan") as Promise<PlanFactsResult>;
}

/**
 * Stand-ins for the facts a plan read leaves out, valid for the facts schema: they are
 * put in only to check the facts that were read with the one schema, and never returned.
 */
const UNREAD: Omit<HostFacts, keyof PlanFacts> = {
  disks: [],
  memory: { totalBytes: 0, availableBytes: 0 },
  load: { one: 0, five: 0, fifteen: 0, cpus: 1 },
  uptimeSeconds: 0,
  bootId: "00000000-0000-0000-0000-000000000000",
  services: {},
};

async function gatherScoped(target: HostTarget, options: GatherOptions, scope: "all" | "plan"): Promise<FactsResult | PlanFactsResult> {
  const services = scope === "all" ? [...(options.services ?? [])].sort() : [];
  const names = scope === "all" ? SECTIONS : PLAN_SECTIONS;
  const timeoutMs = options.timeoutMs ?? 120_000;
  try {
    const session = await options.transport.connect(target);
    try {
      if (options.refresh) {
        const refresh = DETECTION_ORDER.map((m, i) => `${i === 0 ? "if" : "elif"} ${drivers[m].detect}; then ${drivers[m].refresh.command}`).join("; ");
        await session.exec(`${refresh}; fi`, { become: true, timeoutMs, label: "package list refresh" });
      }
      const { script, marker } = factsScript(services, undefined, { packageLists: options.packageLists ?? true, sections: names });
      // On standard input, so neither the script nor its marker is on a command line.
      const output = await session.exec("/bin/sh -s", {
        stdin: script,
        label: "facts script",
        timeoutMs,
        check: false,
        tailBytes: FACTS_MAX_OUTPUT_BYTES,
        maxOutputBytes: FACTS_MAX_OUTPUT_BYTES,
      });
      const sections = splitSections(output.stdout, output.stderr, marker, names);
      const facts: PlanFacts = scope === "all" ? interpret(sections, services) : interpretPlan(sections);
      const startup = Buffer.byteLength(startupOutput(output.stdout, marker), "utf8");
      if (startup > 0) facts.warnings = [...(facts.warnings ?? []), `the login shell printed ${startup} bytes before the facts script started (e.g. from ~/.bashrc); they were not read as facts`];
      const probes = options.apps?.(target) ?? [];
      if (probes.length > 0) facts.apps = await appFacts(session, probes, timeoutMs);
      const result = { host: target.name, ok: true as const, gatheredAt: stamp(options), facts };
      // Every value came from the host: nothing it sent is trusted before it passes the schema.
      const problems = factsResultProblems(scope === "all" ? result : { ...result, facts: { ...UNREAD, ...facts } });
      if (problems.length > 0) return failure(target.name, options, "unparsable", `facts do not pass schemas/facts.schema.json: ${problems.join("; ")}`);
      return result;
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

/**
 * Control characters other than line breaks, and format characters (Unicode Cf: bidi
 * controls such as U+202E, zero-width characters): never kept from a host's text, as
 * schemas/facts.schema.json says.
 */
const CONTROL = /[^\P{Cc}\n]|\p{Cf}/gu;

/** A version as facts keep it: one word, no leading '-' (see the schema's token). */
const VERSION_WORD = /^[^\s\p{Cc}\p{Cf}-][^\s\p{Cc}\p{Cf}]{0,255}$/u;

/**
 * One app's facts from its probes' outputs. `current` keeps what was printed with
 * whitespace runs (line breaks too) as one space, at most 1,024 characters; words of
 * `available` that cannot be versions are dropped and said in `error`; output with
 * control characters is refused. The schema then holds for whatever a probe printed.
 */
function probeFacts(current: { text: string; error?: string }, available: { text: string; error?: string } | undefined): AppFacts {
  const errors = [current.error, available?.error].filter((e): e is string => e !== undefined).map((e) => (e.length > 1000 ? `${e.slice(0, 999)}…` : e).replace(CONTROL, "?"));
  let currentText = current.text.trim().replace(/\s+/g, " ").slice(0, 1024);
  if (/\p{Cc}|\p{Cf}/u.test(currentText)) {
    errors.push("current_version: printed control or format characters");
    currentText = "";
  }
  let versions: string[] | undefined;
  if (available !== undefined) {
    const words = available.text.split(/\s+/).filter((v) => v !== "");
    versions = words.filter((v) => VERSION_WORD.test(v));
    if (versions.length < words.length) errors.push(`available_versions: ${words.length - versions.length} printed word(s) cannot be versions (control or format characters, a leading '-' or over 256 characters)`);
  }
  return { current: currentText, ...(versions !== undefined ? { available: versions } : {}), ...(errors.length > 0 ? { error: errors.join("; ") } : {}) };
}

/** A failed host; host text in the message loses its control characters (terminal escapes). */
function failure(host: string, options: GatherOptions, kind: FactsErrorKind, message: string): FactsResult {
  const clean = message.replace(CONTROL, "?");
  return { host, ok: false, gatheredAt: stamp(options), error: { kind, message: clean.length > 16_384 ? `${clean.slice(0, 16_383)}…` : clean } };
}

/** The transport's typed errors, as the kinds a facts result reports. */
export function errorKind(error: unknown): FactsErrorKind {
  if (error instanceof UnparsableError) return "unparsable";
  if (error instanceof ForgedOutputError) return "forged";
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
    case "output-too-large":
      return "output-too-large";
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

/** The PLAN_SECTIONS' facts, parsed; any section missing or failed throws (the host fails). */
function interpretPlan(sections: ReadonlyMap<string, Section>): PlanFacts {
  const managerText = section(sections, "manager").trim();
  const manager = (DETECTION_ORDER as readonly string[]).includes(managerText) ? (managerText as PackageManager) : null;
  const release = section(sections, "kernel").trim();
  const { kernels: installedKernels, warnings: kernelWarnings } = parseKernels(section(sections, "kernels"));
  let installed: HostFacts["installed"] = [];
  let upgradable: HostFacts["upgradable"] = [];
  if (manager !== null) {
    const driver = drivers[manager];
    installed = driver.parseInstalled(section(sections, "installed", driver.listInstalled.okExitCodes));
    const held = new Set(driver.parseHeld(section(sections, "held", driver.listHeld.okExitCodes)));
    installed = installed.map((p) => (held.has(p.name) ? { ...p, held: true } : p));
    upgradable = driver.parseUpgradable(section(sections, "upgradable", driver.listUpgradable.okExitCodes), installed);
  }
  const facts: PlanFacts = {
    os: parseOsRelease(section(sections, "os")),
    kernel: { release, installed: installedKernels },
    packageManager: manager,
    installed,
    upgradable,
    reboot: rebootFacts(section(sections, "reboot"), release, installedKernels, manager, installed),
  };
  if (kernelWarnings.length > 0) facts.warnings = kernelWarnings;
  return facts;
}

function interpret(sections: ReadonlyMap<string, Section>, services: readonly string[]): HostFacts {
  const { warnings: planWarnings, ...plan } = interpretPlan(sections);
  const disks = parseDf(section(sections, "disks"));
  const facts: HostFacts = {
    ...plan,
    disks: disks.mounts,
    memory: parseMeminfo(section(sections, "memory")),
    load: parseLoad(section(sections, "load")),
    uptimeSeconds: parseUptime(section(sections, "uptime")),
    bootId: parseBootId(section(sections, "boot-id")),
    services: parseServices(section(sections, "services"), services),
  };
  const warnings = [...(planWarnings ?? []), ...disks.warnings];
  if (warnings.length > 0) facts.warnings = warnings;
  return facts;
}

/**
 * Each probed app's versions, or why they are unknown. Every probe is a command of its
 * own, apart from the facts script (it never sees the facts marker, and its output
 * cannot reach a facts section), through become only when the probe asks for it. A
 * failed probe is a value, not a failed host.
 */
async function appFacts(session: Session, probes: readonly AppProbe[], timeoutMs: number): Promise<Record<string, AppFacts>> {
  const entries = await Promise.all(
    probes.map(async (probe): Promise<[string, AppFacts]> => {
      if ("error" in probe) return [probe.app, { current: "", error: probe.error }];
      const run = async (kind: "current_version" | "available_versions", command: string): Promise<{ text: string; error?: string }> => {
        try {
          const result = await session.exec("/bin/sh -s", {
            stdin: probeScript(command),
            label: `${kind} probe of ${probe.app}`,
            become: probe.become === true,
            timeoutMs,
            check: false,
            tailBytes: PROBE_MAX_OUTPUT_BYTES,
            maxOutputBytes: PROBE_MAX_OUTPUT_BYTES,
          });
          const stdout = probeOutput(result.stdout);
          if (result.exitCode === 0) return { text: stdout };
          const said = probeOutput(result.stderr).trim().split("\n").slice(-3).join(" | ");
          return { text: stdout, error: `${kind}: exit ${result.exitCode ?? result.signal ?? "none"}${said ? `: ${said}` : ""}` };
        } catch (error) {
          return { text: "", error: `${kind}: ${error instanceof Error ? error.message : String(error)}` };
        }
      };
      const [current, available] = await Promise.all([run("current_version", probe.current), probe.available === undefined ? undefined : run("available_versions", probe.available)]);
      return [probe.app, probeFacts(current, available)];
    }),
  );
  return Object.fromEntries(entries);
}
