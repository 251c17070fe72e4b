import type { RunSecrets } from "../core/secrets.ts";

/** Where a command writes. Injected so tests capture output without patching globals. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** True when stdout is a terminal (live progress views); false or absent otherwise. */
  isTTY?: boolean;
  /**
   * Calls `handler` on SIGINT and SIGTERM until the returned function is called; absent
   * where nothing sends signals (tests that inject IO).
   */
  onSignal?: (handler: (signal: string) => void) => () => void;
}

export function processIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    isTTY: process.stdout.isTTY === true,
    onSignal: (handler) => {
      const listener = (signal: NodeJS.Signals): void => handler(signal);
      process.on("SIGINT", listener);
      process.on("SIGTERM", listener);
      return () => {
        process.off("SIGINT", listener);
        process.off("SIGTERM", listener);
      };
    },
  };
}

/**
 * What a command receives: the CLI's IO, whose writes are already redacted, and the
 * run's secrets, created once by `main` from `env`, to pass to the core.
 */
export interface CommandIO extends CliIO {
  secrets: RunSecrets;
  /**
   * Writes steward's own GitHub workflow commands (annotations) to stdout, redacted. In
   * Actions, `stdout` and `stderr` make every workflow command in their text inert
   * (src/cli/workflow-commands.ts), so a host's output cannot issue one; this is the
   * one way to issue them: only well-formed command lines pass, anything else is made
   * inert like all output. Outside Actions it writes like `stdout`.
   */
  workflowCommands: (text: string) => void;
}

/** A command of the CLI: parses its own arguments, calls the core, renders, returns an exit code. */
export interface Command {
  summary: string;
  usage: string;
  /** The help for these arguments when it is not `usage` (a subcommand's own options). */
  helpFor?: (argv: readonly string[]) => string | undefined;
  run: (argv: string[], io: CommandIO) => Promise<number>;
}
