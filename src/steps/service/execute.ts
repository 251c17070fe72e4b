/**
 * The `service` step: systemd when the host runs it (`/run/systemd/system` exists, as
 * sd_booted(3) tests), else the SysV `service NAME ACTION` fallback (init.d scripts;
 * `update-rc.d` for enable/disable). One round trip: the state before, the action, the
 * state after. After start, restart and reload the service must be active; after stop,
 * inactive. Starting a running service or stopping a stopped one is `unchanged`.
 */
import type { StepContext, StepExecutor, StepOutcome, StepResult } from "../../apply/types.ts";
import type { Step } from "../../model/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import { guarded, lastLine, tail, type StepClock } from "../execute-helpers.ts";

type ServiceStep = Extract<Step, { kind: "service" }>;
type ServiceAction = ServiceStep["action"];

/** A unit or init.d script name: systemd's unit name characters; never an option. */
export const SERVICE_NAME = /^[A-Za-z0-9_.@:\\-]+$/;

/** What serviceScript printed: which manager, the state before and after, and the action's exit code. */
export interface ServiceReading {
  manager: "systemd" | "sysv" | "none";
  before: boolean;
  after: boolean;
  actionExit: number | null;
}

/**
 * The script for one action. It prints `manager M`, `before 0|N`, `action N` and
 * `after 0|N` lines (exit codes of the status test), the action's own output going to
 * stderr so it cannot forge them.
 * @throws RangeError for a name that is not a service name.
 */
export function serviceScript(name: string, action: ServiceAction): string {
  if (!SERVICE_NAME.test(name) || name.startsWith("-")) throw new RangeError(`not a service name: ${JSON.stringify(name)}`);
  const n = shellQuote(name);
  const sysvAction = action === "enable" || action === "disable" ? `update-rc.d ${n} ${action}` : `service ${n} ${action}`;
  return [
    // Debian gives unprivileged users no sbin in PATH, where `service` lives.
    'PATH="$PATH:/usr/sbin:/sbin"',
    "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then m=systemd; elif command -v service >/dev/null 2>&1; then m=sysv; else m=none; fi",
    'echo "manager $m"',
    `st() { if [ "$m" = systemd ]; then systemctl is-active --quiet ${n}; else service ${n} status; fi >/dev/null 2>&1 </dev/null; }`,
    'if [ "$m" = none ]; then exit 0; fi',
    'st; echo "before $?"',
    `if [ "$m" = systemd ]; then systemctl ${action} ${n}; else ${sysvAction}; fi </dev/null 1>&2; echo "action $?"`,
    // A daemon may take a moment to come up (or down): look for up to 5 s.
    `i=0; while :; do st; s=$?; case ${action} in stop) [ $s -ne 0 ] && break;; start|restart|reload) [ $s -eq 0 ] && break;; *) break;; esac; i=$((i+1)); [ $i -ge 25 ] && break; sleep 0.2; done`,
    'echo "after $s"',
  ].join("\n");
}

/** Reads serviceScript's stdout. @throws Error when a line is missing (the script was cut short). */
export function parseServiceReading(stdout: string): ServiceReading {
  const values = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const match = /^(manager|before|action|after) (\S+)$/.exec(line.trim());
    if (match) values.set(match[1]!, match[2]!);
  }
  const manager = values.get("manager");
  if (manager !== "systemd" && manager !== "sysv" && manager !== "none") throw new Error("the service script printed no manager line");
  if (manager === "none") return { manager, before: false, after: false, actionExit: null };
  const num = (key: string): number => {
    const v = values.get(key);
    if (v === undefined || !/^\d+$/.test(v)) throw new Error(`the service script printed no ${key} line`);
    return Number(v);
  };
  return { manager, before: num("before") === 0, actionExit: num("action"), after: num("after") === 0 };
}

/** The outcome of an action from a reading, with its reason. */
export function judgeService(name: string, action: ServiceAction, r: ServiceReading): { outcome: StepOutcome; detail: string } {
  if (r.manager === "none") return { outcome: "failed", detail: "the host has neither systemd nor the service command" };
  const via = r.manager === "systemd" ? "systemctl" : "service";
  if (r.actionExit !== 0) return { outcome: "failed", detail: `${via} ${action} ${name} exited ${r.actionExit}` };
  const state = (up: boolean): string => (up ? "active" : "inactive");
  if ((action === "start" || action === "restart" || action === "reload") && !r.after) return { outcome: "failed", detail: `${name} is not active after ${action} (${via})` };
  if (action === "stop" && r.after) return { outcome: "failed", detail: `${name} is still active after stop (${via})` };
  const same = (action === "start" && r.before) || (action === "stop" && !r.before);
  return { outcome: same ? "unchanged" : "changed", detail: `${via} ${action} ${name}: ${state(r.before)} → ${state(r.after)}` };
}

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const step = ctx.step as ServiceStep;
  // Start and stop of a service that is already so change nothing: still run them, they are cheap and idempotent.
  const result = await ctx.session.exec("/bin/sh -s", { stdin: serviceScript(step.service, step.action), become: step.become ?? true, check: false, label: `service ${step.action} ${step.service}`, timeoutMs: ctx.timeoutMs });
  const reading = parseServiceReading(result.stdout);
  const judged = judgeService(step.service, step.action, reading);
  const detail = judged.outcome === "failed" && lastLine(result.stderr) ? `${judged.detail}: ${lastLine(result.stderr).slice(0, 200)}` : judged.detail;
  return clock.finish(judged.outcome, detail, { exitCode: reading.actionExit, stderrTail: tail(result.stderr), evidence: { manager: reading.manager, activeBefore: reading.before, activeAfter: reading.after } });
}

export const serviceExecutor: StepExecutor = {
  kind: "service",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  // A service's state says nothing about whether this step ran: a human decides.
  rejudge: async () => "unknown",
};
