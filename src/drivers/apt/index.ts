import type { AvailableVersion, InstalledPackage, UpgradablePackage } from "../../facts/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { PackageDriver, PackageRequest, SimulatedChange } from "../types.ts";
import { compareDebianVersions } from "./version.ts";

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

/**
 * `Status` is "want flag state" (deb-status: "install ok installed", "hold ok
 * half-configured", "install reinstreq half-installed"). Packages dpkg only remembers
 * (config-files, not-installed) are skipped; every other state but "installed", and
 * the reinstreq flag, mark the package as broken. "hold" is how apt-mark records holds.
 */
export const parseInstalled: PackageDriver["parseInstalled"] = (stdout) => {
  const packages: InstalledPackage[] = [];
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const [name, version, arch, status] = line.split("\t");
    if (name === undefined || version === undefined || status === undefined) continue;
    const [want, flag, state] = status.split(" ");
    if (state === undefined || state === "not-installed" || state === "config-files") continue;
    const pkg: InstalledPackage = { name, version };
    if (arch) pkg.arch = arch;
    if (want === "hold") pkg.held = true;
    if (flag === "reinstreq") pkg.status = "reinstreq";
    else if (state !== "installed") pkg.status = state;
    packages.push(pkg);
  }
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

/**
 * Parses `apt list --upgradable [--all-versions]`. With --all-versions, every version
 * strictly newer than the installed one and not newer than the candidate lands in
 * `versions`, newest first, when there is more than the candidate; versions above the
 * candidate (pinned down by apt preferences) and below the installed one are ignored.
 */
export const parseUpgradable: PackageDriver["parseUpgradable"] = (stdout) => {
  const found = new Map<string, UpgradablePackage>();
  const others: Array<{ key: string; version: AvailableVersion }> = [];
  for (const raw of stdout.split("\n")) {
    const line = raw.trim();
    const match = UPGRADABLE_LINE.exec(line);
    if (match) {
      const [, name, suites, to, arch, from] = match as unknown as [string, string, string, string, string, string];
      const entry: UpgradablePackage = { name, from, to, security: securitySuites(suites) };
      if (suites !== "") entry.source = suites;
      found.set(`${name} ${arch}`, entry);
      continue;
    }
    const other = VERSION_LINE.exec(line);
    if (other) {
      const [, name, suites, version, arch] = other as unknown as [string, string, string, string, string];
      others.push({ key: `${name} ${arch}`, version: { version, security: securitySuites(suites), ...(suites !== "" ? { source: suites } : {}) } });
    }
  }
  for (const { key, version } of others) {
    const pkg = found.get(key);
    if (!pkg || compareDebianVersions(version.version, pkg.from) <= 0 || compareDebianVersions(version.version, pkg.to) >= 0) continue;
    pkg.versions ??= [{ version: pkg.to, security: pkg.security, ...(pkg.source !== undefined ? { source: pkg.source } : {}) }];
    if (!pkg.versions.some((v) => v.version === version.version)) pkg.versions.push(version);
  }
  for (const pkg of found.values()) pkg.versions?.sort((a, b) => compareDebianVersions(b.version, a.version));
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
};

const securitySuites = (suites: string): boolean => suites.split(",").some(isSecuritySource);

export const listHeld: PackageDriver["listHeld"] = { command: `${C} apt-mark showhold`, become: false, okExitCodes: [0] };

export const parseHeld: PackageDriver["parseHeld"] = (stdout) =>
  stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => /^[a-z0-9][a-z0-9+.:-]*$/.test(line))
    .sort();

function pins(packages: readonly PackageRequest[]): string {
  return packages.map((p) => shellQuote(`${p.name}=${p.version}`)).join(" ");
}

export const simulateInstall: PackageDriver["simulateInstall"] = (packages) => ({
  // -s needs no root and takes no lock, so it can run while facts are read.
  command: `${C} apt-get -s -q install --allow-downgrades ${pins(packages)}`,
  become: false,
  okExitCodes: [0],
});

// Inst name [old] (new origin [arch]) | Remv name [old]
const INST = /^Inst (\S+)(?: \[([^\]]+)\])? \((\S+)(?: (.+?))? \[[^\]]+\]\)/;
const REMV = /^Remv (\S+)(?: \[([^\]]+)\])?/;

export const parseSimulation: PackageDriver["parseSimulation"] = ({ stdout, stderr, exitCode }) => {
  const changes: SimulatedChange[] = [];
  for (const line of stdout.split("\n")) {
    const inst = INST.exec(line);
    if (inst) {
      const [, name = "", from, to = "", source] = inst;
      const order = from === undefined ? 1 : compareDebianVersions(to, from);
      const change: SimulatedChange = { name, action: from === undefined ? "install" : order > 0 ? "upgrade" : order < 0 ? "downgrade" : "reinstall", to };
      if (from !== undefined) change.from = from;
      if (source !== undefined) change.source = source;
      changes.push(change);
      continue;
    }
    const remv = REMV.exec(line);
    if (remv) {
      const change: SimulatedChange = { name: remv[1] ?? "", action: "remove" };
      if (remv[2] !== undefined) change.from = remv[2];
      changes.push(change);
    }
  }
  const errors = `${stdout}\n${stderr}`.split("\n").filter((line) => /^E: /.test(line));
  return { ok: exitCode === 0 && errors.length === 0, changes, errors };
};

export const install: PackageDriver["install"] = (packages) => ({
  // Keep changed config files and never prompt: there is nobody to answer on a remote host.
  command: `${C} DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold ${pins(packages)}`,
  become: true,
  okExitCodes: [0],
});

export const hold: PackageDriver["hold"] = (packages) => ({
  command: `${C} apt-mark hold ${packages.map((p) => shellQuote(p.name)).join(" ")}`,
  become: true,
  okExitCodes: [0],
});
