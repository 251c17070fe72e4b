import { createHash } from "node:crypto";
import type { Diagnostic } from "../core/diagnostic.ts";
import { sortDiagnostics } from "../core/diagnostic.ts";
import { loadRepository, readNamedFile } from "../load/repository.ts";
import { diagnosticAt, type YamlSource } from "../load/yaml-source.ts";
import { buildInventory } from "../model/inventory.ts";
import { indexInventory } from "../model/selector.ts";
import type { Inventory, Runbook } from "../model/types.ts";
import { checkHostKeys, knownHostsPath, type KnownHostsFile } from "./rules/host-keys.ts";
import { checkRunbook } from "./rules/runbook.ts";
import { checkSecrets } from "./rules/secrets.ts";
import { checkLocalTransport } from "./rules/transport.ts";
import { pruneBySchemaErrors } from "./prune.ts";
import { validateAgainstSchema } from "./schema.ts";

export interface ValidationResult {
  /** The merged inventory: complete when no inventory file had schema errors, else only the entries that passed (see prune.ts). */
  inventory: Inventory;
  runbooks: Runbook[];
  diagnostics: Diagnostic[];
  errors: number;
  warnings: number;
  /** YAML files validated: every one found, including those that could not be read or parsed. */
  files: number;
  /**
   * The text of every file validated, by repository path (YAML and the known_hosts file).
   * Later stages hash and quote these exact bytes instead of reading the files again.
   */
  texts: Map<string, string>;
  /**
   * The sha256 (hex) of the exact bytes of every file read, by repository path: what a
   * plan's fingerprint covers (the texts have a BOM dropped and are decoded).
   */
  hashes: Map<string, string>;
}

export interface ValidateOptions {
  /** The clock for window checks; injected so results are reproducible. */
  now?: Date;
  /** The known_hosts file the inventory names, read by the caller (this stage does no I/O). */
  knownHosts?: KnownHostsFile;
}

/** Problems reported per file; the rest are counted in one last diagnostic of that file. */
export const DIAGNOSTICS_PER_FILE = 100;

/**
 * The first DIAGNOSTICS_PER_FILE problems of each file (in sorted order), then one that
 * says how many more there are. A file with 80,000 unknown keys has one mistake made
 * 80,000 times; printing all of them helps nobody and costs megabytes of output.
 */
function capPerFile(sorted: Diagnostic[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const hidden = new Map<string, { errors: number; warnings: number; last: Diagnostic }>();
  const shown = new Map<string, number>();
  for (const d of sorted) {
    const n = shown.get(d.file) ?? 0;
    if (n < DIAGNOSTICS_PER_FILE) {
      shown.set(d.file, n + 1);
      out.push(d);
      continue;
    }
    const h = hidden.get(d.file) ?? { errors: 0, warnings: 0, last: d };
    if (d.severity === "error") h.errors++;
    else h.warnings++;
    h.last = d;
    hidden.set(d.file, h);
  }
  for (const [file, h] of hidden) {
    const parts = [h.errors ? `${h.errors} more error${h.errors === 1 ? "" : "s"}` : "", h.warnings ? `${h.warnings} more warning${h.warnings === 1 ? "" : "s"}` : ""].filter(Boolean);
    out.push({
      severity: h.errors ? "error" : "warning",
      rule: "validate/too-many",
      file,
      line: h.last.line,
      column: h.last.column,
      pointer: "",
      message: `… and ${parts.join(" and ")} in this file, up to line ${h.last.line}`,
      hint: `only the first ${DIAGNOSTICS_PER_FILE} problems of a file are shown; fix these (often one mistake repeated) and validate again; the totals count every problem`,
    });
  }
  return sortDiagnostics(out);
}

/**
 * Validates parsed files in stages: schema, then the merged model, then semantic rules
 * across files. Collects every problem; never stops at the first.
 */
export function validateSources(inventoryFiles: YamlSource[], runbookFiles: YamlSource[], options: ValidateOptions = {}, loadDiagnostics: Diagnostic[] = []): ValidationResult {
  const diagnostics = [...loadDiagnostics];
  // Each file's entries that failed their schema are cut out; the rest is checked (see prune.ts).
  const validInventory: YamlSource[] = [];
  const cut = { hosts: new Set<string>(), groups: new Set<string>() };
  const faulty = new Set<string>();
  let inventoryCut = false;
  for (const source of [...inventoryFiles, ...runbookFiles]) diagnostics.push(...checkSecrets(source));
  for (const source of inventoryFiles) {
    const errors = validateAgainstSchema(source, "inventory");
    diagnostics.push(...errors);
    const pruned = pruneBySchemaErrors(source, "inventory", errors);
    inventoryCut ||= errors.length > 0;
    for (const h of pruned.cutHosts) cut.hosts.add(h);
    for (const h of pruned.faultyHosts) faulty.add(h);
    for (const g of pruned.cutGroups) cut.groups.add(g);
    if (pruned.source) validInventory.push(pruned.source);
  }
  // Checks across files (selectors, variables per host) need every host as written.
  const inventoryWhole = !inventoryCut && !loadDiagnostics.some((d) => d.file === "inventory" || d.file.startsWith("inventory/"));
  const built = buildInventory(validInventory, cut);
  diagnostics.push(...built.diagnostics);
  // A host whose host_keys (or any part) failed its schema would only be told it has no keys on record.
  const sound = faulty.size === 0 ? built.inventory : { ...built.inventory, hosts: new Map([...built.inventory.hosts].filter(([name]) => !faulty.has(name))) };
  if (validInventory.length > 0) diagnostics.push(...checkHostKeys(sound, validInventory, options.knownHosts));
  diagnostics.push(...checkLocalTransport(validInventory));
  if (built.inventory.hosts.size === 0 && inventoryWhole && runbookFiles.length > 0) {
    diagnostics.push({ severity: "error", rule: "inventory/empty", file: "inventory", line: 1, column: 1, pointer: "", message: "the inventory has no hosts", hint: "add hosts in inventory/*.yaml" });
  }
  const ctx = { now: options.now ?? new Date(), ...(inventoryWhole ? { inventory: { value: built.inventory, index: indexInventory(built.inventory) } } : {}) };

  const runbooks: Runbook[] = [];
  const byName = new Map<string, Runbook>();
  for (const source of runbookFiles) {
    if (source.value === null || source.value === undefined) {
      diagnostics.push(diagnosticAt(source, "", "runbook/empty", "the runbook file is empty", { hint: "a runbook needs at least name, targets and steps" }));
      continue;
    }
    const errors = validateAgainstSchema(source, "runbook");
    diagnostics.push(...errors);
    const checked = pruneBySchemaErrors(source, "runbook", errors).source;
    if (!checked) continue;
    const runbook = { ...(checked.value as Omit<Runbook, "file">), file: source.file } as Runbook;
    const twin = byName.get(runbook.name);
    if (twin) {
      diagnostics.push(diagnosticAt(source, "/name", "runbook/duplicate-name", `the runbook name \`${runbook.name}\` is already used by ${twin.file}`, { hint: "runbook names identify plans and runs; make them unique" }));
    } else {
      byName.set(runbook.name, runbook);
    }
    diagnostics.push(...checkRunbook(checked, runbook, ctx));
    // Only a runbook that passed whole is handed on to planning.
    if (errors.length === 0) runbooks.push(runbook);
  }
  const all = sortDiagnostics(diagnostics);
  const errors = all.filter((d) => d.severity === "error").length;
  const warnings = all.length - errors;
  const sorted = capPerFile(all);
  const texts = new Map([
    ...[...inventoryFiles, ...runbookFiles].map((s): [string, string] => [s.file, s.text]),
    ...(options.knownHosts && "text" in options.knownHosts ? [[options.knownHosts.file, options.knownHosts.text] as [string, string]] : []),
  ]);
  return {
    inventory: built.inventory,
    runbooks,
    diagnostics: sorted,
    errors,
    warnings,
    files: inventoryFiles.length + runbookFiles.length,
    texts,
    // Sources handed in as text have no other bytes; validateRepository replaces these with the bytes read.
    hashes: new Map([...texts].map(([file, text]) => [file, createHash("sha256").update(text, "utf8").digest("hex")])),
  };
}

/** Loads and validates every inventory and runbook file of a repository. */
export async function validateRepository(root: string, options: ValidateOptions = {}): Promise<ValidationResult> {
  const loaded = await loadRepository(root);
  let knownHosts = options.knownHosts;
  const path = knownHostsPath(loaded.inventory);
  if (!knownHosts && path !== undefined) {
    const named = await readNamedFile(loaded, path);
    if ("sha256" in named) loaded.hashes.set(named.file, named.sha256);
    knownHosts = named;
  }
  if (loaded.inventory.length + loaded.runbooks.length + loaded.diagnostics.length === 0) {
    // Most likely the wrong folder: say so rather than report an empty repository as valid.
    loaded.diagnostics.push({ severity: "error", rule: "repository/empty", file: ".", line: 1, column: 1, pointer: "", message: `no YAML files under ${root}/inventory or ${root}/runbooks`, hint: "run steward from the repository root, or pass --root DIR" });
  }
  const result = validateSources(loaded.inventory, loaded.runbooks, { ...options, ...(knownHosts ? { knownHosts } : {}) }, loaded.diagnostics);
  // Files that failed to parse are not sources, but their text is still what errors quote.
  for (const [file, text] of loaded.texts) if (!result.texts.has(file)) result.texts.set(file, text);
  for (const [file, sha256] of loaded.hashes) result.hashes.set(file, sha256);
  // Count every file found, also those that could not be read or parsed: they were validated too.
  result.files = Math.max(result.files, loaded.files.length);
  return result;
}
