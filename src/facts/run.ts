import { isAbsolute, join } from "node:path";
import { StewardError, UsageError } from "../core/errors.ts";
import { terminalText } from "../core/text.ts";
import { limitedHosts } from "../model/limit.ts";
import { RunSecrets } from "../core/secrets.ts";
import { indexInventory, parseSelector, SelectorSyntaxError } from "../model/selector.ts";
import { createTransport } from "../transport/registry.ts";
import { validateRepository } from "../validate/index.ts";
import { factsCacheDir } from "./cache.ts";
import { gatherFacts } from "./gather.ts";
import { hostTarget } from "./target.ts";
import type { Inventory } from "../model/types.ts";
import type { HostTarget } from "../transport/types.ts";
import type { AppProbe, FactsResult } from "./types.ts";

/** Options of `factsForRepository`, as `steward facts` passes them. */
export interface FactsRunOptions {
  /** Repository root holding inventory/. */
  root: string;
  /** Host selector (`group:web and not tag:canary`); all hosts when absent. */
  limit?: string;
  /** Refresh package lists first, through each host's become. */
  refresh?: boolean;
  /** Also write each result to `.steward/facts/<host>.json`. */
  cache?: boolean;
  services?: readonly string[];
  /** The command's environment: secrets, the SSH agent, passphrases. Default: none. */
  env?: NodeJS.ProcessEnv;
  /**
   * The run's secrets; every secret the inventory names is registered with it before
   * anything connects, and its redactor scrubs all host output. Default: a new one from `env`.
   */
  secrets?: RunSecrets;
  /** Allow `transport: local` hosts (see RunTransportOptions.allowLocal). */
  allowLocal?: boolean;
  onResult?: (result: FactsResult) => void;
  /** Called with the validated inventory before any host is contacted (for the groups a snapshot records). */
  onInventory?: (inventory: Inventory) => void;
}

/**
 * Facts for the inventory's hosts (or those `limit` selects), sorted by host name.
 * An invalid inventory or selector throws; a host that fails is a result, not a throw.
 */
export async function factsForRepository(options: FactsRunOptions): Promise<FactsResult[]> {
  const validation = await validateRepository(options.root);
  const inventoryErrors = validation.diagnostics.filter((d) => d.severity === "error" && d.file.startsWith("inventory"));
  if (inventoryErrors.length > 0) {
    const first = inventoryErrors[0];
    throw new StewardError("invalid-input", `the inventory has ${inventoryErrors.length} error(s), first: ${terminalText(`${first?.file}:${first?.line}:${first?.column} ${first?.message}`)}`, "run 'steward validate' for the full list");
  }
  const { inventory } = validation;
  options.onInventory?.(inventory);
  const secrets = options.secrets ?? new RunSecrets(options.env ?? {});
  secrets.registerRepository(inventory, validation.runbooks);
  let names = [...inventory.hosts.keys()];
  if (options.limit !== undefined) {
    let selector;
    try {
      selector = parseSelector(options.limit);
    } catch (error) {
      if (error instanceof SelectorSyntaxError) throw new UsageError(`--limit: ${error.message}`);
      throw error;
    }
    // Unknown names are refused with a did-you-mean, like plan's --limit: a typo must not narrow silently.
    const selected = limitedHosts(selector, options.limit, indexInventory(inventory));
    names = names.filter((name) => selected.has(name));
  }
  names.sort();
  return gatherInventoryFacts(options.root, inventory, names, { ...options, secrets });
}

/**
 * Gathers facts for the named inventory hosts over one transport (host keys from the
 * inventory's known_hosts, output redacted with the run's secrets), in name order; used
 * by `steward facts` and `steward plan --gather`. Without `options.secrets`, the
 * inventory's secrets are read from `options.env` and registered here.
 */
export async function gatherInventoryFacts(root: string, inventory: Inventory, names: readonly string[], options: Omit<FactsRunOptions, "root" | "limit"> & { cacheDir?: string; apps?: (hostName: string) => AppProbe[] }): Promise<FactsResult[]> {
  const targets = names.map((name) => hostTarget(inventory, inventory.hosts.get(name)!));
  const knownHosts = inventory.knownHosts === undefined ? [] : [isAbsolute(inventory.knownHosts) ? inventory.knownHosts : join(root, inventory.knownHosts)];
  let secrets = options.secrets;
  if (secrets === undefined) {
    secrets = new RunSecrets(options.env ?? {});
    secrets.registerRepository(inventory, []);
  }
  const transport = createTransport({ knownHostsFiles: knownHosts, redactor: secrets.redactor, allowLocal: options.allowLocal === true, ...(options.env ? { env: options.env } : {}) });
  const cacheDir = options.cacheDir ?? (options.cache ? factsCacheDir(root) : undefined);
  try {
    return await gatherFacts(targets, {
      transport,
      refresh: options.refresh ?? false,
      ...(options.services ? { services: options.services } : {}),
      ...(cacheDir !== undefined ? { cacheDir, redact: (text: string) => secrets.redact(text) } : {}),
      ...(options.onResult ? { onResult: options.onResult } : {}),
      ...(options.apps ? { apps: (target: HostTarget) => options.apps!(target.name) } : {}),
    });
  } finally {
    await transport.close();
  }
}
