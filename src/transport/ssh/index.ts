import { connectionsForFileLimit } from "../limiter.ts";
import type { Session, TransportDriver } from "../types.ts";
import { ensureBecome, execOnConnection } from "./exec.ts";
import { HostKeyStore } from "./host-keys.ts";
import { ConnectionPool } from "./pool.ts";

/**
 * Hosts reached over SSH (ssh2), one pooled connection per host with commands on
 * channels, jump hosts chained through forwarded channels, and host keys checked
 * against known_hosts and the inventory's pins before any credential is sent.
 */
export const create: TransportDriver["create"] = (options) => {
  const env = options.env ?? process.env;
  const killTimeoutMs = options.killTimeoutMs ?? 5_000;
  const pool = new ConnectionPool({
    hostKeys: new HostKeyStore(options.knownHostsFiles ?? [], options.hostKeyPolicy ?? "strict", env),
    env,
    redactor: options.redactor,
    connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? 10_000,
    maxConnections: options.maxConnections ?? connectionsForFileLimit(),
    connectsPerSecond: options.connectsPerSecond ?? 50,
    connectRetries: options.connectRetries ?? 2,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 1_000,
    maxChannelsPerConnection: options.maxChannelsPerConnection ?? 8,
  });
  return {
    async connect(target): Promise<Session> {
      const connection = await pool.acquire(target);
      let open = true;
      return {
        target,
        exec: (command, execOptions = {}) => execOnConnection(connection, target, command, execOptions, killTimeoutMs),
        prepareBecome: () => ensureBecome(connection, target).then(() => undefined),
        async close() {
          if (!open) return;
          open = false;
          pool.release(target);
        },
      };
    },
    close: () => pool.closeAll(),
  };
};
