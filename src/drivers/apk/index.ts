import type { InstalledPackage, UpgradablePackage } from "../../facts/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { PackageDriver, PackageRequest, SimulatedChange } from "../types.ts";
import { compareApkVersions } from "./version.ts";

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
  const packages: InstalledPackage[] = [];
  for (const line of stdout.split("\n")) {
    // Warnings such as "WARNING: opening ...: No such file" share stdout with the list.
    if (/^WARNING|^ERROR/.test(line)) continue;
    const split = splitNameVersion(line);
    if (split) packages.push(split);
  }
  return packages.sort((a, b) => a.name.localeCompare(b.name));
};

// `name-installed  < available [tag]`, padded to a column; the header "Installed: Available:" is skipped.
const VERSION_LINE = /^(\S+)\s+<\s+(\S+)(?:\s+(\S+))?\s*$/;

export const parseUpgradable: PackageDriver["parseUpgradable"] = (stdout) => {
  const found: UpgradablePackage[] = [];
  for (const line of stdout.split("\n")) {
    const match = VERSION_LINE.exec(line);
    if (!match) continue;
    const split = splitNameVersion(match[1] ?? "");
    if (!split) continue;
    const entry: UpgradablePackage = { name: split.name, from: split.version, to: match[2] ?? "", security: false };
    // The tag is empty for the default repositories and `@name` for tagged ones.
    if (match[3]) entry.source = match[3];
    found.push(entry);
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
};

/**
 * World constraints that fix one package: `name=version` (also `name@tag=version`), and
 * `name><Q1...`, the checksum pin apk writes for a package added from a file. Range
 * (`<`, `>`, `~`) and bare constraints leave upgrades free.
 */
export const parseHeld: PackageDriver["parseHeld"] = (stdout) =>
  stdout
    .split(/\s+/)
    .map((entry) => /^([^=<>~@\s]+)(?:@[^=<>~\s]+)?(?:=|><)/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();

function pins(packages: readonly PackageRequest[]): string {
  return packages.map((p) => shellQuote(`${p.name}=${p.version}`)).join(" ");
}

export const simulateInstall: PackageDriver["simulateInstall"] = (packages) => ({ command: `apk add --simulate ${pins(packages)}`, become: false, okExitCodes: [0] });

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
  const changes: SimulatedChange[] = [];
  for (const line of stdout.split("\n")) {
    const match = STEP.exec(line.trim());
    if (!match) continue;
    const action = ACTION[match[1] ?? ""] ?? "install";
    const [before = "", after] = (match[3] ?? "").split(" -> ");
    const change: SimulatedChange = { name: match[2] ?? "", action };
    if (after !== undefined) {
      change.from = before;
      change.to = after;
    } else if (action === "remove") change.from = before;
    else change.to = before;
    changes.push(change);
  }
  const errors = `${stdout}\n${stderr}`.split("\n").filter((line) => /^ERROR:|^\s+\S+ \(no such package\)|unable to select packages/.test(line)).map((l) => l.trim());
  return { ok: exitCode === 0 && errors.length === 0, changes, errors };
};

export const install: PackageDriver["install"] = (packages) => ({ command: `apk add ${pins(packages)}`, become: true, okExitCodes: [0] });

/** Pins in the world file: later `apk upgrade` keeps these versions. */
export const hold: PackageDriver["hold"] = (packages) => ({ command: `apk add ${pins(packages)}`, become: true, okExitCodes: [0] });
