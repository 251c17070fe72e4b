/** Where a command writes. Injected so tests capture output without patching globals. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** A command of the CLI: parses its own arguments, calls the core, renders, returns an exit code. */
export interface Command {
  summary: string;
  usage: string;
  run: (argv: string[], io: CliIO) => Promise<number>;
}
