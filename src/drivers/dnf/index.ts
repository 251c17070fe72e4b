import type { InstalledPackage, UpgradablePackage } from "../../facts/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { PackageDriver, PackageRequest, SimulatedChange } from "../types.ts";

/**
 * dnf (Fedora, RHEL, CentOS Stream, Rocky, Alma), dnf 4 and dnf 5 output. Listings are
 * column tables `name.arch  [epoch:]version-release  repo`; a name too long for its
 * column pushes the rest of the row onto the next line, so rows are read as a stream
 * of whitespace-separated fields rather than line by line.
 */

export const manager: PackageDriver["manager"] = "dnf";
export const detect: PackageDriver["detect"] = "command -v dnf >/dev/null 2>&1";

const C = "LC_ALL=C";
// -q drops the "Last metadata expiration check" chatter; -C reads only the cache (read-only, no network).
export const listInstalled: PackageDriver["listInstalled"] = { command: `${C} dnf -q -C list --installed`, become: false, okExitCodes: [0] };
export const refresh: PackageDriver["refresh"] = { command: `${C} dnf -q makecache --refresh`, become: true, okExitCodes: [0] };
// check-update exits 100 when updates exist and 0 when none do.
export const listUpgradable: PackageDriver["listUpgradable"] = { command: `${C} dnf -q -C check-update`, become: false, okExitCodes: [0, 100] };
export const listHeld: PackageDriver["listHeld"] = { command: `${C} dnf -q versionlock list`, become: false, okExitCodes: [0] };

const SECTION_END = /^(Obsoleting Packages|Security:|Installed Packages|Available Packages|Installed packages|Available packages|Upgrades|Extra Packages)/;

/** Rows of a `name.arch version repo` table, rejoined when the name wrapped. */
function tableRows(stdout: string, stopAt?: RegExp): Array<{ name: string; arch: string; version: string; repo: string }> {
  const rows: Array<{ name: string; arch: string; version: string; repo: string }> = [];
  let pending: string[] = [];
  for (const line of stdout.split("\n")) {
    if (stopAt?.test(line)) break;
    if (/^(Last metadata|Installed Packages|Installed packages|Available Packages|Updating and loading|Repositories loaded)/.test(line) || line.trim() === "") continue;
    pending.push(...line.trim().split(/\s+/));
    if (pending.length < 3) continue;
    const [nameArch = "", version = "", repo = ""] = pending;
    pending = [];
    const dot = nameArch.lastIndexOf(".");
    if (dot <= 0) continue;
    rows.push({ name: nameArch.slice(0, dot), arch: nameArch.slice(dot + 1), version, repo });
  }
  return rows;
}

export const parseInstalled: PackageDriver["parseInstalled"] = (stdout) =>
  tableRows(stdout)
    .map((row): InstalledPackage => ({ name: row.name, version: row.version, arch: row.arch }))
    .sort((a, b) => a.name.localeCompare(b.name) || (a.arch ?? "").localeCompare(b.arch ?? ""));

export const parseUpgradable: PackageDriver["parseUpgradable"] = (stdout, installed) => {
  const current = new Map(installed.map((p) => [`${p.name}.${p.arch ?? ""}`, p.version]));
  const byName = new Map(installed.map((p) => [p.name, p.version]));
  // Rows under "Obsoleting Packages" repeat packages listed above with what they replace.
  return tableRows(stdout, /^Obsoleting Packages/)
    .map((row): UpgradablePackage => ({
      name: row.name,
      from: current.get(`${row.name}.${row.arch}`) ?? byName.get(row.name) ?? "",
      to: row.version,
      source: row.repo,
      // check-update does not name advisories; a repository named for security is the only sign here.
      security: /security/i.test(row.repo),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
};

/**
 * dnf 4 lists locks as `name-[epoch:]version-release.*`; dnf 5 prints blocks with a
 * `Package name: name` line.
 */
export const parseHeld: PackageDriver["parseHeld"] = (stdout) => {
  const names = new Set<string>();
  for (const raw of stdout.split("\n")) {
    const line = raw.trim();
    const dnf5 = /^Package name:\s*(\S+)/.exec(line);
    if (dnf5?.[1]) names.add(dnf5[1]);
    const dnf4 = /^!?(\S+)-(?:\d+:)?[^-\s]+-[^-\s]+$/.exec(line);
    if (dnf4?.[1] && !line.startsWith("#")) names.add(dnf4[1]);
  }
  return [...names].sort();
};

function specs(packages: readonly PackageRequest[]): string {
  return packages.map((p) => shellQuote(`${p.name}-${p.version}`)).join(" ");
}

export const simulateInstall: PackageDriver["simulateInstall"] = (packages) => ({
  // --assumeno resolves and prints the transaction, then answers no: exit 1 by design.
  command: `${C} dnf -C --assumeno install ${specs(packages)}`,
  become: false,
  okExitCodes: [0, 1],
});

const ACTIONS: ReadonlyArray<[RegExp, SimulatedChange["action"]]> = [
  [/^Install/, "install"],
  [/^Upgrad/, "upgrade"],
  [/^Downgrad/, "downgrade"],
  [/^Reinstall/, "reinstall"],
  [/^Remov/, "remove"],
];

/** Reads the transaction table: section headers ("Upgrading:") then ` name arch version repo size` rows. */
export const parseSimulation: PackageDriver["parseSimulation"] = ({ stdout, stderr }) => {
  const changes: SimulatedChange[] = [];
  let action: SimulatedChange["action"] | undefined;
  let pending: string[] = [];
  for (const line of stdout.split("\n")) {
    if (/^Transaction Summary/.test(line)) break;
    const header = /^([A-Z][a-z].*):\s*$/.exec(line);
    if (header) {
      action = ACTIONS.find(([re]) => re.test(header[1] ?? ""))?.[1];
      pending = [];
      continue;
    }
    if (action === undefined || !/^\s/.test(line) || /^\s*(replacing|Package\s)/.test(line)) continue;
    pending.push(...line.trim().split(/\s+/));
    if (pending.length < 4) continue;
    const [name = "", , version = "", repo = ""] = pending;
    pending = [];
    const change: SimulatedChange = { name, action };
    if (action === "remove") change.from = version;
    else change.to = version;
    if (action !== "remove") change.source = repo;
    changes.push(change);
  }
  const errors = `${stdout}\n${stderr}`.split("\n").filter((line) => /^(Error|No match for argument|Problem)/.test(line.trim()));
  return { ok: errors.length === 0, changes, errors };
};

export const install: PackageDriver["install"] = (packages) => ({ command: `${C} dnf -y install ${specs(packages)}`, become: true, okExitCodes: [0] });

export const hold: PackageDriver["hold"] = (packages) => ({
  command: `${C} dnf -y versionlock add ${specs(packages)}`,
  become: true,
  okExitCodes: [0],
});
