import type { Host, Inventory } from "../model/types.ts";
import type { HostTarget } from "../transport/types.ts";

/**
 * The transport's view of an inventory host: connection settings only, with the jump
 * host (`via`, a host name in the inventory) resolved into a chain of targets.
 * A `via` loop or an unknown name is refused by validation, so it is an error here.
 */
export function hostTarget(inventory: Inventory, host: Host, seen: ReadonlySet<string> = new Set()): HostTarget {
  const target: HostTarget = {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    become: host.become,
    hostKeys: host.hostKeys,
    transport: host.transport,
    connectTimeoutMs: host.connectTimeoutMs,
  };
  if (host.identityFile !== undefined) target.identityFile = host.identityFile;
  if (host.identityPassphraseEnv !== undefined) target.identityPassphraseEnv = host.identityPassphraseEnv;
  if (host.via !== undefined) {
    const jump = inventory.hosts.get(host.via);
    if (jump === undefined || seen.has(host.via)) throw new Error(`${host.name}: jump host '${host.via}' is unknown or loops`);
    target.via = hostTarget(inventory, jump, new Set([...seen, host.name]));
  }
  return target;
}
