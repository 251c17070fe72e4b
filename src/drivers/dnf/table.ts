/**
 * Reading dnf's package tables: `name.arch  [epoch:]version-release  repo`, as
 * `dnf list --installed` and `dnf check-update` (dnf 4) or `dnf check-upgrade` (dnf 5)
 * print them, and the package lists of `dnf updateinfo list`.
 */

export interface TableRow {
  /** 1-based line the row starts on. */
  line: number;
  name: string;
  arch: string;
  version: string;
  repo: string;
}

const NAME_ARCH = /^(\S+)\.([^.\s]+)$/;

function toRow(fields: readonly string[], line: number): TableRow | undefined {
  if (fields.length !== 3) return undefined;
  const [nameArch = "", version = "", repo = ""] = fields;
  const split = NAME_ARCH.exec(nameArch);
  // dnf prints version-release, so a version without a dash is not a package row.
  if (!split || !version.includes("-")) return undefined;
  return { line, name: split[1] ?? "", arch: split[2] ?? "", version, repo };
}

/**
 * Rows of a `name.arch version repo` table, up to the first line `stopAt` matches.
 *
 * A row starts at column 0. When a column is too wide for the terminal, dnf 4 ends the
 * line and continues the row on the next one, indented to the next column, so indented
 * lines extend the row above. Everything that does not form exactly three fields of the
 * right shape is skipped: section titles ("Installed Packages", dnf 5's "Upgrades"),
 * repository download lines, "Last metadata expiration check: ...", dnf 4's
 * "Security: ..." notes.
 */
export function tableRows(stdout: string, stopAt?: RegExp): TableRow[] {
  const rows: TableRow[] = [];
  let fields: string[] = [];
  let start = 0;
  for (const [i, line] of stdout.split("\n").entries()) {
    if (stopAt?.test(line)) break;
    const words = line.trim().split(/\s+/).filter((word) => word !== "");
    if (words.length === 0) {
      fields = [];
      continue;
    }
    if (/^\s/.test(line)) {
      if (fields.length === 0) continue;
      fields.push(...words);
    } else {
      fields = words;
      start = i + 1;
    }
    if (fields.length < 3) continue;
    const row = toRow(fields, start);
    if (row) rows.push(row);
    fields = [];
  }
  return rows;
}

/** `curl-7.76.1-7.fc34.x86_64`, `dhcp-client-12:4.4.2-11.b1.fc34.x86_64`: name, epoch-version-release, arch. */
const NEVRA = /^(.+)-((?:\d+:)?[^-\s:]+-[^-\s]+)\.([A-Za-z0-9_]+)$/;

export function splitNevra(text: string): { name: string; version: string; arch: string } | undefined {
  const match = NEVRA.exec(text);
  if (!match) return undefined;
  return { name: match[1] ?? "", version: match[2] ?? "", arch: match[3] ?? "" };
}

/**
 * The versions advisories name, by the `name.arch` of their package. dnf 4 prints
 * `FEDORA-2021-83fdddca0f Moderate/Sec.  curl-7.76.1-7.fc34.x86_64`, dnf 5 a table
 * with the package in its own column; either way it is the one field shaped as a
 * package's name-version-release.arch.
 */
export function advisoryVersions(stdout: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of stdout.split("\n")) {
    for (const word of line.trim().split(/\s+/)) {
      const nevra = splitNevra(word);
      if (!nevra) continue;
      const key = `${nevra.name}.${nevra.arch}`;
      const versions = found.get(key) ?? found.set(key, []).get(key)!;
      if (!versions.includes(nevra.version)) versions.push(nevra.version);
    }
  }
  return found;
}

/** `name.arch` of every package an advisory list names (see advisoryVersions). */
export function advisoryPackages(stdout: string): Set<string> {
  return new Set(advisoryVersions(stdout).keys());
}
