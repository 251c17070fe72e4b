import type { InstalledPackage, UpgradablePackage } from "../../facts/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { PackageDriver, PackageRequest, SimulatedChange } from "../types.ts";
import { checkRequests, hostLines, HostValues } from "../untrusted.ts";
import { grammar } from "./grammar.ts";
import { compareApkVersions } from "./version.ts";

export { rules, validArch, validName, validSource, validVersion } from "./grammar.ts";

/**
 * apk (Alpine). apk prints packages as `name-version` with no separator of its own;
 * the version is the part from the last `-` that is followed by a digit and ends in
 * the release `-rN`, which is how apk-tools itself splits them.
 */

export const manager: PackageDriver["manager"] = "apk";
/** Version order of this manager, for comparing its own versions (kernels too). */
export const compareVersions: PackageDriver["compareVersions"] = compareApkVersions;
export const detect: PackageDriver["detect"] = "command -v apk >/dev/null 2>&1";

export const listInstalled: PackageDriver["listInstalled"] = { command: "apk info -v", become: false, okExitCodes: [0] };
export const refresh: PackageDriver["refresh"] = { command: "apk update -q", become: true, okExitCodes: [0] };
export const listUpgradable: PackageDriver["listUpgradable"] = { command: "apk version -l '<'", become: false, okExitCodes: [0] };
// Holds are world entries pinned to one package (`name=1.2-r0`); apk has no other lock.
export const listHeld: PackageDriver["listHeld"] = { command: "cat /etc/apk/world", become: false, okExitCodes: [0] };

/** Splits `musl-1.2.4-r2` into name and version; undefined when it has no version. */
export function splitNameVersion(text: string): { name: string; version: string } | undefined {
  const match = /^(.+?)-(\d[^-]*-r\d+)$/.exec(text.trim());
  if (!match) return undefined;
  return { name: match[1] ?? "", version: match[2] ?? "" };
}

export const parseInstalled: PackageDriver["parseInstalled"] = (stdout) => {
  const check = new HostValues(grammar, "apk", "installed");
  const packages: InstalledPackage[] = [];
  hostLines("installed", stdout).forEach((line, i) => {
    // Warnings such as "WARNING: opening ...: No such file" share stdout with the list.
    if (/^WARNING|^ERROR/.test(line) || line.trim() === "") return;
    const split = splitNameVersion(line);
    if (!split) return check.unexpected(i + 1, line, "name-version-rN");
    packages.push({ name: check.name(split.name, i + 1), version: check.version(split.version, i + 1) });
  });
  return packages.sort((a, b) => a.name.localeCompare(b.name));
};

// `name-installed  < available [tag]`, padded to a column; the header "Installed: Available:" is skipped.
const VERSION_LINE = /^(\S+)\s+<\s+(\S+)(?:\s+(\S+))?\s*$/;

export const parseUpgradable: PackageDriver["parseUpgradable"] = (stdout) => {
  const check = new HostValues(grammar, "apk", "upgradable");
  const found: UpgradablePackage[] = [];
  hostLines("upgradable", stdout).forEach((line, i) => {
    const match = VERSION_LINE.exec(line);
    if (!match) return;
    const split = splitNameVersion(match[1] ?? "");
    if (!split) return check.unexpected(i + 1, line, "name-version-rN < version");
    const entry: UpgradablePackage = { name: check.name(split.name, i + 1), from: check.version(split.version, i + 1), to: check.version(match[2] ?? "", i + 1), security: false };
    // The tag is empty for the default repositories and `@name` for tagged ones.
    if (match[3]) entry.source = check.source(match[3], i + 1);
    found.push(entry);
  });
  return found.sort((a, b) => a.name.localeCompare(b.name));
};

/**
 * World constraints that fix one package: `name=version` (also `name@tag=version`), and
 * `name><Q1...`, the checksum pin apk writes for a package added from a file. Range
 * (`<`, `>`, `~`) and bare constraints leave upgrades free.
 */
export const parseHeld: PackageDriver["parseHeld"] = (stdout) => {
  const check = new HostValues(grammar, "apk", "held");
  const names: string[] = [];
  hostLines("held", stdout).forEach((line, i) => {
    for (const entry of line.split(/\s+/)) {
      const name = /^([^=<>~@\s]+)(?:@[^=<>~\s]+)?(?:=|><)/.exec(entry)?.[1];
      if (name !== undefined) names.push(check.name(name, i + 1));
    }
  });
  return names.sort();
};

/**
 * `-- name=version…`, checked and shell-quoted. apk-tools parses options with
 * getopt_long (src/apk.c), which ends them at `--`. apk has one architecture per
 * root, so a request's arch is not part of the pin.
 */
function pins(command: string, packages: readonly PackageRequest[]): string {
  checkRequests(grammar, "apk", command, packages);
  return `-- ${packages.map((p) => shellQuote(`${p.name}=${p.version}`)).join(" ")}`;
}

export const simulateInstall: PackageDriver["simulateInstall"] = (packages) => ({ command: `apk add --simulate ${pins("apk add --simulate", packages)}`, become: false, okExitCodes: [0] });

// (1/3) Upgrading musl (1.2.4-r1 -> 1.2.4-r2) | (2/3) Installing foo (1.0-r0) | (3/3) Purging bar (2.0-r1)
const STEP = /^\(\d+\/\d+\) (Installing|Upgrading|Downgrading|Replacing|Reinstalling|Purging|Removing) (\S+) \(([^)]*)\)/;
const ACTION: Readonly<Record<string, SimulatedChange["action"]>> = {
  Installing: "install",
  Upgrading: "upgrade",
  Downgrading: "downgrade",
  Replacing: "reinstall",
  Reinstalling: "reinstall",
  Purging: "remove",
  Removing: "remove",
};

export const parseSimulation: PackageDriver["parseSimulation"] = ({ stdout, stderr, exitCode }) => {
  const check = new HostValues(grammar, "apk", "simulation");
  const changes: SimulatedChange[] = [];
  const lines = hostLines("simulation", stdout);
  for (const [i, line] of lines.entries()) {
    const match = STEP.exec(line.trim());
    if (!match) continue;
    const action = ACTION[match[1] ?? ""] ?? "install";
    const [before = "", after] = (match[3] ?? "").split(" -> ");
    check.version(before, i + 1);
    if (after !== undefined) check.version(after, i + 1);
    const change: SimulatedChange = { name: check.name(match[2] ?? "", i + 1), action };
    if (after !== undefined) {
      change.from = before;
      change.to = after;
    } else if (action === "remove") change.from = before;
    else change.to = before;
    changes.push(change);
  }
  const errors = [...lines, ...hostLines("simulation", stderr)].filter((line) => /^ERROR:|^\s+\S+ \(no such package\)|unable to select packages/.test(line)).map((l) => l.trim());
  return { ok: exitCode === 0 && errors.length === 0, changes, errors };
};

export const install: PackageDriver["install"] = (packages) => ({ command: `apk add ${pins("apk add", packages)}`, become: true, okExitCodes: [0] });

/** Pins in the world file: later `apk upgrade` keeps these versions. */
export const hold: PackageDriver["hold"] = (packages) => ({ command: `apk add ${pins("apk add", packages)}`, become: true, okExitCodes: [0] });
