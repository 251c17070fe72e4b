import { StewardError } from "../core/errors.ts";

/**
 * Exit codes, one meaning each (documented in README.md, "Exit codes").
 * Bolt's split is the model: success, some targets failed, tool error — refined so a
 * script can tell a halted rollout from bad input from a stale plan.
 */
export const ExitCode = {
  ok: 0,
  /**
   * One or more hosts failed: reported as results, or a transport error (unreachable,
   * host key, auth, sudo, timeout, failed command) that stopped the command. Both mean
   * "the tool worked; hosts did not", so they share this code; a bad host key is not
   * `environment` (6), which is about the machine steward runs on.
   */
  hostsFailed: 1,
  usage: 2,
  invalidInput: 3,
  halted: 4,
  stalePlan: 5,
  environment: 6,
  /** Another run holds the plan's lock: nothing was done; wait, or stop that run and resume it. */
  busy: 7,
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(error: unknown): ExitCode {
  if (!(error instanceof StewardError)) return ExitCode.internal;
  switch (error.code) {
    case "usage":
      return ExitCode.usage;
    case "busy":
      return ExitCode.busy;
    case "invalid-input":
      return ExitCode.invalidInput;
    case "environment":
      return ExitCode.environment;
    case "stale-plan":
      return ExitCode.stalePlan;
    case "internal":
      return ExitCode.internal;
    case "unreachable":
    case "connect-timeout":
    case "connection-lost":
    case "auth-failed":
    case "host-key-unknown":
    case "host-key-mismatch":
    case "host-key-revoked":
    case "become-failed":
    case "command-timeout":
    case "command-failed":
    case "output-too-large":
      return ExitCode.hostsFailed;
  }
}
