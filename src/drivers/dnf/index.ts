import type { InstalledPackage, UpgradablePackage } from "../../facts/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { PackageDriver, PackageRequest, SimulatedChange } from "../types.ts";
import { checkRequests, hostLines, HostValues } from "../untrusted.ts";
import { grammar } from "./grammar.ts";
import { advisoryPackages, tableRows, type TableRow } from "./table.ts";
import { compareRpmVersions } from "./version.ts";

export { rules, validArch, validName, validSource, validVersion } from "./grammar.ts";

/**
 * dnf (Fedora, RHEL, CentOS Stream, Rocky, Alma), dnf 4 and dnf 5 output. Listings are
 * column tables `name.arch  [epoch:]version-release  repo` (see ./table.ts); a column
 * too wide for the terminal continues its row on the next, indented, line.
 */

export const manager: PackageDriver["manager"] = "dnf";
/** Version order of this manager, for comparing its own versions (kernels too). */
export const compareVersions: PackageDriver["compareVersions"] = compareRpmVersions;
export const detect: PackageDriver["detect"] = "command -v dnf >/dev/null 2>&1";

const C = "LC_ALL=C";
// -q drops the "Last metadata expiration check" chatter; -C reads only the cache (read-only, no network).
export const listInstalled: PackageDriver["listInstalled"] = { command: `${C} dnf -q -C list --installed`, become: false, okExitCodes: [0] };
export const refresh: PackageDriver["refresh"] = { command: `${C} dnf -q makecache --refresh`, become: true, okExitCodes: [0] };

/** Separates check-update's table from the security advisory list in listUpgradable's output. */
export const ADVISORIES_MARKER = "@@steward-dnf-security-advisories@@";

/**
 * check-update (dnf 5: check-upgrade) names no advisories, so the same command also
 * lists the security advisories that apply to newer versions of installed packages,
 * after a marker line. The exit status stays check-update's: 100 when updates exist,
 * 0 when none do. A host whose repositories publish no advisory metadata prints no
 * advisories, and its updates are then marked security only by repository name.
 */
export const listUpgradable: PackageDriver["listUpgradable"] = {
  command: `${C} dnf -q -C check-update; rc=$?; echo '${ADVISORIES_MARKER}'; ${C} dnf -q -C updateinfo list --security 2>/dev/null; (exit $rc)`,
  become: false,
  okExitCodes: [0, 100],
};
export const listHeld: PackageDriver["listHeld"] = { command: `${C} dnf -q versionlock list`, become: false, okExitCodes: [0] };

/** The row, once its name, architecture, version and repository pass rpm's grammar. */
function checkedRow(check: HostValues, row: TableRow): TableRow {
  check.name(row.name, row.line);
  check.arch(row.arch, row.line);
  check.version(row.version, row.line);
  check.source(row.repo, row.line);
  return row;
}

export const parseInstalled: PackageDriver["parseInstalled"] = (stdout) => {
  const check = new HostValues(grammar, "dnf", "installed");
  hostLines("installed", stdout);
  return tableRows(stdout, /^Available [Pp]ackages/)
    .map((row): InstalledPackage => (checkedRow(check, row), { name: row.name, version: row.version, arch: row.arch }))
    .sort((a, b) => a.name.localeCompare(b.name) || (a.arch ?? "").localeCompare(b.arch ?? ""));
};

export const parseUpgradable: PackageDriver["parseUpgradable"] = (stdout, installed) => {
  const check = new HostValues(grammar, "dnf", "upgradable");
  const lines = hostLines("upgradable", stdout);
  const marker = lines.indexOf(ADVISORIES_MARKER);
  const table = marker < 0 ? stdout : lines.slice(0, marker).join("\n");
  const advisories = marker < 0 ? new Set<string>() : advisoryPackages(lines.slice(marker + 1).join("\n"));
  const current = new Map(installed.map((p) => [`${p.name}.${p.arch ?? ""}`, p.version]));
  const byName = new Map(installed.map((p) => [p.name, p.version]));
  const found = new Map<string, UpgradablePackage>();
  // Rows under "Obsoleting Packages" (dnf 5: "Obsoleting packages") repeat packages listed
  // above with what they replace.
  for (const row of tableRows(table, /^Obsoleting [Pp]ackages/)) {
    checkedRow(check, row);
    const security = advisories.has(`${row.name}.${row.arch}`) || /security/i.test(row.repo);
    // One entry per name and candidate: the arches of a multilib package upgrade together.
    const key = `${row.name}\n${row.version}\n${row.repo}`;
    const seen = found.get(key);
    if (seen) {
      seen.security ||= security;
      continue;
    }
    found.set(key, { name: row.name, from: current.get(`${row.name}.${row.arch}`) ?? byName.get(row.name) ?? "", to: row.version, source: row.repo, security });
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
};

/**
 * dnf 4 lists locks as `name-[epoch:]version-release.*`; dnf 5 prints blocks with a
 * `Package name: name` line.
 */
export const parseHeld: PackageDriver["parseHeld"] = (stdout) => {
  const check = new HostValues(grammar, "dnf", "held");
  const names = new Set<string>();
  hostLines("held", stdout).forEach((raw, i) => {
    const line = raw.trim();
    const dnf5 = /^Package name:\s*(\S+)/.exec(line);
    if (dnf5?.[1]) names.add(check.name(dnf5[1], i + 1));
    const dnf4 = /^!?(\S+)-(?:\d+:)?[^-\s]+-[^-\s]+$/.exec(line);
    if (dnf4?.[1] && !line.startsWith("#")) names.add(check.name(dnf4[1], i + 1));
  });
  return [...names].sort();
};

/**
 * `name-[epoch:]version-release[.arch]` specs, checked and shell-quoted. No `--` before
 * them: dnf 4's argparse accepts one, but dnf 5 before 5.4.3 (Fedora 41 to 43, EL 10)
 * rejects it as an unknown argument (rpm-software-management/dnf5#1848), so what keeps
 * a spec from being read as an option is the grammar check, which refuses names that
 * do not start with a letter, digit, `.`, `_` or `+`.
 */
function specs(command: string, packages: readonly PackageRequest[]): string {
  checkRequests(grammar, "dnf", command, packages);
  return packages.map((p) => shellQuote(`${p.name}-${p.version}${p.arch !== undefined ? `.${p.arch}` : ""}`)).join(" ");
}

export const simulateInstall: PackageDriver["simulateInstall"] = (packages) => ({
  // --assumeno resolves and prints the transaction, then answers no: exit 1 by design.
  command: `${C} dnf -C --assumeno install ${specs("dnf install --assumeno", packages)}`,
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
  const check = new HostValues(grammar, "dnf", "simulation");
  const changes: SimulatedChange[] = [];
  let action: SimulatedChange["action"] | undefined;
  let pending: string[] = [];
  const lines = hostLines("simulation", stdout);
  for (const [i, line] of lines.entries()) {
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
    const [name = "", arch = "", version = "", repo = ""] = pending;
    pending = [];
    check.name(name, i + 1);
    check.arch(arch, i + 1);
    check.version(version, i + 1);
    check.source(repo, i + 1);
    const change: SimulatedChange = { name, action };
    if (action === "remove") change.from = version;
    else change.to = version;
    if (action !== "remove") change.source = repo;
    changes.push(change);
  }
  const errors = [...lines, ...hostLines("simulation", stderr)].filter((line) => /^(Error|No match for argument|Problem)/.test(line.trim()));
  return { ok: errors.length === 0, changes, errors };
};

export const install: PackageDriver["install"] = (packages) => ({ command: `${C} dnf -y install ${specs("dnf install", packages)}`, become: true, okExitCodes: [0] });

export const hold: PackageDriver["hold"] = (packages) => ({
  command: `${C} dnf -y versionlock add ${specs("dnf versionlock add", packages)}`,
  become: true,
  okExitCodes: [0],
});
