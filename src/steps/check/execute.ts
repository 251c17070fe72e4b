/**
 * The `check` step: every check of the step in ONE round trip. checkScript builds a
 * framed script (sent on standard input, like the facts script): each check's body
 * runs with its stdout and stderr kept apart in files, then a header line
 * `<marker> <index> <exit>` and the output lines prefixed `o ` and `e `, so nothing a
 * check prints can pass for a header. judgeCheck reads one section: pure, tested on
 * captured output. Reads need no root; the step's `become: true` runs the script
 * through become (certificates readable by root only).
 */
import { randomBytes } from "node:crypto";
import type { StepContext, StepExecutor, StepResult } from "../../apply/types.ts";
import { parseDuration } from "../../core/duration.ts";
import { parseDf, parseLoad, parseMeminfo } from "../../facts/parsers.ts";
import type { Check, Step } from "../../model/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import { judgeExpectation } from "../command/execute.ts";
import { guarded, tail, type StepClock } from "../execute-helpers.ts";
import { SERVICE_NAME } from "../service/execute.ts";

/** One check's output as the script framed it. */
export interface CheckSection {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** One check's verdict. */
export interface CheckVerdict {
  name: string;
  ok: boolean;
  /** What was read and how it compares, for people. */
  detail: string;
}

const HTTP_URL = /^https?:\/\/[^\s'"`\\]+$/;
const TCP_URL = /^tcp:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/;

/** A check's display name: its `name`, else kind and subject. */
export function checkName(check: Check): string {
  if (check.name !== undefined) return check.name;
  switch (check.type) {
    case "disk": return `disk ${check.mount}`;
    case "memory": return "memory";
    case "load": return "load";
    case "service": return `service ${check.service}`;
    case "endpoint": return `endpoint ${check.url}`;
    case "certificate": return `certificate ${check.path}`;
    case "command": return "command";
    case "reboot-required": return "reboot-required";
  }
}

/**
 * The shell body of one check. `command` is the check's command already rendered
 * (ctx.render); every other value is quoted here.
 * @throws RangeError for a service name or URL that cannot be used safely.
 */
export function checkBody(check: Check, command?: string): string {
  switch (check.type) {
    case "disk": return `LC_ALL=C df -P -k -- ${shellQuote(check.mount)}`;
    case "memory": return "cat /proc/meminfo";
    case "load": return "cat /proc/loadavg; getconf _NPROCESSORS_ONLN 2>/dev/null || nproc";
    case "service": {
      if (!SERVICE_NAME.test(check.service) || check.service.startsWith("-")) throw new RangeError(`not a service name: ${JSON.stringify(check.service)}`);
      const n = shellQuote(check.service);
      // Debian gives unprivileged users no sbin in PATH, where `service` lives.
      return `if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl is-active --quiet ${n}; else PATH="$PATH:/usr/sbin:/sbin" service ${n} status >/dev/null 2>&1; fi`;
    }
    case "endpoint": {
      const seconds = Math.max(1, Math.ceil((check.timeout === undefined ? 10_000 : parseDuration(check.timeout) ?? 10_000) / 1000));
      const tcp = TCP_URL.exec(check.url);
      if (tcp) {
        const host = shellQuote(tcp[1]!.replace(/^\[|\]$/g, ""));
        return `if command -v bash >/dev/null 2>&1; then timeout ${seconds} bash -c 'exec 3<>/dev/tcp/$0/$1' ${host} ${tcp[2]} && echo open; else timeout ${seconds} nc -z ${host} ${tcp[2]} && echo open; fi`;
      }
      if (!HTTP_URL.test(check.url)) throw new RangeError(`endpoint url must be http://, https:// or tcp://host:port: ${JSON.stringify(check.url)}`);
      const url = shellQuote(check.url);
      return `if command -v curl >/dev/null 2>&1; then curl -sS -o /dev/null -w 'status %{http_code}\\n' --max-time ${seconds} -- ${url}; elif command -v wget >/dev/null 2>&1; then wget -S -q -O /dev/null -T ${seconds} -- ${url} 2>&1 | awk '/^  HTTP\\//{c=$2} END{print "status " c}'; else echo 'no curl or wget' >&2; exit 127; fi`;
    }
    case "certificate": return `openssl x509 -enddate -noout -in ${shellQuote(check.path)}`;
    case "command": return `( ${command ?? check.command}\n) </dev/null`;
    case "reboot-required": return "if [ -e /var/run/reboot-required ] || [ -e /run/reboot-required ]; then echo yes; cat /var/run/reboot-required.pkgs 2>/dev/null; else echo no; fi";
  }
}

/** The framed script of a step's checks and its marker. `commands[i]` is check i's rendered command, if any. */
export function checkScript(checks: readonly Check[], commands: ReadonlyArray<string | undefined> = [], nonce = randomBytes(12).toString("hex")): { script: string; marker: string } {
  const marker = `@@steward-check-${nonce}@@`;
  const lines = ['t=$(mktemp -d) || exit 70', 'trap \'rm -rf "$t"\' EXIT'];
  checks.forEach((check, i) => {
    lines.push(`{\n${checkBody(check, commands[i])}\n} >"$t/o" 2>"$t/e"; rc=$?`);
    lines.push(`printf '%s %s %s\\n' '${marker}' ${i} "$rc"; sed 's/^/o /' "$t/o"; sed 's/^/e /' "$t/e"`);
  });
  return { script: lines.join("\n") + "\n", marker };
}

/** Splits the framed output into one section per check. @throws Error when a check's section is missing (the script was cut short). */
export function splitCheckOutput(stdout: string, marker: string, count: number): CheckSection[] {
  const sections: Array<CheckSection | undefined> = new Array(count).fill(undefined);
  let current: CheckSection | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(`${marker} `)) {
      const [, index, rc] = line.split(" ");
      const i = Number(index);
      if (!Number.isInteger(i) || i < 0 || i >= count || !/^\d+$/.test(rc ?? "")) throw new Error(`a malformed check header: ${JSON.stringify(line.slice(0, 80))}`);
      current = { exitCode: Number(rc), stdout: "", stderr: "" };
      sections[i] = current;
    } else if (current !== undefined && line.startsWith("o ")) current.stdout += `${line.slice(2)}\n`;
    else if (current !== undefined && line.startsWith("e ")) current.stderr += `${line.slice(2)}\n`;
  }
  return sections.map((s, i) => {
    if (s === undefined) throw new Error(`check ${i + 1} printed nothing: the script was cut short`);
    return s;
  });
}

const percent = (text: string): number => Number(text.replace("%", ""));
const pct = (n: number): string => `${n.toFixed(1)}%`;

/** Judges one check from its section. `now` dates certificate expiry. Never throws: unreadable output is a failed verdict. */
export function judgeCheck(check: Check, section: CheckSection, now: Date = new Date()): CheckVerdict {
  const name = checkName(check);
  const fail = (detail: string): CheckVerdict => ({ name, ok: false, detail });
  const pass = (ok: boolean, detail: string): CheckVerdict => ({ name, ok, detail });
  const why = (): string => tail(section.stderr).trim().split("\n").pop() || `exit ${section.exitCode}`;
  try {
    switch (check.type) {
      case "disk": {
        if (section.exitCode !== 0) return fail(`df failed: ${why()}`);
        const mount = parseDf(section.stdout).mounts[0];
        if (mount === undefined) return fail(`df printed no usage for ${check.mount}`);
        return pass(mount.usedPercent <= percent(check.max_used), `${mount.mount} is ${mount.usedPercent}% used (max ${check.max_used})`);
      }
      case "memory": {
        const m = parseMeminfo(section.stdout);
        const used = ((m.totalBytes - m.availableBytes) / m.totalBytes) * 100;
        return pass(used <= percent(check.max_used), `memory ${pct(used)} used (max ${check.max_used})`);
      }
      case "load": {
        const l = parseLoad(section.stdout);
        const per = l.one / l.cpus;
        return pass(per <= check.max_per_cpu, `load ${l.one} on ${l.cpus} CPUs = ${per.toFixed(2)} per CPU (max ${check.max_per_cpu})`);
      }
      case "service": {
        const want = check.state ?? "running";
        const running = section.exitCode === 0;
        return pass((want === "running") === running, `${check.service} is ${running ? "running" : "not running"} (expected ${want})`);
      }
      case "endpoint": {
        if (check.url.startsWith("tcp://")) return pass(section.exitCode === 0 && /^open$/m.test(section.stdout), section.exitCode === 0 ? `${check.url} accepts connections` : `${check.url} refused or timed out`);
        const status = /^status (\d{3})$/m.exec(section.stdout)?.[1];
        if (status === undefined || status === "000") return fail(`${check.url} did not answer: ${why()}`);
        const want = check.expect_status ?? 200;
        return pass(Number(status) === want, `${check.url} answered ${status} (expected ${want})`);
      }
      case "certificate": {
        const end = /^notAfter=(.+)$/m.exec(section.stdout)?.[1];
        if (section.exitCode !== 0 || end === undefined) return fail(`cannot read ${check.path}: ${why()}`);
        const expires = new Date(end.trim());
        if (Number.isNaN(expires.getTime())) return fail(`unreadable expiry date ${JSON.stringify(end.slice(0, 60))}`);
        const days = Math.floor((expires.getTime() - now.getTime()) / 86_400_000);
        return pass(days >= check.min_days_left, `${check.path} expires ${expires.toISOString()} (${days} days left, min ${check.min_days_left})`);
      }
      case "command": {
        const problems = judgeExpectation(check.expect, { exitCode: section.exitCode, signal: null, stdout: section.stdout, stderr: section.stderr });
        return pass(problems.length === 0, problems.length === 0 ? `exit ${section.exitCode} as expected` : problems.join("; "));
      }
      case "reboot-required": {
        const required = /^yes$/m.test(section.stdout);
        const allowed = check.allowed ?? false;
        return pass(!required || allowed, required ? `the host asks for a reboot${allowed ? " (allowed)" : ""}` : "no reboot pending");
      }
    }
  } catch (error) {
    return fail(`unreadable output: ${error instanceof Error ? error.message : String(error)}`);
  }
}

type CheckStep = Extract<Step, { kind: "check" }>;

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const step = ctx.step as CheckStep;
  const commands = step.checks.map((c) => (c.type === "command" ? ctx.render(c.command) : undefined));
  const { script, marker } = checkScript(step.checks, commands);
  const result = await ctx.session.exec("/bin/sh -s", { stdin: script, become: step.become === true, check: false, label: `checks of ${step.name}`, timeoutMs: ctx.timeoutMs });
  const sections = splitCheckOutput(result.stdout, marker, step.checks.length);
  const verdicts = step.checks.map((c, i) => judgeCheck(c, sections[i]!));
  const failed = verdicts.filter((v) => !v.ok);
  const detail = failed.length === 0 ? `${verdicts.length} checks passed` : failed.map((v) => `${v.name}: ${v.detail}`).join("; ");
  return clock.finish(failed.length === 0 ? "unchanged" : "failed", detail, { evidence: { checks: verdicts } });
}

export const checkExecutor: StepExecutor = {
  kind: "check",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  // Checks change nothing: running them again is always safe.
  rejudge: async () => "skipped",
};

