import type { AvailableVersion, InstalledPackage, UpgradablePackage } from "../../facts/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { InstallOptions, PackageDriver, PackageRequest, SimulatedChange } from "../types.ts";
import { checkRequests, hostLines, HostValues } from "../untrusted.ts";
import { grammar } from "./grammar.ts";
import { compareDebianVersions } from "./version.ts";

export { rules, validArch, validName, validSource, validVersion } from "./grammar.ts";

/**
 * apt/dpkg (Debian, Ubuntu). Output is parsed under LC_ALL=C: apt translates its
 * messages ("upgradable from"), and a translated word would silently match nothing.
 */

export const manager: PackageDriver["manager"] = "apt";
/** Version order of this manager, for comparing its own versions (kernels too). */
export const compareVersions: PackageDriver["compareVersions"] = compareDebianVersions;
export const detect: PackageDriver["detect"] = "command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1";

const C = "LC_ALL=C";
// dpkg-query expands the \t and \n escapes itself; the single quotes keep the shell out.
const FIELDS = "${Package}\\t${Version}\\t${Architecture}\\t${Status}\\n";

export const listInstalled: PackageDriver["listInstalled"] = {
  command: `${C} dpkg-query -W -f='${FIELDS}'`,
  become: false,
  okExitCodes: [0],
};

// dpkg's package states (deb-status(5)); anything else is not dpkg talking.
const DPKG_STATES = new Set(["not-installed", "config-files", "half-installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending", "installed"]);

/**
 * `Status` is "want flag state" (deb-status: "install ok installed", "hold ok
 * half-configured", "install reinstreq half-installed"). Packages dpkg only remembers
 * (config-files, not-installed) are skipped; every other state but "installed", and
 * the reinstreq flag, mark the package as broken. "hold" is how apt-mark records holds.
 */
export const parseInstalled: PackageDriver["parseInstalled"] = (stdout) => {
  const check = new HostValues(grammar, "dpkg", "installed");
  const packages: InstalledPackage[] = [];
  hostLines("installed", stdout).forEach((line, i) => {
    if (line.trim() === "") return;
    const fields = line.split("\t");
    if (fields.length !== 4) check.unexpected(i + 1, line, "package, version, architecture and status separated by tabs");
    const [name = "", version = "", arch = "", status = ""] = fields;
    const [want, flag, state = ""] = status.split(" ");
    if (!DPKG_STATES.has(state)) check.unexpected(i + 1, line, "a dpkg status (want flag state)");
    if (state === "not-installed" || state === "config-files") return;
    const pkg: InstalledPackage = { name: check.name(name, i + 1), version: check.version(version, i + 1) };
    if (arch) pkg.arch = check.arch(arch, i + 1);
    if (want === "hold") pkg.held = true;
    if (flag === "reinstreq") pkg.status = "reinstreq";
    else if (state !== "installed") pkg.status = state;
    packages.push(pkg);
  });
  return packages.sort((a, b) => a.name.localeCompare(b.name) || (a.arch ?? "").localeCompare(b.arch ?? ""));
};

export const refresh: PackageDriver["refresh"] = { command: `${C} apt-get update -q`, become: true, okExitCodes: [0] };

export const listUpgradable: PackageDriver["listUpgradable"] = {
  // apt warns on stderr that its CLI is not stable; the stdout format has been the same since apt 1.0.
  // --all-versions adds every other version the lists know, so the planner can fall back
  // to an older one (the newest minor when the candidate is an unapproved major).
  command: `${C} apt list --upgradable --all-versions`,
  become: false,
  okExitCodes: [0],
};

/** A suite ("bookworm-security", "jammy-security") or origin naming a security archive. */
export function isSecuritySource(source: string): boolean {
  return /security/i.test(source);
}

// name/suite[,suite...] version arch [upgradable from: old] — the candidate
const UPGRADABLE_LINE = /^([^/\s]+)\/(\S*) (\S+) (\S+) \[upgradable from: ([^\]]+)\]$/;
// name/suite[,suite...] version arch — another version in the lists (no bracket)
const VERSION_LINE = /^([^/\s]+)\/(\S*) (\S+) (\S+)$/;

/** Checks a `name/suites version arch` line's values; the suites may be empty. */
function checked(check: HostValues, line: number, name: string, suites: string, version: string, arch: string): void {
  check.name(name, line);
  for (const suite of suites === "" ? [] : suites.split(",")) check.source(suite, line);
  check.version(version, line);
  check.arch(arch, line);
}

/**
 * Parses `apt list --upgradable [--all-versions]`, one entry per name and architecture
 * (a multi-arch host lists `libc6` for amd64 and for i386). With --all-versions, every
 * version strictly newer than the installed one and not newer than the candidate lands
 * in `versions`, newest first, when there is more than the candidate; versions above
 * the candidate (pinned down by apt preferences) and below the installed one are ignored.
 * Every name, suite, version and architecture is checked against dpkg's grammar first.
 */
export const parseUpgradable: PackageDriver["parseUpgradable"] = (stdout) => {
  const check = new HostValues(grammar, "apt", "upgradable");
  const found = new Map<string, UpgradablePackage>();
  const others: Array<{ key: string; version: AvailableVersion }> = [];
  hostLines("upgradable", stdout).forEach((raw, i) => {
    const line = raw.trim();
    const match = UPGRADABLE_LINE.exec(line);
    if (match) {
      const [, name, suites, to, arch, from] = match as unknown as [string, string, string, string, string, string];
      checked(check, i + 1, name, suites, to, arch);
      check.version(from, i + 1);
      const entry: UpgradablePackage = { name, arch, from, to, security: securitySuites(suites) };
      if (suites !== "") entry.source = suites;
      found.set(`${name} ${arch}`, entry);
      return;
    }
    const other = VERSION_LINE.exec(line);
    if (other) {
      const [, name, suites, version, arch] = other as unknown as [string, string, string, string, string];
      checked(check, i + 1, name, suites, version, arch);
      others.push({ key: `${name} ${arch}`, version: { version, security: securitySuites(suites), ...(suites !== "" ? { source: suites } : {}) } });
    }
  });
  for (const { key, version } of others) {
    const pkg = found.get(key);
    if (!pkg || compareDebianVersions(version.version, pkg.from) <= 0 || compareDebianVersions(version.version, pkg.to) >= 0) continue;
    pkg.versions ??= [{ version: pkg.to, security: pkg.security, ...(pkg.source !== undefined ? { source: pkg.source } : {}) }];
    if (!pkg.versions.some((v) => v.version === version.version)) pkg.versions.push(version);
  }
  for (const pkg of found.values()) pkg.versions?.sort((a, b) => compareDebianVersions(b.version, a.version));
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name) || (a.arch ?? "").localeCompare(b.arch ?? ""));
};

const securitySuites = (suites: string): boolean => suites.split(",").some(isSecuritySource);

export const listHeld: PackageDriver["listHeld"] = { command: `${C} apt-mark showhold`, become: false, okExitCodes: [0] };

/**
 * `apt-mark showhold` prints one name a line, `name:arch` for a foreign architecture.
 * A hold on any architecture is reported as a hold of the name: planning leaves every
 * architecture of a held package alone, the conservative reading.
 */
export const parseHeld: PackageDriver["parseHeld"] = (stdout) => {
  const check = new HostValues(grammar, "apt", "held");
  const names = new Set<string>();
  hostLines("held", stdout).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const colon = line.indexOf(":");
    if (colon >= 0) check.arch(line.slice(colon + 1), i + 1);
    names.add(check.name(colon < 0 ? line : line.slice(0, colon), i + 1));
  });
  return [...names].sort();
};

/**
 * `name=version` arguments, `name:arch=version` for a package of one architecture (so a
 * multi-arch package's architectures move together), each checked and shell-quoted.
 */
function pins(command: string, packages: readonly PackageRequest[]): string {
  checkRequests(grammar, "apt", command, packages);
  return packages.map((p) => shellQuote(`${p.name}${p.arch !== undefined && p.arch !== "all" ? `:${p.arch}` : ""}=${p.version}`)).join(" ");
}

const downgrades = (options: InstallOptions | undefined): string => (options?.allowDowngrades === true ? " --allow-downgrades" : "");

/** apt's bounded wait for dpkg's lock (apt >= 1.9.11); a whole number of seconds, checked. */
function lockWait(options: InstallOptions | undefined): string {
  const seconds = options?.lockTimeoutSeconds;
  if (seconds === undefined) return "";
  if (!Number.isInteger(seconds) || seconds < 0) throw new RangeError(`lock timeout must be a whole number of seconds, not ${seconds}`);
  return ` -o DPkg::Lock::Timeout=${seconds}`;
}

export const simulateInstall: PackageDriver["simulateInstall"] = (packages, options) => ({
  // -s needs no root and takes no lock, so it can run while facts are read.
  // apt's command line parser ends options at `--`: packages after it are never options.
  command: `${C} apt-get -s -q install${downgrades(options)} -- ${pins("apt-get -s install", packages)}`,
  become: false,
  okExitCodes: [0],
});

// Inst name [old] (new origin [arch]) | Remv name [old]
const INST = /^Inst (\S+)(?: \[([^\]]+)\])? \((\S+)(?: (.+?))? \[[^\]]+\]\)/;
const REMV = /^Remv (\S+)(?: \[([^\]]+)\])?/;

/** A name as apt-get prints it in a simulation: `libc6` or, for a foreign architecture, `libc6:i386`. */
function qualifiedName(check: HostValues, text: string, line: number): string {
  const colon = text.indexOf(":");
  if (colon >= 0) check.arch(text.slice(colon + 1), line);
  check.name(colon < 0 ? text : text.slice(0, colon), line);
  return text;
}

/**
 * Reads `apt-get -s` output: `Inst` and `Remv` lines, and `E:` errors. Names and
 * versions are checked against dpkg's grammar, and both streams for control characters.
 */
export const parseSimulation: PackageDriver["parseSimulation"] = ({ stdout, stderr, exitCode }) => {
  const check = new HostValues(grammar, "apt", "simulation");
  const changes: SimulatedChange[] = [];
  const lines = hostLines("simulation", stdout);
  lines.forEach((line, i) => {
    const inst = INST.exec(line);
    if (inst) {
      const [, name = "", from, to = "", source] = inst;
      qualifiedName(check, name, i + 1);
      check.version(to, i + 1);
      if (from !== undefined) check.version(from, i + 1);
      const order = from === undefined ? 1 : compareDebianVersions(to, from);
      const change: SimulatedChange = { name, action: from === undefined ? "install" : order > 0 ? "upgrade" : order < 0 ? "downgrade" : "reinstall", to };
      if (from !== undefined) change.from = from;
      if (source !== undefined) change.source = source;
      changes.push(change);
      return;
    }
    const remv = REMV.exec(line);
    if (remv) {
      const change: SimulatedChange = { name: qualifiedName(check, remv[1] ?? "", i + 1), action: "remove" };
      if (remv[2] !== undefined) change.from = check.version(remv[2], i + 1);
      changes.push(change);
    }
  });
  const errors = [...lines, ...hostLines("simulation", stderr)].filter((line) => /^E: /.test(line));
  return { ok: exitCode === 0 && errors.length === 0, changes, errors };
};

const INSTALL = "apt-get install";

export const install: PackageDriver["install"] = (packages, options) => ({
  // Keep changed config files and never prompt: there is nobody to answer on a remote host.
  command: `${C} DEBIAN_FRONTEND=noninteractive apt-get install -y -q${downgrades(options)}${lockWait(options)} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- ${pins(INSTALL, packages)}`,
  become: true,
  okExitCodes: [0],
});

/** `apt-mark hold -- name…`; a package of one architecture is held as `name:arch`. */
export const hold: PackageDriver["hold"] = (packages) => {
  checkRequests(grammar, "apt", "apt-mark hold", packages);
  const names = packages.map((p) => shellQuote(p.arch !== undefined && p.arch !== "all" ? `${p.name}:${p.arch}` : p.name));
  return { command: `${C} apt-mark hold -- ${names.join(" ")}`, become: true, okExitCodes: [0] };
};
