import { randomBytes } from "node:crypto";
import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename } from "node:path";
import {
  HostKeyMismatchError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  type HostKeyDetails,
} from "../errors.ts";
import type { HostTarget } from "../types.ts";
import {
  fingerprint,
  formatKnownHostsLine,
  hostFieldMatches,
  keyTypeOf,
  knownHostsName,
  parseKnownHosts,
  parsePinnedKey,
  type KnownHostEntry,
  type KnownHostsProblem,
} from "./known-hosts.ts";

/** What is on record for one host, gathered before connecting. */
export interface HostKeyRecord {
  target: HostTarget;
  lookupName: string;
  /** Lines matching the host, including markers, plus the inventory's pinned keys. */
  entries: KnownHostEntry[];
  /** Key types of acceptable plain keys, to order the offered algorithms. */
  knownTypes: string[];
  /** The host's pinned keys that could not be read; named in errors, since a typo there looks like an unknown host. */
  pinProblems: KnownHostsProblem[];
}

/**
 * The host-key trust store of one run: the known_hosts files (read once) and the
 * inventory's pinned keys. Verification fails closed; the only way an unknown key is
 * trusted is the explicit `accept-new` policy outside CI.
 */
export class HostKeyStore {
  private loaded: Promise<KnownHostEntry[]> | undefined;
  private readonly added: KnownHostEntry[] = [];
  private writeQueue: Promise<void> = Promise.resolve();
  /** Malformed lines seen while loading, for the caller to report; never trusted. */
  readonly problems: KnownHostsProblem[] = [];

  constructor(
    private readonly files: readonly string[],
    private readonly policy: "strict" | "accept-new",
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Collects what is on record for `target`. */
  async record(target: HostTarget): Promise<HostKeyRecord> {
    const lookupName = knownHostsName(target.hostKeyAlias ?? target.address, target.port);
    const all = [...(await this.load()), ...this.added];
    const entries = all.filter((entry) => hostFieldMatches(entry.hostField, lookupName));
    const pinProblems: KnownHostsProblem[] = [];
    target.hostKeys.forEach((text, index) => {
      const pinned = parsePinnedKey(text, `inventory hostKeys[${index}] of ${target.name}`);
      if ("key" in pinned) entries.push(pinned);
      else pinProblems.push(pinned);
    });
    const knownTypes = [
      ...new Set(entries.filter((entry) => entry.marker === undefined).map((entry) => entry.keyType)),
    ];
    return { target, lookupName, entries, knownTypes, pinProblems };
  }

  /**
   * Decides on a presented host key; resolves when it is trusted, rejects with a
   * typed host-key error otherwise.
   */
  async verify(record: HostKeyRecord, presented: Buffer): Promise<void> {
    const { target, lookupName, entries } = record;
    const same = (entry: KnownHostEntry): boolean => entry.key.equals(presented);
    const details = describe(record, presented);
    const name = `${target.name} (${lookupName})`;
    const ignored = record.pinProblems.map((p) => ` Ignored unreadable ${p.source}: ${p.message}.`).join("");

    const revoked = entries.find((entry) => entry.marker === "revoked" && same(entry));
    if (revoked !== undefined) {
      throw new HostKeyRevokedError(
        target.name,
        `${name} presented ${details.keyType} key ${details.fingerprint}, which is marked @revoked at ${revoked.source}`,
        details,
      );
    }
    const plain = entries.filter((entry) => entry.marker === undefined);
    if (plain.some(same)) return;
    if (plain.length > 0) {
      const known = details.known.map((k) => `${k.keyType} ${k.fingerprint} (${k.source})`).join("; ");
      throw new HostKeyMismatchError(
        target.name,
        `host key for ${name} has changed: presented ${details.keyType} key ${details.fingerprint}, on record: ${known}. ` +
          "Someone could be intercepting the connection, or the host was re-keyed." +
          ignored,
        details,
      );
    }
    const authorities = entries.filter((entry) => entry.marker === "cert-authority");
    if (authorities.length > 0) {
      throw new HostKeyUnknownError(
        target.name,
        `${name} is trusted only through @cert-authority (${authorities.map((a) => a.source).join(", ")}), ` +
          `but the SSH library (ssh2) cannot negotiate host certificates; the server presented a plain ${details.keyType} key ${details.fingerprint}`,
        details,
        "pin the host's plain key in known_hosts or the inventory's hostKeys",
      );
    }
    if (this.policy === "accept-new") {
      const ci = this.env["CI"];
      if (ci === undefined || ci === "" || ci === "false") {
        await this.append(lookupName, presented);
        return;
      }
    }
    const scan = `ssh-keyscan${target.port === 22 ? "" : ` -p ${target.port}`} ${target.address}`;
    throw new HostKeyUnknownError(
      target.name,
      `host key for ${name} is not known: presented ${details.keyType} key ${details.fingerprint}` +
        (this.policy === "accept-new" ? " (accept-new is refused because CI is set)" : "") +
        ignored,
      details,
      `verify the fingerprint out of band (${scan} | ssh-keygen -lf -), then add the key to known_hosts in a reviewed commit`,
    );
  }

  private load(): Promise<KnownHostEntry[]> {
    this.loaded ??= (async () => {
      const entries: KnownHostEntry[] = [];
      for (const file of this.files) {
        const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
          // A missing file is an empty one, as for OpenSSH's UserKnownHostsFile.
          if (error.code === "ENOENT") return "";
          throw error;
        });
        const parsed = parseKnownHosts(text, basename(file));
        entries.push(...parsed.entries);
        this.problems.push(...parsed.problems);
      }
      return entries;
    })();
    return this.loaded;
  }

  /** Appends a first-contact key: serialised, written to a temp file and renamed into place. */
  private append(lookupName: string, key: Buffer): Promise<void> {
    const file = this.files[0];
    if (file === undefined) return Promise.resolve();
    const line = formatKnownHostsLine(lookupName, key);
    const write = this.writeQueue.then(async () => {
      // Two sessions may meet the same new host at once; record it once.
      if (this.added.some((entry) => entry.hostField === lookupName && entry.key.equals(key))) return;
      const current = await readFile(file, "utf8").catch(() => "");
      const mode = await stat(file).then((s) => s.mode & 0o777, () => 0o644);
      const separator = current.length > 0 && !current.endsWith("\n") ? "\n" : "";
      const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
      const handle = await open(temp, "wx", mode);
      try {
        await handle.writeFile(`${current}${separator}${line}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file).catch(async (error: unknown) => {
        await unlink(temp).catch(() => undefined);
        throw error;
      });
      this.added.push({ marker: undefined, hostField: lookupName, keyType: keyTypeOf(key) ?? "", key, source: basename(file) });
    });
    // A failed write must not wedge later ones.
    this.writeQueue = write.catch(() => undefined);
    return write;
  }
}

function describe(record: HostKeyRecord, presented: Buffer): HostKeyDetails {
  return {
    lookupName: record.lookupName,
    keyType: keyTypeOf(presented) ?? "unknown",
    fingerprint: fingerprint(presented),
    known: record.entries
      .filter((entry) => entry.marker === undefined)
      .map((entry) => ({ fingerprint: fingerprint(entry.key), keyType: entry.keyType, source: entry.source })),
  };
}
