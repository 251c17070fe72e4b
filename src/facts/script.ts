import { randomBytes } from "node:crypto";
import { DETECTION_ORDER, drivers } from "../drivers/registry.ts";
import { shellQuote } from "../transport/shell.ts";
import { REBOOT_READS_PACKAGES } from "./reboot.ts";

/**
 * The one read-only script facts gathering runs per host. Every section is framed by
 * a marker carrying a random nonce (so no package name or file content can forge
 * one) on both stdout and stderr, and is followed by its exit status, so each section
 * is parsed, and fails, on its own.
 */

/** The sections, in the order the script prints them. */
export const SECTIONS = ["os", "kernel", "kernels", "manager", "installed", "upgradable", "held", "reboot", "disks", "memory", "load", "uptime", "boot-id", "services"] as const;
export type SectionName = (typeof SECTIONS)[number];

/** One section's output. `exitCode` is null when the section never finished. */
export interface Section {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/** A shell `if/elif` choosing the detected manager's command; `$pm` holds its name. */
function perManager(pick: (manager: (typeof DETECTION_ORDER)[number]) => string): string {
  return `case "$pm" in ${DETECTION_ORDER.map((m) => `${m}) ${pick(m)} ;;`).join(" ")} *) true ;; esac`;
}

/** The sections whose bodies list packages: the costly part of the script (apt loads its whole cache). */
const LIST_SECTIONS: ReadonlySet<SectionName> = new Set(["installed", "upgradable", "held"]);

/**
 * The sections a plan's facts digest and apply's stale check read (factsDigest in
 * src/plan/digest.ts, whatMoved in src/apply/host-runner.ts): the OS, the package
 * manager and lists, and the reboot flag with the kernels it is judged from. Disks,
 * memory, load, uptime, boot id and services are in no digest.
 */
export const PLAN_SECTIONS = ["os", "kernel", "kernels", "manager", "installed", "upgradable", "held", "reboot"] as const satisfies readonly SectionName[];

/**
 * What the script reads. Without `packageLists` the installed, upgradable and held
 * sections print nothing (the facts have empty lists), except the installed list on a
 * manager whose reboot flag is judged from a package's version (REBOOT_READS_PACKAGES):
 * for a caller that depends on no package, such as apply's stale check of a host whose
 * steps touch none. `sections` (in SECTIONS order) leaves the others out of the script
 * altogether (PLAN_SECTIONS for the stale check). Default: everything.
 */
export interface FactsScriptOptions {
  packageLists?: boolean;
  sections?: readonly SectionName[];
}

/**
 * `show_file PATH`: prints a file line by line with shell builtins, as `cat` would but
 * without starting a process (a final line without a newline gets one). Fails, having
 * printed nothing, when the file cannot be opened (a redirection error on a compound
 * command does not end a POSIX shell: XCU 2.8.1).
 */
const SHOW_FILE = `show_file() { while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done < "$1"; }`;

const BODIES: Readonly<Record<SectionName, (services: readonly string[]) => string>> = {
  os: () => "show_file /etc/os-release 2>/dev/null || show_file /usr/lib/os-release",
  // The kernel's own release string, which uname(2) reports too.
  kernel: () => "show_file /proc/sys/kernel/osrelease 2>/dev/null || uname -r",
  // Kernels as the boot loader and the module tree know them (as `ls -1` would list the
  // latter, by globbing: no process); either may be absent (containers).
  kernels: () => `for f in /boot/vmlinuz-*; do [ -e "$f" ] && echo "\${f#/boot/vmlinuz-}"; done; for d in /lib/modules/*; do { [ -e "$d" ] || [ -L "$d" ]; } && printf '%s\\n' "\${d#/lib/modules/}"; done; true`,
  manager: () => `echo "$pm"`,
  installed: () => perManager((m) => drivers[m].listInstalled.command),
  upgradable: () => perManager((m) => drivers[m].listUpgradable.command),
  held: () => perManager((m) => drivers[m].listHeld.command),
  reboot: () => "if [ -e /var/run/reboot-required ]; then echo required; cat /var/run/reboot-required.pkgs 2>/dev/null; fi; true",
  // GNU df reports bytes with -B1; busybox df only knows -k. The header says which.
  disks: () => "df -P -B1 2>/dev/null || df -P -k",
  memory: () => "show_file /proc/meminfo",
  load: () => "show_file /proc/loadavg; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN",
  uptime: () => "show_file /proc/uptime",
  "boot-id": () => "show_file /proc/sys/kernel/random/boot_id",
  // Without systemd as init, systemctl cannot answer: say so instead of guessing.
  services: (services) =>
    services.length === 0 ? "true" : `if [ -d /run/systemd/system ]; then systemctl is-active ${services.map(shellQuote).join(" ")}; true; else echo no-systemd; fi`,
};

/**
 * The facts script and the marker its sections are framed with. The caller sends the
 * script on standard input (`/bin/sh -s`), so neither it nor the marker is on any
 * command line: a program a section runs cannot read the nonce from /proc/<pid>/cmdline
 * (the marker lives in an unexported shell variable and is printed by the `printf`
 * builtin). Each section's body reads /dev/null, never the rest of the script.
 *
 * The bodies are steward's own fixed text and run in the script's shell (a `{ }` group,
 * not a subshell: a process start fewer per section), so nothing they do may reach the
 * framing: `M` and `pm` are read-only (assigning either ends the script), every
 * body names files by absolute path (a `cd` changes nothing after it), and a body that
 * ends the script early leaves its section without a status and the later ones absent,
 * which the reader refuses (splitSections, then a missing section fails the host). A
 * program a body runs is a process of its own and can change none of it.
 */
export function factsScript(services: readonly string[], nonce = randomBytes(16).toString("hex"), options: FactsScriptOptions = {}): { script: string; marker: string } {
  const marker = `@@steward-facts-${nonce}@@`;
  const detect = DETECTION_ORDER.map((m, i) => `${i === 0 ? "if" : "elif"} ${drivers[m].detect}; then pm=${m}`).join("; ");
  const lists = options.packageLists ?? true;
  const names = options.sections ?? SECTIONS;
  const body = (name: SectionName): string => {
    if (lists || !LIST_SECTIONS.has(name)) return BODIES[name](services);
    if (name !== "installed") return "true";
    return `case "$pm" in ${REBOOT_READS_PACKAGES.map((m) => `${m}) ${drivers[m].listInstalled.command} ;;`).join(" ")} *) true ;; esac`;
  };
  const lines = ["export LC_ALL=C", `M=${marker}`, `pm=; ${detect}; fi`, SHOW_FILE, "readonly M pm", ...SECTIONS.filter((name) => names.includes(name)).map((name) => section(name, body(name), "group"))];
  return { script: `${lines.join("\n")}\n`, marker };
}

/** Printed on stdout and stderr before a probe runs: what comes before it is the shell's startup output. */
export const PROBE_START = "@@steward-probe@@";

/**
 * An app probe as a script for `/bin/sh -s`: a start line on both streams, then the
 * command in one subshell reading /dev/null, so it cannot read what follows it on
 * standard input, and the script's status is its own.
 */
export const probeScript = (command: string): string => `printf '%s\\n' '${PROBE_START}'; printf '%s\\n' '${PROBE_START}' >&2; ( ${command}\n) </dev/null\n`;

/**
 * A probe's stdout or stderr without what the shell's startup files printed before the
 * probe began (a `~/.bashrc` banner is not part of a version).
 */
export function probeOutput(text: string): string {
  const start = text.indexOf(`${PROBE_START}\n`);
  return start < 0 ? text : text.slice(start + PROBE_START.length + 1);
}

/**
 * One framed section: begin markers on both streams, the body reading /dev/null, its
 * status. The script must set `M` to the marker first. The body runs in a subshell
 * (`isolation` "subshell", the default: whatever it does to the shell — exit, cd,
 * assignments — stays in it), or, for a script's own fixed bodies that keep to the
 * rules of factsScript, in a `{ }` group of the script's shell ("group"), which saves a
 * process start per section. Shared with every other script framed the same
 * way (compliance rules, whose bodies hold runbook commands: subshells; the packages
 * step's round trips, src/steps/packages/round-trips.ts). With `stop`, a non-zero status
 * ends the script after it is printed (exit 0), so later sections are absent.
 */
export const section = (name: string, body: string, isolation: "subshell" | "group" = "subshell", stop = false): string => {
  const [open, close] = isolation === "group" ? ["{", "\n}"] : ["(", "\n)"];
  const status = stop ? `s=$?; printf '\\n%s rc %s\\n' "$M" "$s"; [ "$s" -eq 0 ] || exit 0` : `printf '\\n%s rc %s\\n' "$M" "$?"`;
  return `printf '%s begin %s\\n' "$M" '${name}'; printf '%s begin %s\\n' "$M" '${name}' >&2; ${open} ${body}${close} </dev/null; ${status}`;
};

/**
 * The facts output broke the script's framing: a section repeated, out of order or not
 * the script's, a status outside a section, text between or after the sections, or a
 * marker inside a body. Only a program that learned the nonce can do that, so the host's facts
 * are refused whole rather than trusted in part.
 */
export class ForgedOutputError extends Error {
  constructor(
    readonly stream: "stdout" | "stderr",
    message: string,
    what = "facts",
  ) {
    super(`${what} ${stream}: ${message}; refusing the host's ${what} (a program on the host may be forging them)`);
    this.name = "ForgedOutputError";
  }
}

/**
 * What a stream carried before the script's first begin marker: the login shell's own
 * output (a `~/.bashrc` that echoes a banner, `mesg: ttyname failed`). It cannot forge a
 * section, since it was printed before the script ran and never knew the nonce; it is
 * never read as facts. The whole stream when no section began.
 */
export function startupOutput(text: string, marker: string): string {
  const start = text.indexOf(`${marker} begin `);
  return start < 0 ? text : text.slice(0, start);
}

/**
 * Splits one stream into its sections, enforcing the script's exact framing from the
 * first begin marker on (what comes before it is `startupOutput`).
 */
function frame<N extends string>(all: string, marker: string, stream: "stdout" | "stderr", names: readonly N[], what: string): Map<N, { body: string; exitCode: number | null }> {
  const startup = startupOutput(all, marker);
  const text = all.slice(startup.length);
  // Lines are counted in the whole stream, so messages point at the line as received.
  let skipped = 0;
  for (let i = startup.indexOf("\n"); i >= 0; i = startup.indexOf("\n", i + 1)) skipped++;
  const withStatus = stream === "stdout";
  const out = new Map<N, { body: string; exitCode: number | null }>();
  const begin = `${marker} begin `;
  const rc = `${marker} rc `;
  const forged = (message: string): ForgedOutputError => new ForgedOutputError(stream, message, what);
  let next = 0;
  let current: N | undefined;
  let body: string[] = [];
  const close = (exitCode: number | null): void => {
    if (current === undefined) return;
    // The script prints a newline before the status so it starts a line; drop it again.
    if (withStatus && exitCode !== null && body[body.length - 1] === "") body.pop();
    out.set(current, { body: body.length === 0 ? "" : `${body.join("\n")}\n`, exitCode });
    current = undefined;
    body = [];
  };
  const lines = text.split("\n");
  // The stream's final newline ends its last line; it does not start another.
  if (lines[lines.length - 1] === "") lines.pop();
  for (const [index, line] of lines.entries()) {
    const where = `line ${skipped + index + 1}`;
    if (line.startsWith(begin)) {
      const name = line.slice(begin.length);
      const expected = names[next];
      if (withStatus && current !== undefined) throw forged(`${where}: section '${printable(name)}' begins inside section '${current}'`);
      if (name !== expected) {
        if (out.has(name as N) || name === current) throw forged(`${where}: section '${name}' repeated`);
        if ((names as readonly string[]).includes(name)) throw forged(`${where}: section '${name}' out of order (expected '${expected ?? "none"}')`);
        throw forged(`${where}: unexpected section '${printable(name)}'`);
      }
      if (!withStatus) close(null);
      current = expected;
      next++;
    } else if (withStatus && line.startsWith(rc)) {
      const status = line.slice(rc.length);
      if (current === undefined) throw forged(`${where}: a status line outside any section`);
      if (!/^\d{1,3}$/.test(status)) throw forged(`${where}: malformed status of section '${current}'`);
      close(Number(status));
    } else if (line.includes(marker)) {
      throw forged(`${where}: the marker inside ${current === undefined ? "no section" : `section '${current}'`}`);
    } else if (current === undefined) {
      // Between sections (and after the last) the script prints nothing on stdout; on
      // stderr a section's end is the next section's begin.
      throw forged(`${where}: output outside any section`);
    } else {
      body.push(line);
    }
  }
  close(null);
  return out;
}

/** A name from the host, cut and stripped of control characters, fit for a message. */
const printable = (text: string): string => {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
};

/**
 * Splits the script's stdout and stderr into sections (`names`: those the script was
 * made with, in order; default all). Throws `ForgedOutputError` when
 * either stream breaks the framing (see there); a section with no status is one the
 * script never finished (`exitCode` null), and sections after it are absent.
 */
export function splitSections(stdout: string, stderr: string, marker: string, names: readonly SectionName[] = SECTIONS): Map<SectionName, Section> {
  return splitFramed(stdout, stderr, marker, names, "facts");
}

/**
 * `splitSections` for any script framed by `section` with the sections `names` in that
 * order; `what` names the script in errors ("compliance script").
 * @throws ForgedOutputError as splitSections does.
 */
export function splitFramed<N extends string>(stdout: string, stderr: string, marker: string, names: readonly N[], what: string): Map<N, Section> {
  const out = frame(stdout, marker, "stdout", names, what);
  const err = frame(stderr, marker, "stderr", names, what);
  const sections = new Map<N, Section>();
  for (const [name, o] of out) sections.set(name, { stdout: o.body, stderr: err.get(name)?.body ?? "", exitCode: o.exitCode });
  return sections;
}
