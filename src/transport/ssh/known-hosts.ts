import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * OpenSSH known_hosts, read with the semantics of OpenSSH's hostfile.c and match.c:
 *
 *   [@marker] patterns keytype base64-key [comment]
 *
 * - `patterns` is a comma-separated list; `*` and `?` are wildcards, a leading `!`
 *   negates (a negated match rejects the line even if another pattern matches);
 *   matching is case-insensitive.
 * - A hashed field `|1|base64(salt)|base64(HMAC-SHA1(salt, name))` stands for exactly
 *   one name and holds no wildcards.
 * - Names for ports other than 22 are written `[host]:port`.
 * - `@revoked` marks a key that must never be accepted for the matching hosts, even if
 *   another line lists it; `@cert-authority` trusts host certificates signed by the key.
 * - Comments (`#`) and blank lines are skipped; malformed lines are skipped and reported
 *   as problems (OpenSSH skips them silently, which hides typos in a pinned file).
 */

export type KnownHostMarker = "cert-authority" | "revoked";

export interface KnownHostEntry {
  marker: KnownHostMarker | undefined;
  /** The raw host field, kept for messages. */
  hostField: string;
  keyType: string;
  /** The wire-format public key blob. */
  key: Buffer;
  /** Where it came from, e.g. "known_hosts:12" or "inventory". */
  source: string;
}

export interface KnownHostsProblem {
  source: string;
  message: string;
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[];
  problems: KnownHostsProblem[];
}

/** Parses the text of one known_hosts file; `file` names it in sources. */
export function parseKnownHosts(text: string, file: string): ParsedKnownHosts {
  const entries: KnownHostEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line.length === 0 || line.startsWith("#")) return;
    const source = `${file}:${index + 1}`;
    const fields = line.split(/[ \t]+/);
    let marker: KnownHostMarker | undefined;
    if (fields[0]?.startsWith("@") === true) {
      const name = fields.shift();
      if (name === "@cert-authority") marker = "cert-authority";
      else if (name === "@revoked") marker = "revoked";
      else {
        problems.push({ source, message: `unknown marker ${name}` });
        return;
      }
    }
    const [hostField, keyType, keyText] = fields;
    if (hostField === undefined || keyType === undefined || keyText === undefined) {
      problems.push({ source, message: "expected: [marker] hosts keytype key [comment]" });
      return;
    }
    const key = decodeKey(keyType, keyText);
    if (typeof key === "string") {
      problems.push({ source, message: key });
      return;
    }
    if (hostField.startsWith("|") && parseHashedField(hostField) === undefined) {
      problems.push({ source, message: "malformed hashed host name" });
      return;
    }
    entries.push({ marker, hostField, keyType, key, source });
  });
  return { entries, problems };
}

/**
 * Parses a pinned key in known_hosts key form ("ssh-ed25519 AAAA... [comment]").
 * Pinned keys apply to their host only, so they carry no host field.
 */
export function parsePinnedKey(text: string, source: string): KnownHostEntry | KnownHostsProblem {
  const [keyType, keyText] = text.trim().split(/[ \t]+/);
  if (keyType === undefined || keyText === undefined) {
    return { source, message: `expected "keytype base64-key", got "${text}"` };
  }
  const key = decodeKey(keyType, keyText);
  if (typeof key === "string") return { source, message: key };
  return { marker: undefined, hostField: "", keyType, key, source };
}

/** The name OpenSSH looks up: bare for port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** True when the entry's host field matches `name` (a {@link knownHostsName}). */
export function hostFieldMatches(hostField: string, name: string): boolean {
  const lowered = name.toLowerCase();
  if (hostField.startsWith("|")) {
    const hashed = parseHashedField(hostField);
    if (hashed === undefined) return false;
    const digest = createHmac("sha1", hashed.salt).update(lowered).digest();
    return digest.length === hashed.hash.length && timingSafeEqual(digest, hashed.hash);
  }
  let positive = false;
  for (const raw of hostField.split(",")) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!wildcardMatch(lowered, pattern)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** A known_hosts line for `name`, as `ssh-keyscan` would print it. */
export function formatKnownHostsLine(name: string, key: Buffer): string {
  return `${name} ${keyTypeOf(key) ?? "unknown"} ${key.toString("base64")}`;
}

/** OpenSSH's default fingerprint: "SHA256:" + unpadded base64 of the blob's SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named inside a wire-format blob (its first SSH string). */
export function keyTypeOf(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return undefined;
  return blob.subarray(4, 4 + length).toString("latin1");
}

/**
 * The host-key algorithms to offer, in the order OpenSSH would: those whose keys are
 * already on record for the host first, so a server with several keys presents the one
 * we can verify rather than the one the library happens to prefer.
 */
export function preferredAlgorithms<A extends string>(knownTypes: Iterable<string>, supported: readonly A[]): A[] {
  const wanted = new Set<string>();
  for (const type of knownTypes) {
    for (const algorithm of algorithmsForKeyType(type)) wanted.add(algorithm);
  }
  const first = supported.filter((algorithm) => wanted.has(algorithm));
  return [...first, ...supported.filter((algorithm) => !wanted.has(algorithm))];
}

function algorithmsForKeyType(type: string): string[] {
  // An RSA key is negotiated under its signature algorithm names (RFC 8332).
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

function decodeKey(keyType: string, keyText: string): Buffer | string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyText)) return `key of type ${keyType} is not base64`;
  const key = Buffer.from(keyText, "base64");
  const inner = keyTypeOf(key);
  if (inner !== keyType) return `key type ${keyType} does not match the key's own type ${inner ?? "(unreadable)"}`;
  return key;
}

function parseHashedField(field: string): { salt: Buffer; hash: Buffer } | undefined {
  const parts = field.split("|");
  // "|1|salt|hash" splits into ["", "1", salt, hash].
  if (parts.length !== 4 || parts[0] !== "" || parts[1] !== "1") return undefined;
  const salt = Buffer.from(parts[2] ?? "", "base64");
  const hash = Buffer.from(parts[3] ?? "", "base64");
  if (salt.length !== 20 || hash.length !== 20) return undefined;
  return { salt, hash };
}

/** OpenSSH match_pattern(): `*` any run of characters, `?` exactly one. */
function wildcardMatch(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === "*") {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === "?" || pc === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}
