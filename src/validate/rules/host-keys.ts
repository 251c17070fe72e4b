import type { Diagnostic } from "../../core/diagnostic.ts";
import type { ReadProblem } from "../../load/read-file.ts";
import { diagnosticAt, type YamlSource } from "../../load/yaml-source.ts";
import type { Inventory } from "../../model/types.ts";
import { keyBlobProblem } from "./key-blob.ts";
import { hostFieldMatches, knownHostsName, parseKnownHosts, parsePinnedKey } from "../../transport/ssh/known-hosts.ts";

/** The known_hosts file the inventory names, as read from disk (see readNamedFile). */
export type KnownHostsFile = { file: string; text: string } | { file: string; missing: true } | { file: string; problem: ReadProblem };

/** Past this many host × hashed-entry comparisons, coverage is not checked (each is an HMAC). */
const MAX_HASH_CHECKS = 2_000_000;

function sourceSetting(sources: YamlSource[]): { source: YamlSource; value: string } | undefined {
  for (const source of sources) {
    const value = (source.value as { defaults?: { known_hosts?: unknown } } | null)?.defaults?.known_hosts;
    if (typeof value === "string") return { source, value };
  }
  return undefined;
}

/** The known_hosts path an inventory sets, if any (repository-relative or absolute). */
export function knownHostsPath(sources: YamlSource[]): string | undefined {
  return sourceSetting(sources)?.value;
}

/**
 * Host keys are checked before anything connects: the known_hosts file exists and every
 * line parses (OpenSSH skips bad lines silently, which hides a broken pin), pinned keys
 * decode, and every SSH host has a key on record, since unknown keys fail closed.
 */
export function checkHostKeys(inventory: Inventory, sources: YamlSource[], knownHosts: KnownHostsFile | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const bySource = new Map(sources.map((s) => [s.file, s]));
  const setting = sourceSetting(sources);
  let entries: ReturnType<typeof parseKnownHosts>["entries"] = [];
  if (knownHosts && setting) {
    if ("problem" in knownHosts) {
      const p = knownHosts.problem;
      // An encoding problem has a place in the file itself; any other is about the path the inventory gives.
      if (p.line !== undefined) out.push({ severity: "error", rule: p.rule, file: knownHosts.file, line: p.line, column: p.column ?? 1, pointer: "", message: p.message, ...(p.hint === undefined ? {} : { hint: p.hint }) });
      else out.push(diagnosticAt(setting.source, "/defaults/known_hosts", p.rule, `known_hosts: ${p.message}`, p.hint === undefined ? {} : { hint: p.hint }));
    } else if ("missing" in knownHosts) {
      out.push(diagnosticAt(setting.source, "/defaults/known_hosts", "known-hosts/missing", `the known_hosts file \`${knownHosts.file}\` does not exist`, { hint: "create it with the fleet's host keys (ssh-keyscan, checked against fingerprints you trust), or fix the path; paths are relative to the repository root" }));
    } else {
      const parsed = parseKnownHosts(knownHosts.text, knownHosts.file);
      entries = [];
      for (const entry of parsed.entries) {
        const damage = keyBlobProblem(entry.keyType, entry.key.toString("base64"));
        if (damage === undefined) {
          entries.push(entry);
          continue;
        }
        const line = Number(/:(\d+)$/.exec(entry.source)?.[1] ?? 1);
        out.push({ severity: "error", rule: "known-hosts/malformed", file: knownHosts.file, line, column: 1, pointer: "", message: `known_hosts line cannot be used: ${damage}`, hint: "copy the key again from `ssh-keyscan`; OpenSSH would reject this key" });
      }
      for (const problem of parsed.problems) {
        const line = Number(/:(\d+)$/.exec(problem.source)?.[1] ?? 1);
        out.push({ severity: "error", rule: "known-hosts/malformed", file: knownHosts.file, line, column: 1, pointer: "", message: `known_hosts line cannot be used: ${problem.message}`, hint: "OpenSSH would skip this line silently; fix or delete it" });
      }
    }
  }
  const trusted = entries.filter((e) => e.marker === undefined);
  const plain = new Set<string>();
  for (const e of trusted) if (!e.hostField.startsWith("|") && !/[*?!]/.test(e.hostField)) for (const name of e.hostField.toLowerCase().split(",")) plain.add(name);
  const patterned = trusted.filter((e) => e.hostField.startsWith("|") || /[*?!]/.test(e.hostField));
  const hosts = [...inventory.hosts.values()].filter((h) => h.transport === "ssh");
  if (!setting && hosts.length > 0 && hosts.every((h) => h.hostKeys.length === 0)) {
    // Nothing is on record for anyone: one finding, not one per host.
    out.push(diagnosticAt(sources[0]!, "", "host-keys/none", `no host key is on record for any of the ${hosts.length} SSH hosts; every connection will fail closed`, { severity: "warning", hint: "set defaults.known_hosts to a known_hosts file kept in the repository, or pin keys under each host's host_keys" }));
    return out;
  }
  const coverageChecked = hosts.length * patterned.length <= MAX_HASH_CHECKS;

  for (const host of hosts) {
    const source = bySource.get(host.origin.file);
    if (!source) continue;
    let pinnedOk = false;
    host.hostKeys.forEach((key, i) => {
      const parsed = parsePinnedKey(key, `${host.name}`);
      const [keyType = "", keyText = ""] = key.trim().split(/[ \t]+/);
      const blob = "key" in parsed ? keyBlobProblem(keyType, keyText) : undefined;
      if ("key" in parsed && blob === undefined) pinnedOk = true;
      else if (blob !== undefined) out.push(diagnosticAt(source, `${host.origin.pointer}/host_keys/${i}`, "host-keys/malformed", `pinned key of \`${host.name}\` cannot be used: ${blob}`, { hint: "copy the whole key again from `ssh-keyscan` output; part of it is missing" }));
      else if (!("key" in parsed)) out.push(diagnosticAt(source, `${host.origin.pointer}/host_keys/${i}`, "host-keys/malformed", `pinned key of \`${host.name}\` cannot be used: ${parsed.message}`, { hint: "copy the key from `ssh-keyscan` output: 'ssh-ed25519 AAAA…'" }));
    });
    if (pinnedOk || !coverageChecked) continue;
    const name = knownHostsName(host.address, host.port);
    const known = plain.has(name.toLowerCase()) || patterned.some((e) => hostFieldMatches(e.hostField, name));
    if (!known) {
      out.push(diagnosticAt(source, host.origin.pointer, "host-keys/none", `no host key is on record for \`${host.name}\` (${name}); connections to it will fail closed`, { key: true, severity: "warning", hint: `pin it under host_keys, or add it to ${setting?.value ?? "a known_hosts file named by defaults.known_hosts"} after checking its fingerprint out of band` }));
    }
  }
  if (!coverageChecked) {
    const at = setting ?? { source: sources[0]! };
    out.push(diagnosticAt(at.source, setting ? "/defaults/known_hosts" : "", "host-keys/not-checked", `not checked that every host has a known host key: ${hosts.length} hosts × ${patterned.length} hashed or wildcard entries is too many to compare here`, { severity: "warning", hint: "connections still verify keys; unhashed entries are checked quickly" }));
  }
  return out;
}
