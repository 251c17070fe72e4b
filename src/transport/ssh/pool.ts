import type { Redactor } from "../../core/redact.ts";
import { HostUnreachableError, TransportError } from "../errors.ts";
import { RateLimiter, Semaphore } from "../limiter.ts";
import type { HostTarget } from "../types.ts";
import { isRetryable, openClient, type ConnectSettings } from "./connect.ts";
import { SshConnection } from "./connection.ts";
import { ConnectDeadline } from "./deadline.ts";

export interface PoolSettings extends ConnectSettings {
  maxConnections: number;
  connectsPerSecond: number;
  connectRetries: number;
  retryBaseDelayMs: number;
  maxChannelsPerConnection: number;
  redactor: Redactor | undefined;
}

interface Entry {
  connection: Promise<SshConnection>;
  /** Sessions (and jump-host dependants) using it; idle entries may be evicted. */
  refs: number;
  lastUsed: number;
}

/**
 * The run's connections, one per host and credential, reused by every session. Direct
 * connections each hold a socket, so they share a slot budget sized to the open-file
 * limit; when it is exhausted an idle connection is closed before a new one is opened.
 * Jump-host legs ride on the bastion's socket and take no slot of their own.
 */
export class ConnectionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly slots: Semaphore;
  private readonly rate: RateLimiter;
  private closing = false;

  constructor(private readonly settings: PoolSettings) {
    this.slots = new Semaphore(settings.maxConnections);
    this.rate = new RateLimiter(settings.connectsPerSecond);
  }

  /** A live connection to `target`, taking a reference the caller must `release`. */
  async acquire(target: HostTarget): Promise<SshConnection> {
    if (this.closing) throw new TransportError("connection-lost", target.name, `${target.name}: the transport is closed`);
    const key = connectionKey(target);
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      const existing = await entry.connection.catch(() => undefined);
      if (existing !== undefined && existing.lost !== undefined && this.entries.get(key) === entry) this.entries.delete(key);
      entry = this.entries.get(key);
    }
    if (entry === undefined) {
      entry = { connection: this.open(target), refs: 0, lastUsed: Date.now() };
      this.entries.set(key, entry);
    }
    entry.refs++;
    try {
      return await entry.connection;
    } catch (error) {
      entry.refs--;
      // A failed dial is not cached: the next connect tries afresh.
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw error;
    }
  }

  /** Drops a reference taken by `acquire`. The connection stays open for reuse. */
  release(target: HostTarget): void {
    const key = connectionKey(target);
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.refs = Math.max(0, entry.refs - 1);
    entry.lastUsed = Date.now();
    // A host waiting for a connection slot outranks keeping an idle one warm. Only
    // direct connections hold slots, so only they are worth closing for it.
    if (entry.refs === 0 && target.via === undefined && this.slots.pending > 0) {
      this.entries.delete(key);
      void entry.connection.then((connection) => connection.end(), () => undefined);
    }
  }

  async closeAll(): Promise<void> {
    this.closing = true;
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map(async (entry) => (await entry.connection.catch(() => undefined))?.end()));
  }

  private async open(target: HostTarget): Promise<SshConnection> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.dial(target);
      } catch (error) {
        if (attempt >= this.settings.connectRetries || !isRetryable(error) || this.closing) throw error;
        await new Promise((resolve) => setTimeout(resolve, this.settings.retryBaseDelayMs * 2 ** attempt));
      }
    }
  }

  private async dial(target: HostTarget): Promise<SshConnection> {
    if (target.via !== undefined) return this.dialVia(target, target.via);
    await this.evictIdleIfFull();
    const release = await this.slots.acquire();
    try {
      await this.rate.wait();
      // The clock starts once a slot is free: queueing behind other hosts is no fault of this one.
      const client = await openClient(target, this.settings, new ConnectDeadline(target, this.settings.connectTimeoutMs));
      const connection = new SshConnection(target, client, this.settings.maxChannelsPerConnection, this.settings.redactor);
      void connection.whenClosed().then(release);
      return connection;
    } catch (error) {
      release();
      throw error;
    }
  }

  private async dialVia(target: HostTarget, via: HostTarget): Promise<SshConnection> {
    // The jump host's own connect is bounded by its own limit, inside acquire().
    const bastion = await this.acquire(via);
    try {
      // One budget for this hop: the forwarded channel, then handshake and authentication over it.
      const deadline = new ConnectDeadline(target, this.settings.connectTimeoutMs);
      const forward = bastion.forward(target.address, target.port);
      const stream = await deadline.race(forward, (late) => late.destroy()).catch((error: unknown) => {
        if (error instanceof TransportError) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        throw new HostUnreachableError(target.name, `${target.name}: ${via.name} cannot reach ${target.address}:${target.port}: ${reason}`);
      });
      const client = await openClient(target, this.settings, deadline, stream);
      const connection = new SshConnection(target, client, this.settings.maxChannelsPerConnection, this.settings.redactor);
      // The bastion stays referenced as long as a connection runs through it.
      void connection.whenClosed().then(() => this.release(via));
      return connection;
    } catch (error) {
      this.release(via);
      throw error;
    }
  }

  private async evictIdleIfFull(): Promise<void> {
    if (this.slots.active < this.settings.maxConnections) return;
    let oldest: [string, Entry] | undefined;
    for (const pair of this.entries) {
      if (pair[1].refs === 0 && (oldest === undefined || pair[1].lastUsed < oldest[1].lastUsed)) oldest = pair;
    }
    if (oldest === undefined) return;
    this.entries.delete(oldest[0]);
    await (await oldest[1].connection.catch(() => undefined))?.end();
  }
}

/** Connections are shared only between identical routes and credentials. */
function connectionKey(target: HostTarget): string {
  const hop = (t: HostTarget): unknown[] => [t.user, t.address, t.port, t.identityFile ?? null, t.hostKeyAlias ?? null];
  const chain: unknown[] = [];
  for (let t: HostTarget | undefined = target; t !== undefined; t = t.via) chain.push(hop(t));
  return JSON.stringify(chain);
}
