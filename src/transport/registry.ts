import { create as createLocal, LocalTransportDisabledError } from "./local/index.ts";
import { create as createSsh } from "./ssh/index.ts";
import type { Session, Transport, TransportDriver, TransportKind, TransportOptions } from "./types.ts";

/**
 * Every transport, by the `transport` value hosts name in the inventory. Adding a
 * transport means adding a folder under src/transport/ and a line here; a test fails
 * when a folder is not listed.
 */
export const drivers: Readonly<Record<TransportKind, TransportDriver>> = {
  local: { kind: "local", create: createLocal },
  ssh: { kind: "ssh", create: createSsh },
};

/** Options of a run's transport: every driver's options, and which drivers the run may use. */
export interface RunTransportOptions extends TransportOptions {
  /**
   * Allow `transport: local` hosts. Off by default: their commands come from the
   * repository and would run on this machine. Set from outside the repository only
   * (`--allow-local`, or {@link localAllowedByEnvironment}).
   */
  allowLocal?: boolean;
}

/** True when the environment allows the local transport: `STEWARD_ALLOW_LOCAL` is `1` or `true`. */
export function localAllowedByEnvironment(env: NodeJS.ProcessEnv): boolean {
  const value = env["STEWARD_ALLOW_LOCAL"];
  return value === "1" || value === "true";
}

/**
 * The transport a run uses: routes each host to its driver, created on first use, and
 * closes them all together. Connecting to a local host without `allowLocal` rejects
 * with LocalTransportDisabledError.
 */
export function createTransport(options: RunTransportOptions = {}): Transport {
  const created = new Map<TransportKind, Transport>();
  return {
    connect(target): Promise<Session> {
      if (target.transport === "local" && options.allowLocal !== true) return Promise.reject(new LocalTransportDisabledError(target.name));
      let transport = created.get(target.transport);
      if (transport === undefined) {
        transport = drivers[target.transport].create(options);
        created.set(target.transport, transport);
      }
      return transport.connect(target);
    },
    async close() {
      await Promise.all([...created.values()].map((transport) => transport.close()));
      created.clear();
    },
  };
}
