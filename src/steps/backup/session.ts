/**
 * Running restic on a host for one step: the password on standard input, the step's
 * become and deadline, and a failure turned into a `ResticError` that names the case
 * (wrong password, no repository, a locked repository with its holder and whether it
 * is stale). Shared by backup, verify-backup and restore.
 */
import type { StepContext } from "../../apply/types.ts";
import type { SecretRef } from "../../model/types.ts";
import { shellQuote } from "../../transport/shell.ts";
import type { ExecResult } from "../../transport/types.ts";
import { MAX_STATE_BYTES } from "./host-state.ts";
import { classifyFailure, failureDetail, passwordStdin, resticCommand, type ResticFailure } from "./restic.ts";

/** A restic command that failed, with its case and a one-line detail for the step. */
export class ResticError extends Error {
  constructor(
    readonly failure: ResticFailure,
    readonly result: ExecResult,
    detail: string,
  ) {
    super(detail);
  }
}

/** A step failure that is not restic's: a missing secret, a record the host lacks. */
export class BackupStepError extends Error {}

/** The step's repository as shell text: a literal quoted whole, a template rendered with its values quoted. */
export function repositoryShell(ctx: Pick<StepContext, "render">, repository: string): string {
  return repository.includes("{{") ? ctx.render(repository) : shellQuote(repository);
}

/**
 * The step's password, from the environment through the run's secrets (registered for
 * redaction). @throws BackupStepError when the step has none or the variable is unset.
 */
export function passwordOf(ctx: Pick<StepContext, "secret">, ref: SecretRef | undefined, stepName: string): string {
  if (ref === undefined) throw new BackupStepError(`step '${stepName}' has no password: restic needs one ({ env: NAME })`);
  const value = ctx.secret?.(ref.env);
  if (value === undefined) throw new BackupStepError(`step '${stepName}' reads its password from { env: ${ref.env} }, but ${ref.env} is not set`);
  return value;
}

/** Runs restic commands of one step against one repository. */
export class ResticSession {
  private readonly deadline: number;

  constructor(
    private readonly ctx: StepContext,
    readonly repository: string,
    private readonly password: string,
  ) {
    this.deadline = Date.now() + ctx.timeoutMs;
  }

  /** What is left of the step's time limit, at least one second. */
  left(): number {
    return Math.max(1000, this.deadline - Date.now());
  }

  /**
   * Runs `restic <args>`; resolves with the result on exit 0.
   * @throws ResticError naming the case on any other exit.
   */
  async run(args: readonly string[], label: string, allowExit: readonly number[] = [0]): Promise<ExecResult> {
    const result = await this.ctx.session.exec(resticCommand(this.repository, args), {
      stdin: passwordStdin(this.password),
      become: this.ctx.step.become === true,
      check: false,
      label: `restic ${label} of ${this.ctx.step.name}`,
      timeoutMs: this.left(),
      // restic prints status lines; the summary is at the end, which the tail keeps.
      tailBytes: 256 * 1024,
    });
    if (result.exitCode !== null && allowExit.includes(result.exitCode)) return result;
    const failure: ResticFailure = result.exitCode === null ? { case: "failed", line: `killed by ${result.signal ?? "a signal"}` } : classifyFailure(result.exitCode, result.stderr);
    const stale = failure.case === "locked" && failure.holder !== null ? await this.holderGone(failure.holder.host, failure.holder.pid) : undefined;
    throw new ResticError(failure, result, failureDetail(`restic ${label}`, failure, stale));
  }

  /** True when the lock's holder was on this host and its process is gone (restic's stale rule); undefined when it cannot tell. */
  private async holderGone(host: string, pid: number): Promise<boolean | undefined> {
    const r = await this.ctx.session.exec(`uname -n; if test -d /proc/${pid}; then echo running; else echo gone; fi`, { become: this.ctx.step.become === true, check: false, label: "lock holder check", timeoutMs: 30_000 });
    const [name, state] = r.stdout.trim().split("\n").map((l) => l.trim());
    if (name !== host) return undefined;
    return state === "gone";
  }

  /** Runs a shell script (no secret in it: it is on the command line) with the step's become; `stdin` is data, never a secret. */
  async sh(script: string, label: string, stdin?: string): Promise<ExecResult> {
    return this.ctx.session.exec(`/bin/sh -c ${shellQuote(script)}`, { become: this.ctx.step.become === true, check: false, label: `${label} of ${this.ctx.step.name}`, timeoutMs: this.left(), tailBytes: MAX_STATE_BYTES, ...(stdin !== undefined ? { stdin } : {}) });
  }
}
