import { StewardError } from "../core/errors.ts";

/**
 * Exit codes, one meaning each (documented in README.md, "Exit codes").
 * Bolt's split is the model: success, some targets failed, tool error — refined so a
 * script can tell a halted rollout from bad input from a stale plan.
 */
export const ExitCode = {
  ok: 0,
  hostsFailed: 1,
  usage: 2,
  invalidInput: 3,
  halted: 4,
  stalePlan: 5,
  environment: 6,
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(error: unknown): ExitCode {
  if (!(error instanceof StewardError)) return ExitCode.internal;
  switch (error.code) {
    case "usage":
      return ExitCode.usage;
    case "invalid-input":
      return ExitCode.invalidInput;
    case "environment":
      return ExitCode.environment;
    case "stale-plan":
      return ExitCode.stalePlan;
    case "internal":
      return ExitCode.internal;
  }
}
