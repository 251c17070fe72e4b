import { StewardError } from "../core/errors.ts";

/**
 * Typed failures of the transport. Each carries the host and a stable `code`, so the
 * apply stage can tell "unreachable" (counts against the failure budget, no change
 * made) from "command-failed" (the host was touched) without parsing messages.
 * Messages are redacted before construction by the code that raises them.
 */
export type TransportErrorCode =
  | "unreachable"
  | "connect-timeout"
  | "connection-lost"
  | "auth-failed"
  | "host-key-unknown"
  | "host-key-mismatch"
  | "host-key-revoked"
  | "become-failed"
  | "command-timeout"
  | "command-failed"
  | "output-too-large";

/**
 * A StewardError, so a transport failure that escapes a command reaches the CLI's
 * single error-to-exit-code mapping like every other typed surprise.
 */
export class TransportError extends StewardError {
  declare readonly code: TransportErrorCode;
  /** Inventory name of the host. */
  readonly host: string;

  constructor(
    code: TransportErrorCode,
    host: string,
    message: string,
    hint?: string,
    options?: ErrorOptions,
  ) {
    super(code, message, hint, options);
    this.host = host;
  }
}

/** TCP connection refused, no route, DNS failure. Retried while a host boots. */
export class HostUnreachableError extends TransportError {
  constructor(host: string, message: string, options?: ErrorOptions) {
    super("unreachable", host, message, "check the address, port and that sshd runs", options);
  }
}

/** No SSH handshake within the connect timeout (host hung, firewall dropping). */
export class ConnectTimeoutError extends TransportError {
  /** The limit that ran out: the host's own connect timeout, or the transport's. */
  readonly timeoutMs: number;
  constructor(host: string, timeoutMs: number, options?: ErrorOptions) {
    super("connect-timeout", host, `${host}: no SSH handshake within ${timeoutMs} ms`, undefined, options);
    this.timeoutMs = timeoutMs;
  }
}

/** The connection dropped (peer closed, keepalive expired) while in use. */
export class ConnectionLostError extends TransportError {
  /**
   * True when the connection was known to be gone before the command was sent: the
   * command certainly never reached the host. False when it may have (it was sent, or
   * was running, when the connection dropped).
   */
  readonly unsent: boolean;
  constructor(host: string, message: string, options?: ErrorOptions & { unsent?: boolean }) {
    super("connection-lost", host, message, undefined, options);
    this.unsent = options?.unsent ?? false;
  }
}

export class AuthFailedError extends TransportError {
  constructor(host: string, message: string, hint?: string, options?: ErrorOptions) {
    super("auth-failed", host, message, hint, options);
  }
}

/** Details shared by the host-key errors: what was presented and what is known. */
export interface HostKeyDetails {
  /** The name looked up in known_hosts ("[10.0.0.5]:2222"). */
  lookupName: string;
  keyType: string;
  /** OpenSSH-style "SHA256:..." fingerprint of the presented key. */
  fingerprint: string;
  /** Fingerprints and origins ("known_hosts:12", "inventory") of the keys on record. */
  known: Array<{ fingerprint: string; keyType: string; source: string }>;
}

export class HostKeyUnknownError extends TransportError {
  readonly details: HostKeyDetails;
  constructor(host: string, message: string, details: HostKeyDetails, hint: string) {
    super("host-key-unknown", host, message, hint);
    this.details = details;
  }
}

export class HostKeyMismatchError extends TransportError {
  readonly details: HostKeyDetails;
  constructor(host: string, message: string, details: HostKeyDetails) {
    super(
      "host-key-mismatch",
      host,
      message,
      "if the host was legitimately reinstalled, update its entry in known_hosts (ssh-keygen -R) in a reviewed commit",
    );
    this.details = details;
  }
}

export class HostKeyRevokedError extends TransportError {
  readonly details: HostKeyDetails;
  constructor(host: string, message: string, details: HostKeyDetails) {
    super("host-key-revoked", host, message, "the presented key is marked @revoked; re-key the host");
    this.details = details;
  }
}

/** Why privilege escalation could not happen. */
export type BecomeFailure = "password-required" | "not-permitted" | "sudo-missing" | "not-configured";

export class BecomeError extends TransportError {
  readonly reason: BecomeFailure;
  constructor(host: string, reason: BecomeFailure, message: string, hint: string) {
    super("become-failed", host, message, hint);
    this.reason = reason;
  }
}

/** What a finished or stopped command left behind, for error reports. */
export interface CommandOutcome {
  command: string;
  exitCode: number | null;
  signal: string | null;
  stdoutTail: string;
  stderrTail: string;
}

/** A command exited non-zero or was killed by a signal (and `check` was on). */
export class ExecError extends TransportError implements CommandOutcome {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdoutTail: string;
  readonly stderrTail: string;

  constructor(host: string, outcome: CommandOutcome) {
    const status = outcome.signal !== null ? `signal ${outcome.signal}` : `exit code ${outcome.exitCode}`;
    const lastLine = lastNonEmptyLine(outcome.stderrTail) ?? lastNonEmptyLine(outcome.stdoutTail);
    super(
      "command-failed",
      host,
      `${host}: command failed with ${status}: ${outcome.command}${lastLine === undefined ? "" : `\n  ${lastLine}`}`,
    );
    this.command = outcome.command;
    this.exitCode = outcome.exitCode;
    this.signal = outcome.signal;
    this.stdoutTail = outcome.stdoutTail;
    this.stderrTail = outcome.stderrTail;
  }
}

/** A command outlived its timeout. `killed` says whether its processes are known gone. */
export class CommandTimeoutError extends TransportError implements CommandOutcome {
  readonly command: string;
  readonly exitCode = null;
  readonly signal: string | null;
  readonly stdoutTail: string;
  readonly stderrTail: string;
  readonly timeoutMs: number;
  readonly killed: boolean;

  constructor(
    host: string,
    outcome: Omit<CommandOutcome, "exitCode">,
    timeoutMs: number,
    killed: boolean,
  ) {
    super(
      "command-timeout",
      host,
      `${host}: command timed out after ${timeoutMs} ms${killed ? " and was killed" : "; killing it could not be confirmed"}: ${outcome.command}`,
    );
    this.command = outcome.command;
    this.signal = outcome.signal;
    this.stdoutTail = outcome.stdoutTail;
    this.stderrTail = outcome.stderrTail;
    this.timeoutMs = timeoutMs;
    this.killed = killed;
  }
}

/**
 * A command printed more than its output budget (`ExecOptions.maxOutputBytes`, stdout
 * and stderr together) and was killed, so a host that floods its output costs bounded
 * memory and time. `killed` says whether its processes are known gone.
 */
export class OutputTooLargeError extends TransportError implements CommandOutcome {
  readonly command: string;
  readonly exitCode = null;
  readonly signal: string | null;
  readonly stdoutTail: string;
  readonly stderrTail: string;
  /** The budget that was exceeded, in bytes. */
  readonly limitBytes: number;
  readonly killed: boolean;

  constructor(host: string, outcome: Omit<CommandOutcome, "exitCode">, limitBytes: number, killed: boolean) {
    super(
      "output-too-large",
      host,
      `${host}: output too large: ${outcome.command} printed more than ${limitBytes} bytes (its limit)${killed ? " and was killed" : "; killing it could not be confirmed"}`,
      "find out why the host prints so much; the limit is ExecOptions.maxOutputBytes",
    );
    this.command = outcome.command;
    this.signal = outcome.signal;
    this.stdoutTail = outcome.stdoutTail;
    this.stderrTail = outcome.stderrTail;
    this.limitBytes = limitBytes;
    this.killed = killed;
  }
}

function lastNonEmptyLine(text: string): string | undefined {
  const lines = text.split("\n").filter((line) => line.trim().length > 0);
  return lines[lines.length - 1];
}
