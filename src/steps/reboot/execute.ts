/**
 * The `reboot` step. With `when: required` (the default) the host reboots only when the
 * plan expected it or the host asks for it now (/var/run/reboot-required, read again
 * at the step); `when: always` reboots in every case. The boot id is read, the reboot
 * issued through become in the background (the connection drops under it, so the
 * command is not waited for), and the host polled until it answers with another boot
 * id, within `wait` (default DEFAULT_REBOOT_WAIT_MS). Reconnecting goes through the
 * transport, which checks the host key against the pinned one again. A host that does
 * not come back in time is failed, with the boot id it had.
 */
import type { IntentEvidence, StepContext, StepExecutor, StepOutcome, StepResult } from "../../apply/types.ts";
import { parseDuration } from "../../core/duration.ts";
import type { Step } from "../../model/types.ts";
import type { PlannedAction } from "../../plan/types.ts";
import { HostKeyMismatchError, HostKeyRevokedError, HostKeyUnknownError } from "../../transport/errors.ts";
import { errorDetail, guarded, type StepClock } from "../execute-helpers.ts";
import { sleep } from "../../core/sleep.ts";

/** How long a host may take to come back when the step sets no `wait`: 10 minutes. */
export const DEFAULT_REBOOT_WAIT_MS = 10 * 60_000;

/** Pause between two attempts to reach a rebooting host. */
const POLL_MS = 500;

type RebootStep = Extract<Step, { kind: "reboot" }>;
type RebootAction = Extract<PlannedAction, { kind: "reboot" }>;

/** Reads the boot id and whether the host asks for a reboot: `boot ID` and `required yes|no` lines. */
export const REBOOT_STATE_SCRIPT = "printf 'boot %s\\n' \"$(cat /proc/sys/kernel/random/boot_id)\"; if [ -e /var/run/reboot-required ] || [ -e /run/reboot-required ]; then echo 'required yes'; else echo 'required no'; fi";

/** Issues the reboot a second later, detached, so the command returns before the connection drops. */
export const REBOOT_COMMAND = "nohup /bin/sh -c 'sleep 1; reboot' </dev/null >/dev/null 2>&1 &";

const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Parses REBOOT_STATE_SCRIPT's output. @throws Error when the boot id is not a UUID (it comes from the host). */
export function parseRebootState(stdout: string): { bootId: string; required: boolean } {
  const boot = /^boot (\S*)$/m.exec(stdout)?.[1] ?? "";
  if (!BOOT_ID.test(boot)) throw new Error(`the host reports no boot id (expected a UUID, got ${JSON.stringify(boot.slice(0, 60))})`);
  return { bootId: boot, required: /^required yes$/m.test(stdout) };
}

/** The step's `wait` in ms. @throws RangeError for an unreadable duration (validate catches it first). */
export function rebootWaitMs(step: RebootStep): number {
  if (step.wait === undefined) return DEFAULT_REBOOT_WAIT_MS;
  const ms = parseDuration(step.wait);
  if (ms === undefined) throw new RangeError(`wait: '${step.wait}' is not a duration`);
  return ms;
}

async function readState(ctx: StepContext): Promise<{ bootId: string; required: boolean }> {
  const result = await ctx.session.exec(REBOOT_STATE_SCRIPT, { label: "boot id", timeoutMs: 30_000 });
  return parseRebootState(result.stdout);
}

/** Rejects after `ms` so a hanging connect (a frozen host) cannot outlive the wait. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(ms)} ms`)), ms)));
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const keyError = (error: unknown): boolean => error instanceof HostKeyMismatchError || error instanceof HostKeyUnknownError || error instanceof HostKeyRevokedError;

/** Polls until the host answers with a boot id other than `before`; returns it, or why not. */
async function awaitReturn(ctx: StepContext, before: string, deadline: number): Promise<{ bootId: string } | { error: string }> {
  let last = "it never went away";
  while (Date.now() < deadline && !ctx.signal.aborted) {
    try {
      const session = await within(ctx.reconnect(), deadline - Date.now());
      ctx.session = session;
      const state = await within(readState(ctx), Math.max(1, deadline - Date.now()));
      if (state.bootId !== before) return { bootId: state.bootId };
      last = "it still shows the old boot id";
    } catch (error) {
      if (keyError(error)) return { error: `it came back with another host key: ${errorDetail(error)}` };
      last = `last attempt: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
    }
    await sleep(POLL_MS, ctx.signal);
  }
  return { error: ctx.signal.aborted ? "the run was stopped while waiting" : last };
}

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const step = ctx.step as RebootStep;
  const action = ctx.action as RebootAction;
  const when = step.when ?? "required";
  const waitMs = rebootWaitMs(step);
  const state = await readState(ctx);
  const why = when === "always" ? "the step reboots always" : action.expected ? `the plan expected it: ${action.because.join(", ")}` : state.required ? "the host asks for a reboot" : undefined;
  if (why === undefined) return clock.finish("unchanged", "no reboot needed: the plan expected none and the host asks for none", { evidence: { bootIdBefore: state.bootId } });
  await ctx.session.exec(REBOOT_COMMAND, { become: step.become ?? true, label: "reboot", timeoutMs: 30_000 });
  const started = Date.now();
  const back = await awaitReturn(ctx, state.bootId, started + waitMs);
  if ("error" in back) return clock.finish("failed", `rebooted (${why}) but the host did not come back within ${Math.round(waitMs / 1000)}s: ${back.error}`, { evidence: { bootIdBefore: state.bootId, reason: why } });
  return clock.finish("changed", `rebooted (${why}); back after ${((Date.now() - started) / 1000).toFixed(1)}s with a new boot id`, { evidence: { bootIdBefore: state.bootId, bootIdAfter: back.bootId, reason: why } });
}

/** Evidence for the intent record: the boot id before the reboot, which rejudge compares against. */
async function intentEvidence(ctx: StepContext): Promise<Record<string, unknown>> {
  return { bootIdBefore: (await readState(ctx)).bootId };
}

/** After a crash: a boot id other than the one the intent recorded → `changed`; the same → `skipped` (not rebooted). */
async function rejudge(ctx: StepContext, intent: { evidence?: Record<string, unknown> }): Promise<StepOutcome> {
  const before = intent.evidence?.bootIdBefore;
  if (typeof before !== "string") return "unknown";
  return (await readState(ctx)).bootId !== before ? "changed" : "skipped";
}

export const rebootExecutor: StepExecutor & IntentEvidence = {
  kind: "reboot",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  rejudge,
  intentEvidence,
};
