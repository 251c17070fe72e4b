import { spawn } from "node:child_process";
import { becomeNotConfigured, becomeProbeFailure } from "../become.ts";
import { AuthFailedError, CommandTimeoutError, ExecError, OutputTooLargeError } from "../errors.ts";
import { DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_TAIL_BYTES, OutputBudget, OutputCollector, settleExec } from "../output.ts";
import type { Become, ExecOptions, ExecResult, HostTarget, Session, TransportDriver, TransportOptions } from "../types.ts";

/** Same default as the SSH transport, so a step behaves alike on either. */
const DEFAULT_EXEC_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * The only variables a local command sees: enough for a shell and the usual tools to
 * work, and nothing that grants anything (no GITHUB_TOKEN, no SSH_AUTH_SOCK, no
 * *_TOKEN/*_PASSWORD, no STEWARD_* settings). The commands come from the repository's
 * YAML, which a pull request may have written.
 */
export const LOCAL_ENV_NAMES = ["PATH", "HOME", "LANG", "LC_ALL", "USER", "LOGNAME", "TMPDIR", "SHELL"] as const;

/** PATH when the environment has none, so `bash` and the usual tools are found. */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The environment of a local command: {@link LOCAL_ENV_NAMES} taken from `env`, nothing else. */
export function localEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { PATH: DEFAULT_PATH };
  for (const name of LOCAL_ENV_NAMES) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * Connecting to a `transport: local` host while the run has not allowed it. An
 * authorisation failure (code `auth-failed`): this machine refuses to run the host's
 * commands, because they would run here, next to the run's credentials.
 */
export class LocalTransportDisabledError extends AuthFailedError {
  constructor(host: string) {
    // One line that says how to enable it: facts tables and plans show only the message.
    super(
      host,
      `${host}: transport: local is disabled: its commands would run on this machine, written by whoever can change the repository's YAML; pass --allow-local or set STEWARD_ALLOW_LOCAL=1 where that YAML is trusted`,
      "never enable it for pull requests: their YAML would run next to CI's credentials",
    );
  }
}

/**
 * The control machine itself, with the same contract as a remote host: commands run
 * under `bash -c` in their own process group, so a timeout kills the whole tree, with
 * the same output tails, redaction, exit and signal reporting as SSH. Commands get
 * {@link localEnvironment}, never steward's own environment.
 */
export const create: TransportDriver["create"] = (options) => {
  const probes = new Map<string, Promise<void>>();
  const running = new Set<() => void>();
  return {
    async connect(target): Promise<Session> {
      return {
        target,
        exec: async (command, execOptions = {}) => {
          const become = execOptions.become === true ? await ensureBecome(target, options, probes) : false;
          return runLocal(target, command, become, execOptions, options, running);
        },
        prepareBecome: () => ensureBecome(target, options, probes).then(() => undefined),
        close: async () => undefined,
      };
    },
    async close() {
      for (const kill of running) kill();
    },
  };
};

function ensureBecome(target: HostTarget, options: TransportOptions, probes: Map<string, Promise<void>>): Promise<Become> {
  const become = target.become;
  if (become === false) return Promise.reject(becomeNotConfigured(target.name));
  let probe = probes.get(become.user);
  if (probe === undefined) {
    probe = runLocal(target, "true", become, { check: false, timeoutMs: 30_000 }, options, new Set()).then((result) => {
      const failure = becomeProbeFailure(target.name, process.env["USER"] ?? "the current user", become, result);
      if (failure !== undefined) throw failure;
    });
    probes.set(become.user, probe);
  }
  return probe.then(() => become);
}

function runLocal(
  target: HostTarget,
  command: string,
  become: Become,
  options: ExecOptions,
  transportOptions: TransportOptions,
  running: Set<() => void>,
): Promise<ExecResult> {
  const redactor = transportOptions.redactor;
  const shown = options.label ?? redactor?.redact(command) ?? command;
  const tailBytes = options.tailBytes ?? DEFAULT_TAIL_BYTES;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  let overflow = (): void => undefined;
  const budget = new OutputBudget(maxOutputBytes, () => overflow());
  const stdout = new OutputCollector(tailBytes, redactor, options.onStdout, budget);
  const stderr = new OutputCollector(tailBytes, redactor, options.onStderr, budget);
  const started = Date.now();
  // --norc: bash reads ~/.bashrc when its stdin is a socket (libuv pipes are), as under rshd;
  // the command must see the environment chosen here, not what a profile adds.
  const shell = ["bash", "--norc", "-c", command];
  const [file, ...args] = become === false ? shell : ["sudo", "-n", "-u", become.user, "--", ...shell];
  const child = spawn(file ?? "bash", args, { detached: true, stdio: ["pipe", "pipe", "pipe"], env: localEnvironment(transportOptions.env ?? process.env) });
  child.stdout.on("data", (data: Buffer) => stdout.push(data));
  child.stderr.on("data", (data: Buffer) => stderr.push(data));
  // A command that exits without reading its input closes the pipe; that is not an error.
  child.stdin.on("error", () => undefined);
  child.stdin.end(options.stdin);

  return new Promise<ExecResult>((resolve, reject) => {
    let timedOut = false;
    const kill = (): void => {
      if (child.pid === undefined) return;
      const group = -child.pid;
      try {
        // The negative PID addresses the process group `detached` created.
        process.kill(group, "SIGKILL");
      } catch (error) {
        // Under become the group belongs to another user: kill it with the same privilege.
        if ((error as NodeJS.ErrnoException).code === "EPERM") {
          spawn("sudo", ["-n", "kill", "-KILL", "--", String(group)], { stdio: "ignore" }).on("error", () => undefined);
        }
      }
    };
    running.add(kill);
    overflow = kill;
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      running.delete(kill);
      reject(new ExecError(target.name, { command: shown, exitCode: null, signal: null, stdoutTail: "", stderrTail: redactor?.redact(error.message) ?? error.message }));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(kill);
      const out = stdout.end();
      const err = stderr.end();
      if (budget.exceeded) {
        reject(new OutputTooLargeError(target.name, { command: shown, signal, stdoutTail: out.text, stderrTail: err.text }, maxOutputBytes, true));
        return;
      }
      if (timedOut) {
        reject(new CommandTimeoutError(target.name, { command: shown, signal, stdoutTail: out.text, stderrTail: err.text }, timeoutMs, true));
        return;
      }
      try {
        resolve(settleExec(target.name, shown, { exitCode: code, signal }, out, err, started, options.check));
      } catch (error) {
        reject(error);
      }
    });
  });
}
