/**
 * The one read-only script a compliance step runs per host: every rule of the step in
 * ONE round trip. It is framed exactly like the facts script (src/facts/script.ts:
 * `section` and `splitFramed`, a marker with a random nonce that is on no command
 * line), so nothing a host prints can pass for another rule's reading, and a forged
 * section refuses the whole host's output.
 *
 * Sections are per source, not per rule: `sshd -T` runs once for every sshd rule and
 * for the authorized_keys paths, `ss` once for every listening-ports rule, and so on;
 * file, package, service, sysctl and command rules get one section each (`r<index>`).
 * Every value from the runbook that reaches the script is checked against its schema
 * grammar again here and shell-quoted.
 */
import { randomBytes } from "node:crypto";
import { DETECTION_ORDER, drivers } from "../../drivers/registry.ts";
import { section } from "../../facts/script.ts";
import type { ComplianceCheck, ComplianceRule } from "../../model/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import { SERVICE_NAME } from "../service/execute.ts";
import { KEYS_FILE_MAX_BYTES } from "./authorized-keys.ts";

/** The shared sections, in the order the script prints them (before the per-rule ones). */
export const SHARED_SECTIONS = ["sshd", "keys", "ports", "sudo", "installed", "upgradable", "lists"] as const;
export type SharedSection = (typeof SHARED_SECTIONS)[number];

/** Accounts whose sudo rights are listed at most; the rest are named as not read. */
export const SUDO_MAX_USERS = 2000;

/** Which shared sections a rule reads. */
export function sectionsOf(check: ComplianceCheck): SharedSection[] {
  switch (check.type) {
    case "sshd": return ["sshd"];
    case "authorized-keys": return ["keys"];
    case "listening-ports": return ["ports"];
    case "sudoers": return ["sudo"];
    case "security-updates": return ["installed", "upgradable", "lists"];
    default: return [];
  }
}

/** The section name of a rule that reads a section of its own. */
export const ruleSection = (index: number): string => `r${index}`;

/** True for rule types that read a section of their own rather than a shared one. */
export const ownSection = (check: ComplianceCheck): boolean => sectionsOf(check).length === 0;

const SBIN = 'PATH="$PATH:/usr/sbin:/sbin"';
const PATH_TEXT = /^\/[^\u0000-\u001f\u007f-\u009f]*$/;
const PACKAGE_PATTERN = /^(?=[A-Za-z0-9*?[])(?:[A-Za-z0-9+._:*?-]|\[!?[A-Za-z0-9+._:-]+\])+$/;
const SYSCTL_KEY = /^[a-z0-9_][a-z0-9_.]*$/;

/** A shell `case` on the detected package manager (`$pm`, set by the script's preamble). */
const perManager = (pick: (m: (typeof DETECTION_ORDER)[number]) => string): string => `case "$pm" in ${DETECTION_ORDER.map((m) => `${m}) ${pick(m)} ;;`).join(" ")} *) echo 'no package manager steward knows' >&2; exit 127 ;; esac`;

/**
 * Every account's authorized_keys files, as sshd finds them: the AuthorizedKeysFile
 * patterns of `sshd -T` (default `.ssh/authorized_keys .ssh/authorized_keys2`), with
 * %h, %u and %% expanded and relative paths taken from the home (sshd_config(5)
 * TOKENS). Per regular file: `f <bytes> <user>:<path>`, then at most
 * KEYS_FILE_MAX_BYTES of it, each line prefixed `l `, so no line of a file can pass
 * for a header.
 */
const KEYS_BODY = `set -f
akf=$( (${SBIN}; sshd -T 2>/dev/null) | awk '$1=="authorizedkeysfile"{$1=""; print; exit}')
[ -n "$akf" ] && [ "$akf" != " none" ] || akf='.ssh/authorized_keys .ssh/authorized_keys2'
expand() { r=; s=$1; while [ -n "$s" ]; do case $s in %%*) r="$r%"; s=\${s#%%} ;; %h*) r="$r$2"; s=\${s#%h} ;; %u*) r="$r$3"; s=\${s#%u} ;; *) c=\${s%"\${s#?}"}; r="$r$c"; s=\${s#?} ;; esac; done; }
(getent passwd 2>/dev/null || cat /etc/passwd) | while IFS=: read -r u _ _ _ _ h _; do
  [ -n "$u" ] || continue
  for p in $akf; do
    expand "$p" "$h" "$u"
    case $r in /*) f=$r ;; *) f="$h/$r" ;; esac
    if [ -f "$f" ]; then
      printf 'f %s %s:%s\\n' "$(wc -c < "$f" | tr -d ' ')" "$u" "$f"
      { head -c ${KEYS_FILE_MAX_BYTES} "$f"; echo; } | sed 's/^/l /'
    fi
  done
done`;

/** Every account's sudo rights: `user <name>`, then `sudo -n -l -U <name>` prefixed `| `. */
const SUDO_BODY = `command -v sudo >/dev/null 2>&1 || { echo 'sudo is not installed' >&2; exit 127; }
(getent passwd 2>/dev/null || cat /etc/passwd) | cut -d: -f1 | head -n ${SUDO_MAX_USERS} | while read -r u; do
  printf 'user %s\\n' "$u"; sudo -n -l -U "$u" </dev/null 2>&1 | sed 's/^/| /'
done`;

const SHARED_BODIES: Readonly<Record<SharedSection, string>> = {
  sshd: `${SBIN}; sshd -T`,
  keys: KEYS_BODY,
  ports: `if command -v ss >/dev/null 2>&1; then echo via ss; ss -Htlnup; else echo via proc; for f in tcp tcp6 udp udp6; do [ -r /proc/net/$f ] && { echo "file $f"; cat /proc/net/$f; }; done; fi`,
  sudo: SUDO_BODY,
  // dnf's upgradable listing needs the installed versions; apt's and apk's name them.
  installed: `echo "pm $pm"; ${perManager((m) => (m === "dnf" ? drivers[m].listInstalled.command : "true"))}`,
  upgradable: perManager((m) => drivers[m].listUpgradable.command),
  // When the package lists were last written: see updates.ts for what that says about age.
  lists: `for f in /var/lib/apt/lists/*Packages* /var/cache/dnf/*/repodata/repomd.xml /var/cache/apk/APKINDEX.*; do [ -f "$f" ] && stat -c '%Y' "$f"; done | sort -n | tail -n 1`,
};

/**
 * The body of a rule that reads a section of its own. `command` is the command rule's
 * command, already rendered (every template value quoted).
 * @throws RangeError for a value outside its grammar (validate refuses it first).
 */
export function ruleBody(check: ComplianceCheck, command?: string): string {
  switch (check.type) {
    case "file": {
      if (!PATH_TEXT.test(check.path)) throw new RangeError(`not an absolute path: ${JSON.stringify(check.path)}`);
      const p = shellQuote(check.path);
      const contains = check.contains === undefined ? "" : `; if grep -q -F -e ${shellQuote(check.contains)} -- ${p} 2>/dev/null; then echo 'contains yes'; else echo 'contains no'; fi`;
      return `if [ -e ${p} ] || [ -L ${p} ]; then stat -L -c 'stat %a %u %g %U %G %F' -- ${p}${contains}; else echo absent; fi`;
    }
    case "package": {
      if (!PACKAGE_PATTERN.test(check.package)) throw new RangeError(`not a package pattern: ${JSON.stringify(check.package)}`);
      const n = shellQuote(check.package);
      return `if command -v dpkg-query >/dev/null 2>&1; then echo pm dpkg; dpkg-query -W -f='\${Package}\\t\${db:Status-Abbrev}\\t\${Version}\\n' -- ${n} 2>/dev/null; true; elif command -v rpm >/dev/null 2>&1; then echo pm rpm; rpm -qa --qf '%{NAME}\\tii \\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n' ${n}; else echo 'no dpkg-query or rpm' >&2; exit 127; fi`;
    }
    case "service": {
      if (!SERVICE_NAME.test(check.service) || check.service.startsWith("-")) throw new RangeError(`not a service name: ${JSON.stringify(check.service)}`);
      const n = shellQuote(check.service);
      const base = shellQuote(check.service.replace(/\.service$/, ""));
      return `if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo "active $(systemctl is-active ${n})"; echo "enabled $(systemctl is-enabled ${n} 2>/dev/null)"; else if ${SBIN} service ${n} status >/dev/null 2>&1; then echo 'active active'; else echo 'active inactive'; fi; if ls /etc/rc[2345].d/S[0-9][0-9]${base} >/dev/null 2>&1; then echo 'enabled enabled'; else echo 'enabled disabled'; fi; fi`;
    }
    case "sysctl": {
      if (!SYSCTL_KEY.test(check.key)) throw new RangeError(`not a sysctl key: ${JSON.stringify(check.key)}`);
      return `${SBIN}; sysctl -n ${shellQuote(check.key)}`;
    }
    case "command": return `( ${command ?? check.command}\n) </dev/null`;
    default: throw new RangeError(`rule type ${check.type} reads a shared section`);
  }
}

/** The script of a step's rules and its marker and section names, in print order. `commands[i]` is rule i's rendered command, if any. */
export function complianceScript(rules: readonly ComplianceRule[], commands: ReadonlyArray<string | undefined> = [], nonce = randomBytes(16).toString("hex")): { script: string; marker: string; sections: string[] } {
  const marker = `@@steward-compliance-${nonce}@@`;
  const shared = SHARED_SECTIONS.filter((s) => rules.some((r) => sectionsOf(r.check).includes(s)));
  const own = rules.flatMap((r, i) => (ownSection(r.check) ? [{ name: ruleSection(i), body: ruleBody(r.check, commands[i]) }] : []));
  const detect = DETECTION_ORDER.map((m, i) => `${i === 0 ? "if" : "elif"} ${drivers[m].detect}; then pm=${m}`).join("; ");
  const lines = ["export LC_ALL=C", `M=${marker}`, `pm=; ${detect}; fi`, ...shared.map((s) => section(s, SHARED_BODIES[s])), ...own.map((s) => section(s.name, s.body))];
  return { script: `${lines.join("\n")}\n`, marker, sections: [...shared, ...own.map((s) => s.name)] };
}
