import type { Readable } from "node:stream";
import type { ClientChannel } from "ssh2";
import { becomeNotConfigured, becomeProbeFailure } from "../become.ts";
import { CommandTimeoutError, ConnectionLostError, OutputTooLargeError } from "../errors.ts";
import { DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_TAIL_BYTES, OutputBudget, OutputCollector, settleExec } from "../output.ts";
import { becomePrefix, execCommand, killTreeScript, shellCommand } from "../shell.ts";
import type { Become, ExecOptions, ExecResult, HostTarget } from "../types.ts";
import type { SshConnection } from "./connection.ts";
import { PidHeader } from "./pid-header.ts";

/** Default per-command limit: long enough for a package upgrade, short of forever. */
export const DEFAULT_EXEC_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Runs one command on a pooled connection. The command is wrapped so that its shell
 * first prints its PID on a tagged line of its own (PidHeader: the login shell's startup
 * files may print before it), then `exec`s the command (a plain program and arguments
 * directly, anything else through `/bin/sh -c`: execCommand): sshd makes that shell a session and
 * process-group leader, so on timeout a second channel can kill the whole tree —
 * signalling the channel alone leaves children such as `sleep` or `apt` running.
 */
export async function execOnConnection(
  connection: SshConnection,
  target: HostTarget,
  command: string,
  options: ExecOptions,
  killTimeoutMs: number,
): Promise<ExecResult> {
  const become = options.become === true ? await ensureBecome(connection, target) : false;
  const release = await connection.channels.acquire();
  try {
    return await runChannel(connection, target.name, command, become, options, killTimeoutMs);
  } finally {
    release();
  }
}

async function runChannel(
  connection: SshConnection,
  host: string,
  command: string,
  become: Become,
  options: ExecOptions,
  killTimeoutMs: number,
): Promise<ExecResult> {
  const shown = options.label ?? connection.redact(command);
  const started = Date.now();
  // The limit starts before the channel is open: a hung host never answers the open,
  // and its command must still time out instead of waiting for keepalive to give up.
  const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const header = new PidHeader();
  const opening = connection.openExec(`${header.command}; exec ${become === false ? execCommand(command) : shellCommand(command, become)}`);
  const channel = await Promise.race([opening, expired]).catch((error: unknown) => {
    clearTimeout(timer);
    throw error;
  });
  if (channel === "timeout") {
    // Should the host wake up and open it after all, the channel is closed at once.
    void opening.then((late) => late.close(), () => undefined);
    throw new CommandTimeoutError(host, { command: shown, signal: null, stdoutTail: "", stderrTail: "" }, timeoutMs, false);
  }
  const tailBytes = options.tailBytes ?? DEFAULT_TAIL_BYTES;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  let overflowed = (): void => undefined;
  const overflow = new Promise<"overflow">((resolve) => {
    overflowed = () => resolve("overflow");
  });
  const budget = new OutputBudget(maxOutputBytes, () => overflowed());
  const stdout = new OutputCollector(tailBytes, connection.redactor, options.onStdout, budget);
  const stderr = new OutputCollector(tailBytes, connection.redactor, options.onStderr, budget);

  channel.on("data", (data: Buffer) => {
    const out = header.push(data);
    if (out.length > 0) stdout.push(out);
  });
  channel.stderr.on("data", (data: Buffer) => stderr.push(data));

  let exited = false;
  let exitCode: number | null = null;
  let signal: string | null = null;
  channel.on("exit", (code: number | null, signalName?: string) => {
    exited = true;
    exitCode = code;
    signal = code === null ? (signalName ?? null) : null;
  });
  const closed = new Promise<void>((resolve) =>
    channel.once("close", (code?: number | null, signalName?: string) => {
      // Output that never reached a PID line (the wrapper did not run) is still output.
      const held = header.end();
      if (held.length > 0) stdout.push(held);
      // ssh2 repeats the exit status on "close". The "exit" event alone can be missed:
      // when sshd's exec reply and exit status arrive in one read, ssh2 emits "exit"
      // before the code awaiting openExec has attached its listener.
      if (!exited && code !== undefined) {
        exited = true;
        exitCode = code;
        signal = code === null ? (signalName ?? null) : null;
      }
      resolve();
    }),
  );
  channel.end(options.stdin);

  const first = await Promise.race([closed.then(() => "closed" as const), expired, overflow]);
  clearTimeout(timer);

  if (first !== "closed") {
    const pid = header.pid;
    // Without a PID only the channel signal can stop the command.
    const killed = pid !== undefined ? await killTree(connection, channel, pid, become, killTimeoutMs) : signalOnly(channel);
    await Promise.race([closed, delay(killTimeoutMs)]);
    const out = stdout.end();
    const err = stderr.end();
    const outcome = { command: shown, signal, stdoutTail: out.text, stderrTail: err.text };
    if (first === "overflow") throw new OutputTooLargeError(host, outcome, maxOutputBytes, killed);
    throw new CommandTimeoutError(host, outcome, timeoutMs, killed);
  }

  // "close" can overtake the last buffered "data" events; drain them before the tails are read.
  await Promise.race([Promise.all([ended(channel), ended(channel.stderr)]), delay(1000)]);
  const out = stdout.end();
  const err = stderr.end();
  if (!exited) {
    const lost = connection.lost;
    throw new ConnectionLostError(
      host,
      `${lost?.message ?? `${host}: channel closed without an exit status`} (while running: ${shown})`,
    );
  }
  return settleExec(host, shown, { exitCode, signal }, out, err, started, options.check);
}

/**
 * Kills the command's process tree from a second channel (with sudo when the command
 * ran as another user). Resolves true only when the script confirmed nothing is left.
 */
async function killTree(
  connection: SshConnection,
  channel: ClientChannel,
  pid: number,
  become: Become,
  killTimeoutMs: number,
): Promise<boolean> {
  try {
    // The channel signal reaches only the top process, and older sshd ignore it;
    // it is sent anyway because it is instant where it works.
    channel.signal("KILL");
  } catch {
    // The channel may already be closing; the tree kill below is what counts.
  }
  const attempt = (async (): Promise<boolean> => {
    const killer = await connection.openExec(shellCommand(killTreeScript(pid), become));
    const status = new Promise<number | null>((resolve) => {
      killer.on("exit", (code: number | null) => resolve(code));
      killer.once("close", () => resolve(null));
    });
    killer.resume();
    killer.stderr.resume();
    killer.end();
    return (await status) === 0;
  })().catch(() => false);
  const confirmed = await Promise.race([attempt, delay(killTimeoutMs).then(() => false)]);
  channel.close();
  return confirmed;
}

/** Without the wrapper's PID: signal the channel and close it; nothing confirms the kill. */
function signalOnly(channel: ClientChannel): false {
  try {
    channel.signal("KILL");
  } catch {
    // The channel may already be closing.
  }
  channel.close();
  return false;
}

/** Checks once per connection and user that sudo runs without a password; resolves to the target's become. */
export function ensureBecome(connection: SshConnection, target: HostTarget): Promise<Become> {
  const become = target.become;
  if (become === false) return Promise.reject(becomeNotConfigured(target.name));
  let probe = connection.becomeProbes.get(become.user);
  if (probe === undefined) {
    probe = execOnConnection(connection, target, `${becomePrefix(become)} true`, { check: false, timeoutMs: 30_000 }, 5_000).then(
      (result) => {
        const failure = becomeProbeFailure(target.name, target.user, become, result);
        if (failure !== undefined) throw failure;
      },
    );
    connection.becomeProbes.set(become.user, probe);
  }
  return probe.then(() => become);
}

function ended(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
