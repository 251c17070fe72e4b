/**
 * What every step executor shares: the StepResult it returns, output tails fit for a
 * result, and the one-line reason of a transport failure. Kept apart from the kinds'
 * planning half (src/steps/<kind>/index.ts) so executing needs nothing of planning.
 */
import type { StepContext, StepOutcome, StepResult } from "../apply/types.ts";
import { CommandTimeoutError, ExecError, OutputTooLargeError, TransportError } from "../transport/errors.ts";
import type { ExecResult } from "../transport/types.ts";
import { plainLine } from "../core/text.ts";
import { TemplateRenderError } from "../template/index.ts";
import { UnparsableError } from "../facts/parsers.ts";

/** Characters of each stream a StepResult keeps: the end of the output, where errors are. */
export const RESULT_TAIL_CHARS = 2000;

/** Shown where characters were removed from a tail: U+FFFD REPLACEMENT CHARACTER, one per run removed. */
export const REMOVED_MARK = "\uFFFD";

/**
 * Escape sequences (ECMA-48 CSI `ESC [ … final`, and string controls OSC/DCS/SOS/PM/APC
 * up to BEL or ST) whole, then any other control character but line feed and tab, and
 * any format character (Unicode Cf: bidi controls such as U+202E, zero-width
 * characters), in runs: what a tail may not carry.
 */
const REMOVED = /(?:\u001b\[[0-?]*[ -/]*[@-~]|\u001b[\]PX^_][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[^\P{Cc}\n\t]|\p{Cf})+/gu;

/**
 * The last `RESULT_TAIL_CHARS` characters of a host's output, fit for journals,
 * results, reports and terminals: `\r\n` and a lone `\r` become line feeds, and each
 * run of removed characters (REMOVED) becomes one REMOVED_MARK, so a reader sees where
 * output was cut; when any was, the tail starts with a line saying how many.
 */
export function tail(text: string): string {
  let removed = 0;
  const clean = text.replace(/\r\n?/g, "\n").replace(REMOVED, (run) => {
    removed += run.length;
    return REMOVED_MARK;
  });
  const kept = clean.length <= RESULT_TAIL_CHARS ? clean : clean.slice(clean.length - RESULT_TAIL_CHARS);
  return removed === 0 ? kept : `[${removed} control or format character(s) removed, each run shown as ${REMOVED_MARK}]\n${kept}`;
}

/** The first line `tail` writes when it removed characters. */
const REMOVED_HEADER = /^\[\d+ control or format character\(s\) removed, each run shown as \uFFFD\]\n/u;

/**
 * `text` (a tail, a detail) with the run's secrets redacted even where a host split a
 * secret with characters `tail` removed (`hun\x1b[0mter2` shows as `hun\uFFFDter2`, which
 * the stream redactor could not match): the marks are dropped, the joined text is
 * redacted, and only when that found a secret is the joined, redacted text returned
 * (marks gone, the header kept saying how many characters were removed); otherwise
 * `text` unchanged. `redact` is the run's RunSecrets.redact.
 */
export function redactAcrossRemoved(text: string, redact: (text: string) => string): string {
  if (!text.includes(REMOVED_MARK)) return text;
  const header = REMOVED_HEADER.exec(text)?.[0] ?? "";
  const joined = text.slice(header.length).split(REMOVED_MARK).join("");
  const redacted = redact(joined);
  return redacted === joined ? text : `${header.replace(/, each run shown as \uFFFD\]/u, ", marks dropped where a secret was]")}${redacted}`;
}

/** Extra members of a StepResult beside those every result has. */
export type ResultExtras = Partial<Pick<StepResult, "exitCode" | "stdoutTail" | "stderrTail" | "packages" | "evidence">>;

/** A running step's clock: `finish` makes its StepResult. */
export class StepClock {
  private readonly started = new Date();

  constructor(private readonly ctx: Pick<StepContext, "step">) {}

  finish(outcome: StepOutcome, detail: string, extras: ResultExtras = {}): StepResult {
    const finished = new Date();
    const result: StepResult = {
      step: this.ctx.step.name,
      kind: this.ctx.step.kind,
      outcome,
      startedAt: this.started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - this.started.getTime(),
      // Details quote host output (a last line, a version): one plain line, nothing a terminal would act on.
      detail: plainLine(detail),
    };
    for (const [key, value] of Object.entries(extras)) if (value !== undefined) (result as unknown as Record<string, unknown>)[key] = value;
    return result;
  }
}

/** The exit code and output tails of a finished command, for a StepResult. */
export function outputOf(result: Pick<ExecResult, "exitCode" | "stdout" | "stderr">): ResultExtras {
  return { exitCode: result.exitCode, stdoutTail: tail(result.stdout), stderrTail: tail(result.stderr) };
}

/** The last non-empty line of a text, trimmed; "" when there is none. */
export function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines[lines.length - 1] ?? "";
}

/**
 * A one-line reason for an error thrown while running a step: the transport's typed
 * errors carry their own wording (host, command, exit code), a template that cannot be
 * rendered says which value it lacks, host output that breaks its grammar says the host's
 * output is not trusted; anything else is a bug in steward and says so.
 */
export function errorDetail(error: unknown): string {
  if (error instanceof CommandTimeoutError || error instanceof OutputTooLargeError || error instanceof ExecError) return error.message.split("\n").join(" — ");
  if (error instanceof TransportError) return error.message;
  // A template that needs a value the host or the environment lacks: the step cannot be rendered.
  if (error instanceof TemplateRenderError) return `cannot render the step: ${error.message}`;
  // Host output that breaks its grammar is the host's fault (src/facts/parsers.ts), not steward's.
  if (error instanceof UnparsableError) return `the host's output is not trusted: ${error.message}`;
  if (error instanceof Error) return `internal error: ${error.message}`;
  return `internal error: ${String(error)}`;
}

/** True for the transport errors that mean the connection is gone (not that a command failed). */
export function connectionGone(error: unknown): boolean {
  return error instanceof TransportError && !(error instanceof ExecError) && !(error instanceof CommandTimeoutError) && !(error instanceof OutputTooLargeError);
}

/** Runs `fn`, turning a thrown error into a failed result: executors never throw for an expected failure. */
export async function guarded(ctx: StepContext, fn: (clock: StepClock) => Promise<StepResult>): Promise<StepResult> {
  const clock = new StepClock(ctx);
  try {
    return await fn(clock);
  } catch (error) {
    if (connectionGone(error)) throw error;
    const extras: ResultExtras = error instanceof ExecError || error instanceof CommandTimeoutError ? { exitCode: error.exitCode, stdoutTail: tail(error.stdoutTail), stderrTail: tail(error.stderrTail) } : {};
    return clock.finish("failed", errorDetail(error), extras);
  }
}
