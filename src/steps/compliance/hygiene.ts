/**
 * Judges of the security hygiene rules, which read the shared sections of the
 * compliance script: authorized-keys (the access review), listening-ports, sudoers
 * and security-updates. Each also yields the host's inventory for the evidence (every
 * key, every socket, every account that may become root, every pending security
 * update), bounded.
 */
import { drivers } from "../../drivers/registry.ts";
import type { Section } from "../../facts/script.ts";
import type { PackageManager, UpgradablePackage } from "../../facts/types.ts";
import type { ComplianceCheck } from "../../model/types.ts";
import { parseDuration } from "../../core/duration.ts";
import { judgeKeys, parseKeysSection, type KeysInventory } from "./authorized-keys.ts";
import { clean, parseAllowedSocket, parseProcNet, parseSs, parseSudoList, socketAllowed, socketLabel, type SudoRights } from "./readings.ts";
import { unknown, why, type Judged } from "./rules.ts";

/** Findings listed per rule at most; the rest are counted in the last line. */
export const MAX_FINDINGS = 1000;

const bounded = (items: string[]): string[] => (items.length <= MAX_FINDINGS ? items : [...items.slice(0, MAX_FINDINGS), `… and ${items.length - MAX_FINDINGS} more`]);
const verdict = (ok: boolean, observed: string, expected: string, findings: string[]): Judged => ({ status: ok ? "compliant" : "non-compliant", observed, expected, ...(findings.length > 0 ? { findings: bounded(findings) } : {}) });

/** The authorized-keys rule and the host's key inventory. */
export function judgeAuthorizedKeys(check: Extract<ComplianceCheck, { type: "authorized-keys" }>, section: Section): { judged: Judged; inventory?: KeysInventory } {
  const expected = [check.allowed !== undefined ? `only the ${check.allowed.length} allowed key(s)` : "any key", check.shared === true ? "shared keys allowed" : "no key shared across accounts"].join("; ");
  if (section.exitCode !== 0) return { judged: unknown(expected, `cannot read the authorized_keys files: ${why(section)}`) };
  const { inventory, all } = parseKeysSection(section.stdout);
  const { unlisted, shared } = judgeKeys(all, check.allowed, check.shared === true);
  const accounts = new Set(all.map((e) => e.user)).size;
  const observed = `${all.length} key(s) in ${inventory.files.length} file(s) of ${accounts} account(s)${inventory.problems.length > 0 ? `; ${inventory.problems.length + inventory.moreProblems} line(s) sshd cannot use` : ""}`;
  return { judged: verdict(unlisted.length === 0 && shared.length === 0, observed, expected, [...unlisted, ...shared]), inventory };
}

/** The listening-ports rule and the host's listening sockets. */
export function judgeListeningPorts(check: Extract<ComplianceCheck, { type: "listening-ports" }>, section: Section): { judged: Judged; sockets?: string[] } {
  const expected = `only ${check.allowed.join(", ")}`;
  if (section.exitCode !== 0) return { judged: unknown(expected, `cannot list listening sockets: ${why(section)}`) };
  const [first, ...rest] = section.stdout.split("\n");
  const body = rest.join("\n");
  const parsed = first === "via ss" ? parseSs(body) : first === "via proc" ? parseProcNet(body) : undefined;
  if (parsed === undefined) return { judged: unknown(expected, "unreadable socket listing") };
  if (parsed.sockets.length === 0 && parsed.skipped > 0) return { judged: unknown(expected, `none of ${parsed.skipped} socket line(s) could be read`) };
  const allowed = check.allowed.map(parseAllowedSocket);
  const labels = [...new Set(parsed.sockets.map(socketLabel))].sort();
  const offending = [...new Set(parsed.sockets.filter((s) => !socketAllowed(s, allowed)).map((s) => `${socketLabel(s)} is not allowed`))].sort();
  const observed = `${labels.length} listening socket(s) (${first === "via ss" ? "ss" : "/proc/net"})${parsed.skipped > 0 ? `; ${parsed.skipped} line(s) unreadable` : ""}`;
  return { judged: verdict(offending.length === 0, observed, expected, offending), sockets: labels.slice(0, MAX_FINDINGS) };
}

/** The sudoers rule and who may run commands as root. */
export function judgeSudoers(check: Extract<ComplianceCheck, { type: "sudoers" }>, section: Section): { judged: Judged; sudo?: { rights: SudoRights[]; unanswered: string[] } } {
  const expected = check.allowed === undefined ? "evidence only: who may run commands as root" : `only ${check.allowed.join(", ") || "nobody"} may run commands as root`;
  if (section.exitCode !== 0) return { judged: unknown(expected, `cannot list sudo rights: ${why(section)}`) };
  const sudo = parseSudoList(section.stdout);
  const root = sudo.rights.filter((r) => r.root);
  const observed = root.length === 0 ? "no account may run commands as root through sudo" : `may run commands as root: ${root.map((r) => `${r.user}${r.allCommands ? " (all commands)" : " (some commands)"}`).join(", ")}`;
  if (check.allowed === undefined) return { judged: { status: "compliant", observed, expected }, sudo };
  if (sudo.unanswered.length > 0) return { judged: unknown(expected, `sudo did not answer for ${sudo.unanswered.slice(0, 10).join(", ")}`), sudo };
  const extra = root.filter((r) => !check.allowed!.includes(r.user)).map((r) => `${r.user} may run ${r.allCommands ? "every command" : "commands"} as root: ${r.rules.join("; ")}`);
  return { judged: verdict(extra.length === 0, observed, expected, extra), sudo };
}

/** One pending security update and since when it is known to be available. */
export interface PendingUpdate {
  name: string;
  from: string;
  to: string;
  source?: string;
  /**
   * ISO 8601: when the host's package lists were last written. The candidate was in
   * them then, so it has been published at least since: its age is at least now minus
   * this (a lower bound; see judgeSecurityUpdates).
   */
  availableSince: string | null;
}

const days = (ms: number): string => `${Math.floor(ms / 86_400_000)}d${Math.floor((ms % 86_400_000) / 3_600_000)}h`;

/**
 * Pending security updates, read as facts read them (the package driver's upgradable
 * listing and parser, src/drivers/). Age: steward knows no publication date per
 * package (apt's lists carry none), so it takes the newest modification time of the
 * host's package lists (apt sets it to the index's Last-Modified; the lists held the
 * candidate when they were written): every pending update is at least that old. With
 * `max_age`, updates known to be older are non-compliant; without it, any pending
 * security update is.
 */
export function judgeSecurityUpdates(check: Extract<ComplianceCheck, { type: "security-updates" }>, sections: { installed: Section; upgradable: Section; lists: Section }, observedAt: Date): { judged: Judged; updates?: PendingUpdate[] } {
  const maxMs = check.max_age === undefined ? undefined : parseDuration(check.max_age);
  const expected = maxMs === undefined ? "no pending security update" : `no security update pending longer than ${check.max_age}`;
  for (const s of [sections.installed, sections.upgradable]) if (s.exitCode !== 0) return { judged: unknown(expected, `cannot list upgradable packages: ${why(s)}`) };
  const pm = /^pm (apt|dnf|apk)$/m.exec(sections.installed.stdout)?.[1] as PackageManager | undefined;
  if (pm === undefined) return { judged: unknown(expected, "no package manager steward knows") };
  let upgradable: UpgradablePackage[];
  try {
    const installed = pm === "dnf" ? drivers.dnf.parseInstalled(sections.installed.stdout.replace(/^pm dnf\n/, "")) : [];
    upgradable = drivers[pm].parseUpgradable(sections.upgradable.stdout, installed);
  } catch (error) {
    return { judged: unknown(expected, `unreadable upgradable listing: ${clean((error as Error).message)}`) };
  }
  const epoch = /^(\d{1,12})$/m.exec(sections.lists.stdout)?.[1];
  const since = epoch === undefined ? null : new Date(Number(epoch) * 1000);
  const ageMs = since === null ? undefined : Math.max(0, observedAt.getTime() - since.getTime());
  const updates: PendingUpdate[] = upgradable.filter((u) => u.security).map((u) => ({ name: u.name, from: u.from, to: u.to, ...(u.source !== undefined ? { source: u.source } : {}), availableSince: since?.toISOString() ?? null }));
  const listed = updates.map((u) => `${u.name} ${u.from} → ${u.to}${u.source !== undefined ? ` (${u.source})` : ""}`);
  const age = ageMs === undefined ? "age unknown (no package lists)" : `available at least ${days(ageMs)} (lists written ${since!.toISOString()})`;
  const observed = updates.length === 0 ? "no pending security update" : `${updates.length} pending security update(s), ${age}`;
  if (updates.length === 0) return { judged: verdict(true, observed, expected, []), updates };
  if (maxMs === undefined) return { judged: verdict(false, observed, expected, listed), updates };
  if (ageMs === undefined) return { judged: unknown(expected, "pending security updates of unknown age: the host has no package lists"), updates };
  return { judged: verdict(ageMs <= maxMs, observed, expected, ageMs <= maxMs ? [] : listed), updates };
}
