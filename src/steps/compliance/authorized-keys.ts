/**
 * The access review: every authorized_keys entry on a host, parsed as sshd(8) reads
 * the file (OpenSSH sshd(8), "AUTHORIZED_KEYS FILE FORMAT"), fingerprinted as
 * `ssh-keygen -lf` prints it, and judged against the keys the repository allows.
 * Everything here is read from the host and untrusted: sizes and counts are bounded,
 * a line that is not a whole key is counted and reported (never trusted, never
 * shown raw), and no text with control or format characters leaves this module.
 */
import { createHash } from "node:crypto";
import { keyBlobProblem } from "../../validate/rules/key-blob.ts";
import type { AllowedKey } from "../../model/types.ts";

/** Bytes of one authorized_keys file the script reads; the rest is reported as cut. */
export const KEYS_FILE_MAX_BYTES = 1024 * 1024;
/** Entries kept in the evidence per host; the rest are judged and counted, not listed. */
export const KEYS_MAX_LISTED = 10_000;
/** Longest line read as a key (OpenSSH reads keys up to 16 KiB: SSH_MAX_PUBKEY_BYTES). */
const MAX_LINE = 16 * 1024;
/** Problems listed per host; the rest are counted. */
const MAX_PROBLEMS = 100;

/** One authorized_keys entry. */
export interface AuthorizedKey {
  /** The account whose file holds the key. */
  user: string;
  file: string;
  /** 1-based line in the file. */
  line: number;
  /** Key type as written (ssh-ed25519, ssh-rsa, sk-ssh-ed25519@openssh.com, …). */
  type: string;
  /** `SHA256:` and the unpadded base64 of the sha256 of the key blob, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The comment after the key; null when there is none or it was not printable (see problems). */
  comment: string | null;
  /** The options before the key (`from="10.0.0.0/8"`, `no-pty`, `command="…"`), split on commas outside quotes. */
  options: string[];
}

/** What the host's authorized_keys files hold. */
export interface KeysInventory {
  /** Entries in user, file and line order; at most KEYS_MAX_LISTED. */
  entries: AuthorizedKey[];
  /** Entries beyond KEYS_MAX_LISTED (judged, not listed). */
  unlisted: number;
  /** Files read, with their size and whether the script cut them. */
  files: Array<{ user: string; path: string; bytes: number; cut: boolean }>;
  /** Lines sshd would not accept as a key, and what was odd, one line each ("user:file:line: …"); at most MAX_PROBLEMS. */
  problems: string[];
  /** Problems beyond MAX_PROBLEMS. */
  moreProblems: number;
}

/** The key types sshd accepts in authorized_keys (OpenSSH sshkey.c keytypes; certificates with cert-authority). */
const KEY_TYPE = /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-ecdsa-sha2-nistp256@openssh\.com|sk-ssh-ed25519@openssh\.com)(-cert-v01@openssh\.com)?$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const UNPRINTABLE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$/;

/** `SHA256:` fingerprint of a base64 key blob, as `ssh-keygen -l -E sha256` prints it. */
export function fingerprint(base64: string): string {
  return `SHA256:${createHash("sha256").update(Buffer.from(base64, "base64")).digest("base64").replace(/=+$/, "")}`;
}

/**
 * Splits off the options field (sshd's sshkey_advance_past_options): up to the first
 * space or tab outside double quotes, where `\"` inside quotes does not end them.
 * Returns the options text and the rest, or undefined when a quote is never closed.
 */
function splitOptions(text: string): { options: string; rest: string } | undefined {
  let quoted = false;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (!quoted && (c === " " || c === "\t")) break;
    if (c === "\\" && text[i + 1] === '"') i++;
    else if (c === '"') quoted = !quoted;
  }
  if (quoted) return undefined;
  return { options: text.slice(0, i), rest: text.slice(i).replace(/^[ \t]+/, "") };
}

/** Options split on commas outside double quotes. */
function optionList(text: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && text[i + 1] === '"') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.filter((o) => o !== "");
}

/** `type base64 [comment]` at the start of `text`, or undefined. */
function readKey(text: string): { type: string; blob: string; comment: string } | undefined {
  const m = /^(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(text);
  if (m === null || !KEY_TYPE.test(m[1]!)) return undefined;
  return { type: m[1]!, blob: m[2]!, comment: (m[3] ?? "").trim() };
}

/** The script's output of one file: its header and lines. See `keysSectionBody` (script.ts). */
interface FileText {
  user: string;
  path: string;
  bytes: number;
  lines: string[];
}

/**
 * Reads the keys section of the compliance script: `f <bytes> <user>:<path>` per
 * file, then each of its lines prefixed `l `. Anything else is a problem, not a key.
 */
function splitFiles(text: string, problems: string[]): FileText[] {
  const files: FileText[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("l ") || line === "l") {
      const f = files[files.length - 1];
      if (f !== undefined) f.lines.push(line.slice(2));
      continue;
    }
    const m = /^f (\d{1,15}) ([^:]*):(\/.*)$/.exec(line);
    if (m !== null) {
      files.push({ bytes: Number(m[1]), user: m[2]!, path: m[3]!, lines: [] });
      continue;
    }
    if (line !== "") problems.push(`an unexpected line in the keys section (${line.length} characters, not shown)`);
  }
  return files;
}

/**
 * Parses the keys section: the host's inventory (bounded, for the evidence) and every
 * entry (for judging: a key past the listed ones is still judged). Never throws: what
 * cannot be read is a problem.
 */
export function parseKeysSection(text: string): { inventory: KeysInventory; all: AuthorizedKey[] } {
  const problems: string[] = [];
  const inventory: KeysInventory = { entries: [], unlisted: 0, files: [], problems, moreProblems: 0 };
  const all = judgeableEntries(text, inventory);
  inventory.entries = all.slice(0, KEYS_MAX_LISTED);
  inventory.unlisted = Math.max(0, all.length - KEYS_MAX_LISTED);
  if (problems.length > MAX_PROBLEMS) {
    inventory.moreProblems = problems.length - MAX_PROBLEMS;
    problems.length = MAX_PROBLEMS;
  }
  return { inventory, all };
}

/** Every entry of every file (not only the listed ones), filling `inventory.files` and `problems`. */
function judgeableEntries(text: string, inventory: KeysInventory): AuthorizedKey[] {
  const out: AuthorizedKey[] = [];
  const problems = inventory.problems;
  for (const file of splitFiles(text, problems)) {
    const where = `${printable(file.user)}:${printable(file.path)}`;
    if (!USER.test(file.user) || UNPRINTABLE.test(file.path)) {
      problems.push(`${where}: an account name or path with characters steward does not accept; its keys are not listed`);
      continue;
    }
    // The script adds a final newline to every file so the next header starts a line.
    const lines = file.lines[file.lines.length - 1] === "" ? file.lines.slice(0, -1) : file.lines;
    const cut = file.bytes > KEYS_FILE_MAX_BYTES;
    inventory.files.push({ user: file.user, path: file.path, bytes: file.bytes, cut });
    if (cut) problems.push(`${where}: ${file.bytes} bytes, only the first ${KEYS_FILE_MAX_BYTES} were read`);
    lines.forEach((raw, i) => {
      const at = `${where}:${i + 1}`;
      const line = raw.replace(/\r$/, "").replace(/^[ \t]+/, "");
      if (line === "" || line.startsWith("#")) return;
      if (raw.length > MAX_LINE) return void problems.push(`${at}: a line of ${raw.length} characters, longer than any key; ignored`);
      const entry = parseLine(line, at, problems);
      if (entry !== undefined) out.push({ user: file.user, file: file.path, line: i + 1, ...entry });
    });
  }
  return out;
}

/** One non-comment line: sshd tries it as a key first, then as options followed by a key. */
function parseLine(line: string, at: string, problems: string[]): Omit<AuthorizedKey, "user" | "file" | "line"> | undefined {
  let options: string[] = [];
  let key = readKey(line);
  if (key === undefined) {
    const split = splitOptions(line);
    if (split === undefined) return void problems.push(`${at}: an option's quote is never closed; sshd ignores the line`);
    key = readKey(split.rest);
    if (key === undefined) return void problems.push(`${at}: not a key sshd accepts (no known key type after the options); ignored`);
    options = optionList(split.options);
    if (options.some((o) => UNPRINTABLE.test(o))) {
      problems.push(`${at}: options with control characters (not shown)`);
      options = options.map((o) => (UNPRINTABLE.test(o) ? "(unprintable option)" : o));
    }
  }
  if (!BASE64.test(key.blob)) return void problems.push(`${at}: the ${key.type} key is not base64; ignored`);
  const baseType = key.type.replace(/-cert-v01@openssh\.com$/, "");
  const damage = baseType === key.type ? keyBlobProblem(key.type, key.blob) : key.blob.length % 4 === 0 ? undefined : "the base64 text is cut short";
  if (damage !== undefined) return void problems.push(`${at}: the ${key.type} key is damaged (${damage}); sshd cannot use it`);
  let comment: string | null = key.comment === "" ? null : key.comment;
  if (comment !== null && UNPRINTABLE.test(comment)) {
    problems.push(`${at}: a comment with control or format characters (not shown)`);
    comment = null;
  }
  if (comment !== null && comment.length > 256) comment = `${comment.slice(0, 256)}…`;
  return { type: key.type, fingerprint: fingerprint(key.blob), comment, options };
}

/** A name from the host, cut and stripped of control characters, fit for a message. */
export function printable(text: string): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, "?");
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}

/** The judgement of an authorized-keys rule on one host. */
export interface KeysJudgement {
  /** Keys found that the allow-list does not allow (for that account), one line each. */
  unlisted: string[];
  /** Keys in several accounts' files, one line each with the accounts. */
  shared: string[];
}

/**
 * Judges the inventory: every key must be allowed (when the rule lists keys), for the
 * account holding it (when the allowed entry names accounts); a key held by more than
 * one account is flagged unless `shared` allows it. Reads every entry, listed or not.
 */
export function judgeKeys(entries: readonly AuthorizedKey[], allowed: readonly AllowedKey[] | undefined, shared: boolean): KeysJudgement {
  const allow = new Map<string, { users?: readonly string[] }>();
  for (const a of allowed ?? []) {
    if (typeof a === "string") allow.set(a, {});
    else allow.set(a.fingerprint, a.users === undefined ? {} : { users: a.users });
  }
  const unlisted: string[] = [];
  const holders = new Map<string, Set<string>>();
  for (const e of entries) {
    const set = holders.get(e.fingerprint) ?? new Set<string>();
    set.add(e.user);
    holders.set(e.fingerprint, set);
    if (allowed === undefined) continue;
    const rule = allow.get(e.fingerprint);
    const label = `${e.fingerprint} (${e.type}${e.comment !== null ? ` ${e.comment}` : ""}) in ${e.file}:${e.line} of ${e.user}`;
    if (rule === undefined) unlisted.push(`${label}: not in the allow-list`);
    else if (rule.users !== undefined && !rule.users.includes(e.user)) unlisted.push(`${label}: allowed only for ${rule.users.join(", ")}`);
  }
  const sharedOut = shared ? [] : [...holders].filter(([, users]) => users.size > 1).map(([fp, users]) => `${fp} is authorized for ${[...users].sort().join(", ")}`);
  return { unlisted, shared: sharedOut.sort() };
}
