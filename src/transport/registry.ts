import { create as createLocal } from "./local/index.ts";
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

/**
 * The transport a run uses: routes each host to its driver, created on first use, and
 * closes them all together.
 */
export function createTransport(options: TransportOptions = {}): Transport {
  const created = new Map<TransportKind, Transport>();
  return {
    connect(target): Promise<Session> {
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
