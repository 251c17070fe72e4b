/**
 * The few typed surprises the core can raise. Expected outcomes (a host that failed a
 * check, a validation problem in a file) are values, not exceptions; these classes are
 * for conditions that stop a command, and each carries a stable `code` the CLI maps to
 * an exit status in one place (src/cli/exit-codes.ts).
 */
import type { TransportErrorCode } from "../transport/errors.ts";

export type StewardErrorCode =
  | "usage"
  /** Another run holds the lock on what this command needs (one apply per plan). */
  | "busy"
  | "invalid-input"
  | "environment"
  | "stale-plan"
  | "internal"
  // The transport's codes are listed one by one rather than as a single "transport":
  // stages branch on them (unreachable vs command-failed), and a subclass's `code`
  // must stay a subset of this union. Listing them makes the CLI's switch map each.
  | TransportErrorCode;

export class StewardError extends Error {
  readonly code: StewardErrorCode;
  /** One line telling the user how to fix it, printed under the message. */
  readonly hint: string | undefined;

  constructor(code: StewardErrorCode, message: string, hint?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
  }
}

/** Wrong command-line usage: unknown flag, missing argument. */
export class UsageError extends StewardError {
  constructor(message: string, hint?: string) {
    super("usage", message, hint);
  }
}

/** The machine lacks something a command needs (root, Linux, a system package). */
export class EnvironmentError extends StewardError {
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super("environment", message, hint, options);
  }
}
