import { randomBytes } from "node:crypto";
import { DETECTION_ORDER, drivers } from "../drivers/registry.ts";
import { shellQuote } from "../transport/shell.ts";

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

const BODIES: Readonly<Record<SectionName, (services: readonly string[]) => string>> = {
  os: () => "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release",
  kernel: () => "uname -r",
  // Kernels as the boot loader and the module tree know them; either may be absent (containers).
  kernels: () => `for f in /boot/vmlinuz-*; do [ -e "$f" ] && echo "\${f#/boot/vmlinuz-}"; done; [ -d /lib/modules ] && ls -1 /lib/modules; true`,
  manager: () => `echo "$pm"`,
  installed: () => perManager((m) => drivers[m].listInstalled.command),
  upgradable: () => perManager((m) => drivers[m].listUpgradable.command),
  held: () => perManager((m) => drivers[m].listHeld.command),
  reboot: () => "if [ -e /var/run/reboot-required ]; then echo required; cat /var/run/reboot-required.pkgs 2>/dev/null; fi; true",
  // GNU df reports bytes with -B1; busybox df only knows -k. The header says which.
  disks: () => "df -P -B1 2>/dev/null || df -P -k",
  memory: () => "cat /proc/meminfo",
  load: () => "cat /proc/loadavg; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN",
  uptime: () => "cat /proc/uptime",
  "boot-id": () => "cat /proc/sys/kernel/random/boot_id",
  // Without systemd as init, systemctl cannot answer: say so instead of guessing.
  services: (services) =>
    services.length === 0 ? "true" : `if [ -d /run/systemd/system ]; then systemctl is-active ${services.map(shellQuote).join(" ")}; true; else echo no-systemd; fi`,
};

/** Section names of the app probes: `app-current:<i>` and `app-available:<i>`, i indexing the probes. */
export const probeSection = (kind: "current" | "available", index: number): string => `app-${kind}:${index}`;

/**
 * The script and the marker its sections are framed with. `probes` are app-upgrade
 * version commands, already rendered for this host; each runs in a section of its own
 * after the fixed ones, so a failing probe fails alone.
 */
export function factsScript(services: readonly string[], nonce = randomBytes(8).toString("hex"), probes: ReadonlyArray<{ current: string; available?: string }> = []): { script: string; marker: string } {
  const marker = `@@steward-facts-${nonce}@@`;
  const detect = DETECTION_ORDER.map((m, i) => `${i === 0 ? "if" : "elif"} ${drivers[m].detect}; then pm=${m}`).join("; ");
  const lines = [
    "export LC_ALL=C",
    `M=${marker}`,
    `pm=; ${detect}; fi`,
    ...SECTIONS.map((name) => section(name, BODIES[name](services))),
    ...probes.flatMap((p, i) => [section(probeSection("current", i), p.current), ...(p.available !== undefined ? [section(probeSection("available", i), p.available)] : [])]),
  ];
  return { script: `${lines.join("\n")}\n`, marker };
}

/** One framed section: begin markers on both streams, the body in a subshell, its status. */
const section = (name: string, body: string): string =>
  `printf '%s begin %s\\n' "$M" '${name}'; printf '%s begin %s\\n' "$M" '${name}' >&2; ( ${body}
) </dev/null; printf '\\n%s rc %s\\n' "$M" "$?"`;

function frame(text: string, marker: string, withStatus: boolean): Map<string, { body: string; exitCode: number | null }> {
  const out = new Map<string, { body: string; exitCode: number | null }>();
  const begin = `${marker} begin `;
  const rc = `${marker} rc `;
  let current: string | undefined;
  let body: string[] = [];
  const close = (exitCode: number | null): void => {
    if (current === undefined) return;
    // The script prints a newline before the status so it starts a line; drop it again.
    if (withStatus && body[body.length - 1] === "") body.pop();
    out.set(current, { body: body.length === 0 ? "" : `${body.join("\n")}\n`, exitCode });
    current = undefined;
    body = [];
  };
  for (const line of text.split("\n")) {
    if (line.startsWith(begin)) {
      close(null);
      current = line.slice(begin.length);
    } else if (withStatus && line.startsWith(rc)) {
      close(Number(line.slice(rc.length)));
    } else if (current !== undefined) {
      body.push(line);
    }
  }
  // stderr has no status line; its last section ends with the text's final newline.
  if (!withStatus && body[body.length - 1] === "") body.pop();
  close(null);
  return out;
}

/** Splits the script's stdout and stderr into sections, the fixed ones and the probes'. */
export function splitSections(stdout: string, stderr: string, marker: string): Map<string, Section> {
  const out = frame(stdout, marker, true);
  const err = frame(stderr, marker, false);
  const sections = new Map<string, Section>();
  for (const [name, o] of out) sections.set(name, { stdout: o.body, stderr: err.get(name)?.body ?? "", exitCode: o.exitCode });
  return sections;
}
