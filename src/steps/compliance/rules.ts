/**
 * Judges of the rules that read a section of their own (file, package, service,
 * sysctl, command) and of sshd settings: pure functions from what the compliance
 * script read to a verdict, tested on captured output. A reading that cannot be had
 * (a command missing, permission denied, output that does not parse) is `unknown`
 * with the reason, never a guess either way.
 */
import { drivers } from "../../drivers/registry.ts";
import type { Section } from "../../facts/script.ts";
import type { ComplianceCheck } from "../../model/types.ts";
import { judgeExpectation } from "../command/execute.ts";
import { tail } from "../execute-helpers.ts";
import { clean, parseSshdT } from "./readings.ts";

/** A rule's verdict on one host (README, "Compliance and security hygiene"). */
export type RuleStatus = "compliant" | "non-compliant" | "unknown";

/** What one rule found on one host, before the rule's id and time are added. */
export interface Judged {
  status: RuleStatus;
  /** What the host showed, for people (bounded, printable). */
  observed: string;
  /** What the rule expects, for people. */
  expected: string;
  /** Why the rule could not be judged (unknown only). */
  reason?: string;
  /** The offending items (keys, sockets, accounts, packages), one line each. */
  findings?: string[];
}

/** The last line the section printed on stderr, or its exit status: why a reading failed. */
export function why(section: Section): string {
  const last = tail(section.stderr).trim().split("\n").pop()?.trim();
  if (section.exitCode === 127) return `a command is missing on the host${last ? ` (${clean(last)})` : ""}`;
  if (section.exitCode === null) return "the script stopped before this reading finished";
  return last ? clean(last) : `exit ${section.exitCode}`;
}

/** An unknown verdict: the reading failed, so the rule cannot be judged. */
export const unknown = (expected: string, reason: string): Judged => ({ status: "unknown", observed: "(not read)", expected, reason });

const verdict = (ok: boolean, observed: string, expected: string, findings?: string[]): Judged => ({ status: ok ? "compliant" : "non-compliant", observed, expected, ...(findings !== undefined && findings.length > 0 ? { findings } : {}) });

/** Words of a value, lower-cased and single-spaced: `sshd -T` and sysctl print their own spacing and case. */
const normal = (text: string): string => text.trim().split(/\s+/).join(" ").toLowerCase();

/**
 * Values sshd -T prints under another name than sshd_config(5) documents: OpenSSH
 * prints PermitRootLogin prohibit-password as its old spelling, without-password.
 */
const SSHD_SYNONYMS: Readonly<Record<string, Readonly<Record<string, string>>>> = { permitrootlogin: { "without-password": "prohibit-password" } };

/**
 * An sshd setting against the effective configuration (`sshd -T`, OpenSSH sshd(8)).
 * Keywords are matched without case; several values of a keyword (Port, ListenAddress)
 * are compared as one space-separated list, in the order sshd prints them.
 */
export function judgeSshd(check: Extract<ComplianceCheck, { type: "sshd" }>, section: Section): Judged {
  const expected = `${check.setting} ${check.value}`;
  if (section.exitCode !== 0) return unknown(expected, `sshd -T failed: ${why(section)}`);
  let settings: Map<string, string[]>;
  try {
    settings = parseSshdT(section.stdout);
  } catch (error) {
    return unknown(expected, (error as Error).message);
  }
  const values = settings.get(check.setting.toLowerCase());
  if (values === undefined) return unknown(expected, `sshd -T does not report ${check.setting}: not a setting of this OpenSSH version`);
  const observed = values.join(" ");
  const synonyms = SSHD_SYNONYMS[check.setting.toLowerCase()] ?? {};
  const canonical = (text: string): string => synonyms[normal(text)] ?? normal(text);
  return verdict(canonical(observed) === canonical(check.value), `${check.setting} ${observed}`, expected);
}

/** A sysctl key's value (`sysctl -n`), compared word by word (multi-value keys print tabs). */
export function judgeSysctl(check: Extract<ComplianceCheck, { type: "sysctl" }>, section: Section): Judged {
  const expected = `${check.key} = ${check.value}`;
  if (section.exitCode !== 0) return unknown(expected, `sysctl failed: ${why(section)}`);
  const observed = clean(section.stdout.trim(), 500);
  return verdict(normal(observed) === normal(check.value), `${check.key} = ${observed}`, expected);
}

const octal = (mode: string): number => parseInt(mode, 8);

/**
 * A file's existence, mode, owner and content. The script prints `absent`, or
 * `stat <mode> <uid> <gid> <user> <group> <type>` (stat -L) and, with `contains`,
 * `contains yes|no`. `owner` matches by name or numeric id; `mode` exactly.
 */
export function judgeFile(check: Extract<ComplianceCheck, { type: "file" }>, section: Section): Judged {
  const wantExists = check.exists ?? true;
  const want = [wantExists ? "exists" : "absent", check.mode !== undefined ? `mode ${check.mode.padStart(4, "0")}` : "", check.owner !== undefined ? `owner ${check.owner}` : "", check.contains !== undefined ? `contains ${JSON.stringify(check.contains)}` : ""].filter((w) => w !== "");
  const expected = `${check.path}: ${want.join(", ")}`;
  if (section.exitCode !== 0) return unknown(expected, `cannot read ${check.path}: ${why(section)}`);
  const out = section.stdout;
  if (/^absent$/m.test(out)) return verdict(!wantExists, `${check.path}: absent`, expected);
  const m = /^stat ([0-7]{1,4}) (\d+) (\d+) (\S+) (\S+) (.+)$/m.exec(out);
  if (m === null) return unknown(expected, `unreadable stat output for ${check.path}`);
  const [, mode, uid, gid, user, group, type] = m as unknown as [string, string, string, string, string, string, string];
  const problems: string[] = [];
  if (!wantExists) problems.push("the file exists");
  if (check.mode !== undefined && octal(mode) !== octal(check.mode)) problems.push(`mode ${mode.padStart(4, "0")}, expected ${check.mode.padStart(4, "0")}`);
  if (check.owner !== undefined) {
    const [wu, wg] = check.owner.split(":");
    if (wu !== user && wu !== uid) problems.push(`owner ${clean(user, 40)}, expected ${wu}`);
    if (wg !== undefined && wg !== group && wg !== gid) problems.push(`group ${clean(group, 40)}, expected ${wg}`);
  }
  const contains = /^contains (yes|no)$/m.exec(out)?.[1];
  if (check.contains !== undefined && contains !== "yes") problems.push(`does not contain ${JSON.stringify(check.contains)}`);
  const observed = `${check.path}: ${clean(type, 40)}, mode ${mode.padStart(4, "0")}, owner ${clean(user, 40)}:${clean(group, 40)}${contains !== undefined ? `, contains ${contains}` : ""}`;
  return verdict(problems.length === 0, observed, expected, problems);
}

/**
 * A package (or every package a pattern matches) installed or not, and at least
 * `version` by the host's own version ordering (dpkg's or rpm's). The script prints
 * `pm dpkg|rpm`, then `name<TAB>status<TAB>version` per match; status `ii`/`hi` is installed.
 */
export function judgePackage(check: Extract<ComplianceCheck, { type: "package" }>, section: Section): Judged {
  const wantInstalled = check.installed ?? true;
  const expected = `${check.package} ${wantInstalled ? `installed${check.version !== undefined ? `, at least ${check.version}` : ""}` : "not installed"}`;
  if (section.exitCode !== 0) return unknown(expected, `cannot list packages: ${why(section)}`);
  const pm = /^pm (dpkg|rpm)$/m.exec(section.stdout)?.[1];
  if (pm === undefined) return unknown(expected, "the package query printed no package manager");
  const driver = pm === "dpkg" ? drivers.apt : drivers.dnf;
  const installed: Array<{ name: string; version: string }> = [];
  for (const line of section.stdout.split("\n")) {
    const f = line.split("\t");
    if (f.length !== 3 || !/^[ih]i/.test(f[1]!)) continue;
    if (!driver.validName(f[0]!) || !driver.validVersion(f[2]!.replace(/^0:/, ""))) return unknown(expected, `a package name or version the package manager's grammar refuses: ${clean(line, 80)}`);
    installed.push({ name: f[0]!, version: f[2]!.replace(/^\(none\):|^0:/, "") });
  }
  const observed = installed.length === 0 ? `${check.package}: not installed` : installed.map((p) => `${p.name} ${p.version}`).join(", ");
  if (!wantInstalled) return verdict(installed.length === 0, observed, expected, installed.map((p) => `${p.name} ${p.version} is installed`));
  if (installed.length === 0) return verdict(false, observed, expected);
  const old = check.version === undefined ? [] : installed.filter((p) => driver.compareVersions(p.version, check.version!) < 0);
  return verdict(old.length === 0, observed, expected, old.map((p) => `${p.name} ${p.version} is older than ${check.version}`));
}

/** A service's state and boot-time enablement: `active <state>` and `enabled <state>` lines (systemctl, else SysV). */
export function judgeService(check: Extract<ComplianceCheck, { type: "service" }>, section: Section): Judged {
  const state = check.state ?? (check.enabled === undefined ? "running" : undefined);
  const expected = `${check.service}: ${[state, check.enabled === undefined ? undefined : check.enabled ? "enabled" : "disabled"].filter((w) => w !== undefined).join(", ")}`;
  if (section.exitCode !== 0) return unknown(expected, `cannot read the service: ${why(section)}`);
  const active = /^active (\S+)$/m.exec(section.stdout)?.[1];
  const enabled = /^enabled (\S*)$/m.exec(section.stdout)?.[1];
  if (active === undefined || enabled === undefined) return unknown(expected, "unreadable service state");
  const running = active === "active";
  const isEnabled = /^(enabled|enabled-runtime|static|alias)$/.test(enabled);
  const problems: string[] = [];
  if (state !== undefined && (state === "running") !== running) problems.push(`${check.service} is ${running ? "running" : "not running"}`);
  if (check.enabled !== undefined && check.enabled !== isEnabled) problems.push(`${check.service} is ${isEnabled ? "enabled" : "not enabled"} at boot`);
  return verdict(problems.length === 0, `${check.service}: ${clean(active, 40)}, ${clean(enabled || "unknown", 40)}`, expected, problems);
}

/** A command rule: its expectation (exit code, stdout, stderr) as the command step judges it. */
export function judgeCommand(check: Extract<ComplianceCheck, { type: "command" }>, section: Section): Judged {
  const e = check.expect;
  const expected = [`exit ${e.exit_code ?? 0}`, e.stdout_contains !== undefined ? `stdout contains ${JSON.stringify(e.stdout_contains)}` : "", e.stdout_matches !== undefined ? `stdout matches /${e.stdout_matches}/` : "", e.stderr_empty === true ? "stderr empty" : ""].filter((w) => w !== "").join(", ");
  if (section.exitCode === null) return unknown(expected, why(section));
  // 127 is the shell's "command not found": the rule's command could not be judged, it did not fail.
  if (section.exitCode === 127 && (e.exit_code ?? 0) !== 127) return unknown(expected, why(section));
  const problems = judgeExpectation(e, { exitCode: section.exitCode, signal: null, stdout: section.stdout, stderr: section.stderr });
  const out = clean(tail(section.stdout).trim().split("\n").pop() ?? "", 200);
  return verdict(problems.length === 0, `exit ${section.exitCode}${out !== "" ? `, last output ${JSON.stringify(out)}` : ""}`, expected, problems);
}
