import type { AvailableVersion, InstalledPackage, UpgradablePackage } from "../../facts/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { PackageDriver, PackageRequest, SimulatedChange } from "../types.ts";
import { checkRequests, hostLines, HostValues } from "../untrusted.ts";
import { grammar } from "./grammar.ts";
import { advisoryVersions, tableRows, type TableRow } from "./table.ts";
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

/** Separates check-update's table from the list of every newer version in listUpgradable's output. */
export const VERSIONS_MARKER = "@@steward-dnf-upgrade-versions@@";
/** Separates that list from the security advisory list in listUpgradable's output. */
export const ADVISORIES_MARKER = "@@steward-dnf-security-advisories@@";

/**
 * check-update (dnf 5: check-upgrade) names only each package's candidate and no
 * advisories, so the same command also lists every newer version the repositories
 * offer (`repoquery --upgrades`, in check-update's `name.arch evr repo` shape; dnf 4
 * ends each line itself and adds the format's `\n`, dnf 5 needs it) and the security
 * advisories that apply to newer versions of installed packages, each after a marker
 * line. The exit status stays check-update's: 100 when updates exist, 0 when none do
 * (dnf(8), check-update). A host whose repositories publish no advisory metadata prints
 * no advisories, and its updates are then marked security only by repository name.
 */
export const listUpgradable: PackageDriver["listUpgradable"] = {
  command: [
    `${C} dnf -q -C check-update; rc=$?`,
    `echo '${VERSIONS_MARKER}'`,
    `${C} dnf -q -C repoquery --upgrades --qf '%{name}.%{arch} %{evr} %{repoid}\\n' 2>/dev/null`,
    `echo '${ADVISORIES_MARKER}'`,
    `${C} dnf -q -C updateinfo list --security 2>/dev/null`,
    "(exit $rc)",
  ].join("; "),
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

/** The part of listUpgradable's output between `start` (or the beginning) and the next marker. */
function part(lines: readonly string[], start: string | undefined): string | undefined {
  const from = start === undefined ? 0 : lines.indexOf(start) + 1;
  if (start !== undefined && from === 0) return undefined;
  let to = lines.length;
  for (const marker of [VERSIONS_MARKER, ADVISORIES_MARKER]) {
    const at = lines.indexOf(marker, from);
    if (at >= 0 && at < to) to = at;
  }
  return lines.slice(from, to).join("\n");
}

/**
 * Parses listUpgradable's output (a bare check-update table too): one entry per name
 * and candidate. An update is security when an advisory names its package or its
 * repository is named for security. With the version list, every version newer than
 * the installed one and not newer than the candidate lands in `versions`, newest
 * first, when there is more than the candidate; each of them is security when an
 * advisory names that version of the package or an older one still newer than the
 * installed version (an update carries the fixes of the versions before it).
 */
export const parseUpgradable: PackageDriver["parseUpgradable"] = (stdout, installed) => {
  const check = new HostValues(grammar, "dnf", "upgradable");
  const lines = hostLines("upgradable", stdout);
  const table = part(lines, undefined) ?? "";
  const offered = part(lines, VERSIONS_MARKER);
  const advisories = advisoryVersions(part(lines, ADVISORIES_MARKER) ?? "");
  const current = new Map(installed.map((p) => [`${p.name}.${p.arch ?? ""}`, p.version]));
  const byName = new Map(installed.map((p) => [p.name, p.version]));
  const found = new Map<string, UpgradablePackage & { key: string }>();
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
    found.set(key, { key: `${row.name}.${row.arch}`, name: row.name, from: current.get(`${row.name}.${row.arch}`) ?? byName.get(row.name) ?? "", to: row.version, source: row.repo, security });
  }
  if (offered !== undefined) addVersions(check, [...found.values()], tableRows(offered), advisories);
  return [...found.values()].map(({ key: _key, ...pkg }) => pkg).sort((a, b) => a.name.localeCompare(b.name));
};

/** Fills `versions` of each package from repoquery's rows (see parseUpgradable). */
function addVersions(check: HostValues, packages: ReadonlyArray<UpgradablePackage & { key: string }>, rows: readonly TableRow[], advisories: ReadonlyMap<string, string[]>): void {
  for (const pkg of packages) {
    const newer = (v: string): boolean => pkg.from === "" || compareRpmVersions(v, pkg.from) > 0;
    const fixes = (advisories.get(pkg.key) ?? []).filter(newer);
    const versions: AvailableVersion[] = [];
    for (const row of rows) {
      if (`${row.name}.${row.arch}` !== pkg.key) continue;
      checkedRow(check, row);
      if (!newer(row.version) || compareRpmVersions(row.version, pkg.to) > 0 || versions.some((v) => v.version === row.version)) continue;
      const security = fixes.some((fixed) => compareRpmVersions(fixed, row.version) <= 0) || /security/i.test(row.repo);
      versions.push({ version: row.version, source: row.repo, security });
    }
    if (versions.length < 2) continue;
    pkg.versions = versions.sort((a, b) => compareRpmVersions(b.version, a.version));
  }
}

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
  // dnf 4 refuses install to a user who is not root even with --assumeno ("This command
  // has to be run with superuser privileges", exit 1), so the simulation needs root.
  command: `${C} dnf -C --assumeno install ${specs("dnf install --assumeno", packages)}`,
  become: true,
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

// rpm's own words (lib/rpmscript.c), which dnf 4 passes on: "warning: %post(NEVRA)
// scriptlet failed, exit status 1" (or "…, signal 9"); dnf adds "Error in POSTIN
// scriptlet in rpm package NAME" on stderr. The package part is kept to rpm's characters.
const RPM_SCRIPTLET = /^warning: (%[a-z]+)\(([A-Za-z0-9._+:~^-]{1,300})\) scriptlet failed, (exit status \d{1,3}|signal \d{1,3})$/;
const DNF_SCRIPTLET = /^Error in ([A-Z]+) scriptlet in rpm package ([A-Za-z0-9._+-]{1,256})$/;

/**
 * Failing scriptlets of a transaction: a %pre failure stops its package (dnf exits 1),
 * but a failing %post, %preun, %postun or trigger leaves the transaction "Complete!" and
 * dnf exits 0, the package installed and its configuration not done.
 */
export const scriptletFailures: NonNullable<PackageDriver["scriptletFailures"]> = ({ stdout, stderr }) => {
  const rpm: string[] = [];
  const dnf: string[] = [];
  // Only lines whose every character the patterns allow are read, so a scriptlet's own
  // output (anything at all) is never refused or repeated.
  for (const line of `${stdout}\n${stderr}`.split("\n")) {
    const r = RPM_SCRIPTLET.exec(line.trim());
    if (r) rpm.push(`${r[1]}(${r[2]}) scriptlet failed, ${r[3]}`);
    const d = DNF_SCRIPTLET.exec(line.trim());
    if (d) dnf.push(`${d[1]} scriptlet of ${d[2]} failed`);
  }
  return [...new Set(rpm.length > 0 ? rpm : dnf)];
};

export const install: PackageDriver["install"] = (packages) => ({ command: `${C} dnf -y install ${specs("dnf install", packages)}`, become: true, okExitCodes: [0] });

export const hold: PackageDriver["hold"] = (packages) => ({
  command: `${C} dnf -y versionlock add ${specs("dnf versionlock add", packages)}`,
  become: true,
  okExitCodes: [0],
});
