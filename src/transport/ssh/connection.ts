import type { Duplex } from "node:stream";
import type { Client, ClientChannel } from "ssh2";
import type { Redactor } from "../../core/redact.ts";
import { ConnectionLostError, type TransportError } from "../errors.ts";
import { Semaphore } from "../limiter.ts";
import type { HostTarget } from "../types.ts";

/**
 * One authenticated SSH connection to a host, shared by every command of the run.
 * Commands run on channels, at most `maxChannels` at once (sshd's MaxSessions defaults
 * to 10; staying below it leaves room for the channel that kills a timed-out command).
 */
export class SshConnection {
  readonly channels: Semaphore;
  /** Set once the connection is gone; later operations fail with it. */
  private lostError: TransportError | undefined;
  private lastError: Error | undefined;
  private readonly closed: Promise<void>;
  /** One sudo probe per become user, shared by the commands that need it. */
  readonly becomeProbes = new Map<string, Promise<void>>();

  constructor(
    readonly target: HostTarget,
    private readonly client: Client,
    maxChannels: number,
    readonly redactor: Redactor | undefined,
  ) {
    this.channels = new Semaphore(maxChannels);
    client.on("error", (error: Error) => {
      // After "ready", errors are keepalive expiry or protocol faults; "close" follows.
      this.lastError = error;
    });
    this.closed = new Promise((resolve) => {
      client.once("close", () => {
        const reason = this.lastError === undefined ? "the server closed the connection" : this.lastError.message;
        this.lostError ??= new ConnectionLostError(target.name, `${target.name}: connection lost: ${this.redact(reason)}`);
        resolve();
      });
    });
  }

  /** The reason the connection is unusable, or undefined while it is alive. */
  get lost(): TransportError | undefined {
    return this.lostError;
  }

  redact(text: string): string {
    return this.redactor?.redact(text) ?? text;
  }

  /**
   * Opens an exec channel (no pty: output stays byte-exact and stdin is not echoed).
   * On a connection already known to be gone it fails at once with a ConnectionLostError
   * that is `unsent`: nothing was sent to the host.
   */
  openExec(command: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      const lost = this.lostError;
      if (lost !== undefined) return reject(lost instanceof ConnectionLostError ? new ConnectionLostError(lost.host, lost.message, { cause: lost, unsent: true }) : lost);
      this.client.exec(command, (error, channel) => {
        if (error !== undefined && error !== null) {
          reject(this.lostError ?? new ConnectionLostError(this.target.name, `${this.target.name}: cannot open a channel: ${this.redact(error.message)}`));
        } else resolve(channel);
      });
    });
  }

  /** A TCP stream to `host:port` opened from this host: the next hop of a jump chain. */
  forward(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      if (this.lostError !== undefined) return reject(this.lostError);
      this.client.forwardOut("127.0.0.1", 0, host, port, (error, stream) => {
        if (error !== undefined && error !== null) reject(error);
        else resolve(stream);
      });
    });
  }

  /** Resolves when the connection has closed, for whatever reason. */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  /** Closes the connection; channels still open end with ConnectionLostError. */
  async end(): Promise<void> {
    this.lostError ??= new ConnectionLostError(this.target.name, `${this.target.name}: connection closed by the transport`);
    this.client.end();
    // A peer that never answers the disconnect must not hold up the run's shutdown. ssh2's
    // Client.destroy() does nothing once end() has run (it destroys the socket only while
    // it is writable, lib/client.js), so a frozen peer's socket is destroyed directly.
    const timer = setTimeout(() => {
      this.client.destroy();
      (this.client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
    }, 2000);
    await this.closed;
    clearTimeout(timer);
  }
}
