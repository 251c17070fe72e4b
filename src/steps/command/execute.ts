/**
 * The `command` step: a rendered shell command (every template value shell-quoted by
 * ctx.render), made idempotent by its guards and judged by its expectation.
 *
 * - `creates: PATH`: when PATH exists the command is not run (`unchanged`).
 * - `unless: COMMAND`: when COMMAND exits 0 the command is not run (`unchanged`).
 * - `expect`: exit code (default 0), stdout contains / matches (a JavaScript regular
 *   expression), stderr empty; any miss fails the step and names what was seen.
 * - `stdin` is written to the command's standard input as given (not rendered);
 *   `become: true` runs it through the host's become; `timeout` bounds it.
 * Guards run in one round trip before the command, without become unless the step has it.
 */
import type { StepContext, StepExecutor, StepOutcome, StepResult } from "../../apply/types.ts";
import type { Expectation, Step } from "../../model/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { ExecResult } from "../../transport/types.ts";
import { guarded, lastLine, outputOf, type StepClock } from "../execute-helpers.ts";

type CommandStep = Extract<Step, { kind: "command" }>;

/**
 * Why a command's result misses its expectation, one phrase each; empty when it meets
 * it. Without `exit_code` the expected exit code is 0.
 * @throws SyntaxError when `stdout_matches` is not a valid regular expression (validate checks it first).
 */
export function judgeExpectation(expect: Expectation | undefined, result: Pick<ExecResult, "exitCode" | "stdout" | "stderr" | "signal">): string[] {
  const problems: string[] = [];
  const code = expect?.exit_code ?? 0;
  if (result.exitCode !== code) problems.push(result.exitCode === null ? `killed by ${result.signal ?? "a signal"}` : `exit code ${result.exitCode}, expected ${code}`);
  if (expect?.stdout_contains !== undefined && !result.stdout.includes(expect.stdout_contains)) problems.push(`stdout does not contain ${JSON.stringify(expect.stdout_contains)}`);
  if (expect?.stdout_matches !== undefined && !new RegExp(expect.stdout_matches, "m").test(result.stdout)) problems.push(`stdout does not match /${expect.stdout_matches}/`);
  if (expect?.stderr_empty === true && result.stderr.trim() !== "") problems.push(`stderr is not empty: ${JSON.stringify(lastLine(result.stderr).slice(0, 200))}`);
  return problems;
}

/** Which guard holds, from guardScript's stdout: "creates", "unless" or null (run the command). */
export function parseGuard(stdout: string): "creates" | "unless" | null {
  const word = stdout.trim().split("\n").pop()?.trim();
  return word === "creates" || word === "unless" ? word : null;
}

/**
 * One script testing the guards in order, printing the first that holds, else "run".
 * `creates` and `unless` are shell text already rendered (values quoted); the unless
 * command runs in a subshell with its output discarded and no standard input.
 */
export function guardScript(creates: string | undefined, unless: string | undefined): string {
  const parts: string[] = [];
  if (creates !== undefined) parts.push(`if test -e ${creates}; then echo creates; exit 0; fi`);
  if (unless !== undefined) parts.push(`if ( ${unless}\n) </dev/null >/dev/null 2>&1; then echo unless; exit 0; fi`);
  parts.push("echo run");
  return parts.join("\n");
}

async function guard(ctx: StepContext, step: CommandStep): Promise<"creates" | "unless" | null> {
  if (step.creates === undefined && step.unless === undefined) return null;
  // A literal path is quoted whole (spaces and all); a templated one is rendered, its values quoted.
  const creates = step.creates === undefined ? undefined : step.creates.includes("{{") ? ctx.render(step.creates) : shellQuote(step.creates);
  const unless = step.unless === undefined ? undefined : ctx.render(step.unless);
  const result = await ctx.session.exec("/bin/sh -s", { stdin: guardScript(creates, unless), become: step.become === true, check: false, label: `guards of ${step.name}`, timeoutMs: ctx.timeoutMs });
  return parseGuard(result.stdout);
}

async function run(ctx: StepContext, clock: StepClock): Promise<StepResult> {
  const step = ctx.step as CommandStep;
  const held = await guard(ctx, step);
  if (held === "creates") return clock.finish("unchanged", `not run: ${step.creates} exists (creates)`);
  if (held === "unless") return clock.finish("unchanged", "not run: the unless guard exited 0");
  const command = ctx.render(step.command);
  const result = await ctx.session.exec(command, {
    become: step.become === true,
    check: false,
    label: `command of ${step.name}`,
    timeoutMs: ctx.timeoutMs,
    ...(step.stdin !== undefined ? { stdin: step.stdin } : {}),
  });
  const problems = judgeExpectation(step.expect, result);
  if (problems.length > 0) return clock.finish("failed", problems.join("; "), outputOf(result));
  return clock.finish("changed", `ran: exit ${result.exitCode}${lastLine(result.stdout) ? `, ${lastLine(result.stdout).slice(0, 200)}` : ""}`, outputOf(result));
}

/**
 * After a crash: the guards decide. A guard that holds now → `changed` (the command ran
 * and made it so); a guard that does not → `skipped` (it did not take effect; safe to
 * run again). A command without guards → `unknown`.
 */
async function rejudge(ctx: StepContext): Promise<StepOutcome> {
  const step = ctx.step as CommandStep;
  if (step.creates === undefined && step.unless === undefined) return "unknown";
  return (await guard(ctx, step)) === null ? "skipped" : "changed";
}

export const commandExecutor: StepExecutor = {
  kind: "command",
  execute: (ctx) => guarded(ctx, (clock) => run(ctx, clock)),
  rejudge: (ctx) => rejudge(ctx),
};
