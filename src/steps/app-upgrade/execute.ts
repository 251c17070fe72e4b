/**
 * The `app-upgrade` step: the planned version installed with the step's `install`
 * command (rendered with `{{app.version}}` = the plan's strict semver `to`, shell
 * quoted), then the `current_version` probe run again: it must report exactly that
 * version (semver equality of strict versions, read the way the planner reads it),
 * else the step fails naming what the probe printed. A host whose decision was
 * "current" is `unchanged` without running anything.
 */
import semver from "semver";
import type { StepContext, StepExecutor, StepOutcome, StepResult } from "../../apply/types.ts";
import type { Step } from "../../model/types.ts";
import { strictVersion } from "./decide.ts";
import type { PlannedAction } from "../../plan/types.ts";
import { guarded, lastLine, outputOf, type StepClock } from "../execute-helpers.ts";

type AppStep = Extract<Step, { kind: "app-upgrade" }>;
type AppAction = Extract<PlannedAction, { kind: "app-upgrade" }>;

/** The strict version in a current_version probe's output (its first token that starts like a version), or undefined. */
export function probedVersion(stdout: string): string | undefined {
  const token = stdout.split(/\s+/).find((t) => /^v?\d/.test(t));
  return token === undefined ? undefined : strictVersion(token);
}

/** Whether the probe's output shows `want`; with the reason when not. */
export function judgeProbe(stdout: string, want: string): { ok: boolean; detail: string } {
  const seen = probedVersion(stdout);
  if (seen === undefined) return { ok: false, detail: `current_version printed ${JSON.stringify(lastLine(stdout).slice(0, 80))}, which holds no strict semver version` };
  return semver.eq(seen, want) ? { ok: true, detail: `current_version reports ${seen}` } : { ok: false, detail: `current_version reports ${seen}, not ${want}` };
}

async function probe(ctx: StepContext, step: AppStep, action: AppAction): Promise<string> {
  const command = ctx.render(step.current_version, { app: { name: step.app, range: action.range } });
  const result = await ctx.session.exec(command, { become: step.become === true, check: false, label: `current_version probe of ${step.app}`, timeoutMs: 120_000 });
  return result.stdout;
}

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const step = ctx.step as AppStep;
  const action = ctx.action as AppAction;
  if (action.status !== "upgrade" || action.to === null) return clock.finish("unchanged", `${step.app}: ${action.detail}`);
  const install = ctx.render(step.install, { app: { name: step.app, range: action.range, version: action.to } });
  const result = await ctx.session.exec(install, { become: step.become === true, check: false, label: `install of ${step.app} ${action.to}`, timeoutMs: ctx.timeoutMs });
  if (result.exitCode !== 0) return clock.finish("failed", `install of ${step.app} ${action.to} exited ${result.exitCode ?? result.signal}: ${lastLine(result.stderr) || lastLine(result.stdout)}`, outputOf(result));
  const judged = judgeProbe(await probe(ctx, step, action), action.to);
  const evidence = { from: action.current, to: action.to };
  if (!judged.ok) return clock.finish("failed", `installed, but ${judged.detail}`, { ...outputOf(result), evidence });
  return clock.finish("changed", `${step.app} ${action.current ?? "?"} → ${action.to}; ${judged.detail}`, { ...outputOf(result), evidence });
}

/** After a crash: the probe reports the planned version → `changed`; the version before → `skipped`; else `unknown`. */
async function rejudge(ctx: StepContext): Promise<StepOutcome> {
  const step = ctx.step as AppStep;
  const action = ctx.action as AppAction;
  if (action.to === null) return "skipped";
  const seen = probedVersion(await probe(ctx, step, action));
  if (seen !== undefined && semver.eq(seen, action.to)) return "changed";
  if (seen !== undefined && action.current !== null && semver.eq(seen, action.current)) return "skipped";
  return "unknown";
}

export const appUpgradeExecutor: StepExecutor = {
  kind: "app-upgrade",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  rejudge,
};
