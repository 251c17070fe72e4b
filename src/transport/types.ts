import type { Redactor } from "../core/redact.ts";

/**
 * The contract every later stage runs commands through. A run opens one Transport,
 * connects to each host (one connection per host, reused for every command), runs
 * commands on sessions, and closes the Transport at the end of the run.
 */

/** How commands reach a host: which folder under src/transport/ serves it. */
export type TransportKind = "ssh" | "local";

/** Privilege escalation for commands that ask for it (`exec(..., { become: true })`). */
export type Become = false | { method: "sudo"; user: string };

/** One host as the inventory describes it. */
export interface HostTarget {
  /** Inventory name, used in messages and errors. */
  name: string;
  /** DNS name or IP address to connect to. */
  address: string;
  port: number;
  user: string;
  become: Become;
  /**
   * Keys pinned in the inventory, in known_hosts key form ("ssh-ed25519 AAAA...").
   * They are trusted in addition to the known_hosts files.
   */
  hostKeys: string[];
  /**
   * Name under which the host's keys are looked up in known_hosts, as OpenSSH's
   * `HostKeyAlias`. Defaults to `address` (bare for port 22, `[address]:port` otherwise).
   */
  hostKeyAlias?: string;
  /** Jump host this host is reached through; may itself have a `via` (chained). */
  via?: HostTarget;
  transport: TransportKind;
  /** Private key file; when absent only the ssh-agent (`SSH_AUTH_SOCK`) is used. */
  identityFile?: string;
  /** Name of the environment variable holding the identity file's passphrase. */
  identityPassphraseEnv?: string;
  /**
   * Limit on connecting to this host: TCP connect, SSH handshake and authentication,
   * plus the forwarded channel when it is reached through a jump host. Each hop of a
   * jump chain is bounded by its own value. Defaults to the transport's `connectTimeoutMs`.
   */
  connectTimeoutMs?: number;
}

/** Options of one command. */
export interface ExecOptions {
  /** Wall-clock limit; on expiry the remote process group is killed. Default 10 min. */
  timeoutMs?: number;
  /** Written to the command's standard input, which is then closed. */
  stdin?: string | Buffer;
  /** Run through the host's `become` (sudo -n). Fails when the host has none. */
  become?: boolean;
  /** Receives redacted stdout text as it arrives. */
  onStdout?: (chunk: string) => void;
  /** Receives redacted stderr text as it arrives. */
  onStderr?: (chunk: string) => void;
  /** Bytes of each stream kept in memory for the result. Default 64 KiB. */
  tailBytes?: number;
  /**
   * Output budget: bytes of stdout and stderr together the command may print. Past it
   * the command's process tree is killed (as on a timeout) and the exec rejects with
   * `OutputTooLargeError`. Default `DEFAULT_MAX_OUTPUT_BYTES` (64 MiB).
   */
  maxOutputBytes?: number;
  /**
   * What results and errors call the command ("facts script", "current_version probe
   * of app") instead of quoting its text: a script with values filled in may hold
   * secrets, and a long one makes an unreadable message. Default: the command, redacted.
   */
  label?: string;
  /**
   * When true (default) a non-zero exit or a signal rejects with `ExecError`; when
   * false the result is returned and the caller judges `exitCode` itself (checks whose
   * failure is an expected outcome, such as `test -f`).
   */
  check?: boolean;
}

/** The outcome of a command that ran to completion (or was killed by a signal). */
export interface ExecResult {
  host: string;
  /** `ExecOptions.label`, else the command as given (redacted), without the transport's wrapping. */
  command: string;
  /** Exit status; null when the process was killed by a signal. */
  exitCode: number | null;
  /** Signal name as Node spells it ("SIGKILL", "SIGTERM"), or null. */
  signal: string | null;
  /** Last `tailBytes` of stdout, redacted. */
  stdout: string;
  stderr: string;
  /** True when more output was produced than the tail holds. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
}

/** A connected host. Commands on one session may run concurrently. */
export interface Session {
  readonly target: HostTarget;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /**
   * Starts the connection's once-per-user check that `become` works without a password
   * (the probe the first `exec(..., { become: true })` would otherwise run first), so a
   * caller can overlap it with commands that need no become. Resolves once it passed;
   * rejects with the BecomeError that exec would throw. Optional: a session without it
   * probes on its first become exec.
   */
  prepareBecome?(): Promise<void>;
  /** Releases this session; the connection stays pooled until the Transport closes. */
  close(): Promise<void>;
}

/** What connect() may consult and how it behaves; shared by every transport kind. */
export interface TransportOptions {
  /** known_hosts files, read in order; the first receives `accept-new` additions. */
  knownHostsFiles?: string[];
  /**
   * `strict` (default): unknown keys fail. `accept-new`: an unknown host's key is
   * recorded on first contact — refused when the `CI` environment variable is set,
   * since a CI runner has no human to notice a spoofed first contact.
   */
  hostKeyPolicy?: "strict" | "accept-new";
  /** Secrets to scrub from every output path. */
  redactor?: Redactor;
  /** TCP connect plus handshake plus authentication, for targets that set none. Default 20 s. */
  connectTimeoutMs?: number;
  /** Retries of connects refused or timed out (a host still booting). Default 2. */
  connectRetries?: number;
  /** First retry delay, doubled each time. Default 1 s. */
  retryBaseDelayMs?: number;
  /** Keepalive probe interval; a dead peer is declared after 3 missed probes. Default 10 s. */
  keepaliveIntervalMs?: number;
  /** Concurrent channels per connection; more commands queue. Default 8 (sshd allows 10). */
  maxChannelsPerConnection?: number;
  /** Open connections at once; derived from the open-file limit when absent. */
  maxConnections?: number;
  /** New connections started per second, to spare bastions and sshd's MaxStartups. */
  connectsPerSecond?: number;
  /** Grace period for killing a timed-out command. Default 5 s. */
  killTimeoutMs?: number;
  /** Environment consulted for passphrases, `SSH_AUTH_SOCK` and `CI`. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A set of connections for one run. */
export interface Transport {
  connect(target: HostTarget): Promise<Session>;
  /** Closes every connection; running commands fail with ConnectionLostError. */
  close(): Promise<void>;
}

/** One folder under src/transport/: how to make a Transport of its kind. */
export interface TransportDriver {
  kind: TransportKind;
  create(options: TransportOptions): Transport;
}
