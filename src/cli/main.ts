import { exitCodeFor, ExitCode } from "./exit-codes.ts";
import { processIO, type CliIO, type CommandIO } from "./io.ts";
import { commands } from "./commands/index.ts";
import { toolVersion } from "./version.ts";
import { StewardError } from "../core/errors.ts";
import { RunSecrets } from "../core/secrets.ts";
import { terminalText } from "../core/text.ts";
import { inActions } from "../audit/approval.ts";
import { InertStream, trustedCommands } from "./workflow-commands.ts";

function help(): string {
  const names = Object.keys(commands).sort();
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${commands[n]!.summary}`);
  return `usage: steward <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'steward <command> --help' for a command's options.\n`;
}

/**
 * The IO every command writes through: each write first flushes the `::add-mask::`
 * lines of secrets registered since the last write (GitHub Actions only), then the
 * text with every secret redacted — the last line of defence for anything the core
 * did not redact where it entered. In GitHub Actions every workflow command in that
 * text is then made inert (src/cli/workflow-commands.ts): hosts' output reaches these
 * lines, and the runner would execute a `::stop-commands::` or `##[add-mask]` in it.
 * Steward's own commands go through `workflowCommands`.
 */
function secureIO(io: CliIO, secrets: RunSecrets): CommandIO {
  const actions = inActions(io.env);
  const out = new InertStream();
  const err = new InertStream();
  const masks = (): void => {
    const lines = secrets.takeMasks();
    if (lines !== "") io.stdout(trustedCommands(out, lines));
  };
  return {
    env: io.env,
    cwd: io.cwd,
    ...(io.isTTY !== undefined ? { isTTY: io.isTTY } : {}),
    ...(io.onSignal ? { onSignal: io.onSignal } : {}),
    secrets,
    stdout: (text) => {
      masks();
      const safe = secrets.redact(text);
      io.stdout(actions ? out.inert(safe) : safe);
    },
    stderr: (text) => {
      masks();
      const safe = secrets.redact(text);
      io.stderr(actions ? err.inert(safe) : safe);
    },
    workflowCommands: (text) => {
      masks();
      const safe = secrets.redact(text);
      if (safe !== "") io.stdout(actions ? trustedCommands(out, safe) : safe);
    },
  };
}

/**
 * Runs the CLI; returns the exit code. The only place errors become exit codes. The
 * run's secrets are created here, once, from `raw.env`; every write is redacted.
 */
export async function main(argv: string[], raw: CliIO = processIO()): Promise<number> {
  const io = secureIO(raw, new RunSecrets(raw.env));
  try {
    return await dispatch(argv, io);
  } finally {
    // Secrets registered after the last write are masked too: later steps of the job may print them.
    io.workflowCommands("");
  }
}

async function dispatch(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(help());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === "--version") {
    io.stdout(`${await toolVersion()}\n`);
    return ExitCode.ok;
  }
  const command = commands[name];
  if (!command) {
    io.stderr(`steward: unknown command '${terminalText(name)}'\n\n${help()}`);
    return ExitCode.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(`${command.helpFor?.(rest) ?? command.usage}\n`);
    return ExitCode.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // node:util parseArgs reports unknown or malformed flags with these codes.
    if (String((error as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`steward ${name}: ${terminalText((error as Error).message)}\n\n${command.usage}\n`);
      return ExitCode.usage;
    }
    const code = exitCodeFor(error);
    // Messages quote hosts and YAML: printed through terminalText, never raw.
    if (error instanceof StewardError) {
      io.stderr(`steward ${name}: ${terminalText(error.message)}\n`);
      if (error.hint) io.stderr(`  hint: ${terminalText(error.hint)}\n`);
    } else {
      io.stderr(`steward ${name}: internal error: ${terminalText(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    }
    return code;
  }
}

export { toolVersion };
