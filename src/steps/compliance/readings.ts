/**
 * Parsers of what the compliance script reads on a host, each a pure function tested
 * on captured output: the effective sshd configuration (`sshd -T`), listening sockets
 * (`ss -Htlnup`, else /proc/net/{tcp,tcp6,udp,udp6}), and who may run what as root
 * (`sudo -l -U <user>` per account). Host output is untrusted: lines that do not
 * parse are counted, never trusted, and nothing unprintable is kept.
 */

/** A line from the host, stripped of control and format characters and cut, fit for evidence. */
export function clean(text: string, max = 200): string {
  const c = text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, "?");
  return c.length > max ? `${c.slice(0, max)}…` : c;
}

/**
 * `sshd -T` output: one `keyword value…` line per setting, keywords in lower case
 * (OpenSSH sshd(8) -T: "the effective configuration"). Keywords that take several
 * values on separate lines (port, listenaddress, hostkey, acceptenv, …) keep them all,
 * in order. @throws Error when the output holds no setting at all.
 */
export function parseSshdT(stdout: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of stdout.split("\n")) {
    const m = /^([a-z0-9]+) (.*)$/.exec(line.trim());
    if (m === null) continue;
    const values = settings.get(m[1]!) ?? [];
    values.push(clean(m[2]!.trim(), 500));
    settings.set(m[1]!, values);
  }
  if (settings.size === 0) throw new Error("sshd -T printed no settings");
  return settings;
}

/** One listening socket. */
export interface ListeningSocket {
  proto: "tcp" | "udp";
  /** The local address without brackets or interface: `0.0.0.0`, `::`, `127.0.0.1`, `*`. */
  address: string;
  port: number;
  /** The process as ss names it (`sshd`), when it shows one. */
  process?: string;
}

/** `ADDRESS:PORT` as ss prints it (`*:22`, `[::]:22`, `127.0.0.53%lo:53`, `[fe80::1]%eth0:123`). */
function splitLocal(text: string): { address: string; port: number } | undefined {
  const m = /^(.*):(\d{1,5}|\*)$/.exec(text);
  if (m === null || m[2] === "*") return undefined;
  const address = m[1]!.replace(/%[A-Za-z0-9_.@-]+$/, "").replace(/^\[(.*)\]$/, "$1").replace(/%[A-Za-z0-9_.@-]+$/, "");
  if (!/^(\*|[0-9.]+|[0-9A-Fa-f:.]+)$/.test(address)) return undefined;
  return { address, port: Number(m[2]) };
}

/**
 * `ss -Htlnup` lines: `Netid State Recv-Q Send-Q Local:Port Peer:Port [Process]`
 * (iproute2 ss(8); -H drops the header). @returns the sockets and the lines skipped.
 */
export function parseSs(stdout: string): { sockets: ListeningSocket[]; skipped: number } {
  const sockets: ListeningSocket[] = [];
  let skipped = 0;
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const f = line.trim().split(/\s+/);
    const proto = f[0];
    const local = f[4] === undefined ? undefined : splitLocal(f[4]);
    if ((proto !== "tcp" && proto !== "udp") || local === undefined) {
      skipped++;
      continue;
    }
    const process = /users:\(\("([^"]{1,64})"/.exec(line)?.[1];
    sockets.push({ proto, ...local, ...(process !== undefined ? { process: clean(process, 64) } : {}) });
  }
  return { sockets, skipped };
}

/** The address of a /proc/net/tcp* hex field: IPv4 in host (little-endian) byte order, IPv6 as four such words. */
function procAddress(hex: string): string | undefined {
  if (/^[0-9A-F]{8}$/i.test(hex)) return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(".");
  if (!/^[0-9A-F]{32}$/i.test(hex)) return undefined;
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) for (const i of [6, 4, 2, 0]) bytes.push(parseInt(hex.slice(w * 8 + i, w * 8 + i + 2), 16));
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  // The shortest form (RFC 5952), as ss prints it: the longest run of two or more zero groups becomes "::".
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.length && j - i >= 2) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(":");
  return `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.length).join(":")}`;
}

/**
 * /proc/net/{tcp,tcp6,udp,udp6} (Linux proc(5)), each preceded by a `file <name>` line
 * the script prints: listening TCP sockets (state 0A) and bound UDP ones (state 07,
 * unconnected) with their local address. @returns the sockets and the lines skipped.
 */
export function parseProcNet(stdout: string): { sockets: ListeningSocket[]; skipped: number } {
  const sockets: ListeningSocket[] = [];
  let skipped = 0;
  let proto: "tcp" | "udp" | undefined;
  for (const line of stdout.split("\n")) {
    const file = /^file (tcp6?|udp6?)$/.exec(line);
    if (file !== null) {
      proto = file[1]!.startsWith("tcp") ? "tcp" : "udp";
      continue;
    }
    const f = line.trim().split(/\s+/);
    if (proto === undefined || f[0] === "sl" || line.trim() === "") continue;
    const m = /^([0-9A-F]+):([0-9A-F]{4})$/i.exec(f[1] ?? "");
    const state = f[3];
    const address = m === null ? undefined : procAddress(m[1]!);
    if (m === null || address === undefined || state === undefined) {
      skipped++;
      continue;
    }
    if ((proto === "tcp" && state !== "0A") || (proto === "udp" && state !== "07")) continue;
    sockets.push({ proto, address, port: parseInt(m[2]!, 16) });
  }
  return { sockets, skipped };
}

/** `address:port/proto` as evidence shows a socket (`[::]:22/tcp`). */
export const socketLabel = (s: ListeningSocket): string => `${s.address.includes(":") ? `[${s.address}]` : s.address}:${s.port}/${s.proto}${s.process !== undefined ? ` (${s.process})` : ""}`;

/** An allowed entry of a listening-ports rule, parsed: `[ADDRESS:]PORT[/PROTO]`. */
export interface AllowedSocket {
  /** Undefined or "*": any address. */
  address?: string;
  port: number;
  proto: "tcp" | "udp";
}

/** Parses one allowed entry (the schema's grammar). @throws RangeError for text outside it. */
export function parseAllowedSocket(text: string): AllowedSocket {
  const m = /^(?:(\*|[0-9.]{7,15}|\[[0-9A-Fa-f:.]+\]):)?(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  if (m === null || Number(m[2]) > 65535) throw new RangeError(`not [ADDRESS:]PORT[/tcp|/udp]: ${JSON.stringify(text)}`);
  const address = m[1]?.replace(/^\[(.*)\]$/, "$1");
  return { ...(address !== undefined && address !== "*" ? { address } : {}), port: Number(m[2]), proto: (m[3] as "tcp" | "udp" | undefined) ?? "tcp" };
}

/** True when an allowed entry covers the socket (an IPv4-mapped IPv6 address counts as its IPv4 one). */
export function socketAllowed(s: ListeningSocket, allowed: readonly AllowedSocket[]): boolean {
  const address = s.address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
  return allowed.some((a) => a.port === s.port && a.proto === s.proto && (a.address === undefined || a.address === address));
}

/** What `sudo -l -U <user>` says one account may run. */
export interface SudoRights {
  user: string;
  /** The rule lines (`(ALL : ALL) NOPASSWD: ALL`), as sudo prints them. */
  rules: string[];
  /** True when a rule lets the account run a command as root: its run-as list names root or ALL (none named: root). */
  root: boolean;
  /** True when a root rule allows every command (`ALL`). */
  allCommands: boolean;
}

/**
 * The sudo section: `user <name>` per account, then `sudo -n -l -U <name>`'s lines
 * prefixed `| ` (sudo(8) -l; sudoers(5) "User specification"). Accounts sudo does not
 * allow anything are left out. @returns the rights and the accounts sudo could not answer for.
 */
export function parseSudoList(stdout: string): { rights: SudoRights[]; unanswered: string[] } {
  const rights: SudoRights[] = [];
  const unanswered: string[] = [];
  let current: { user: string; lines: string[] } | undefined;
  const close = (): void => {
    if (current === undefined) return;
    const { user, lines } = current;
    const start = lines.findIndex((l) => /^User \S+ may run the following commands on /.test(l));
    if (start >= 0) {
      const rules = joinWrapped(lines.slice(start + 1)).map((l) => clean(l, 500));
      const root = rules.filter(isRootRule);
      rights.push({ user, rules, root: root.length > 0, allCommands: root.some((r) => /(^|[\s:,])ALL$/.test(r.replace(/^\([^)]*\)\s*/, "").replace(/^(\w+:\s*)+/, "").trim())) });
    } else if (!lines.some((l) => /^User \S+ is not allowed to run sudo on /.test(l))) unanswered.push(user);
    current = undefined;
  };
  for (const line of stdout.split("\n")) {
    if (line.startsWith("user ")) {
      close();
      // An account name sudo's output could be confused with is not read: its lines are dropped, the account named as unanswered.
      const u = /^user ([A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?)$/.exec(line);
      if (u === null) unanswered.push(clean(line.slice(5), 64));
      current = u === null ? undefined : { user: u[1]!, lines: [] };
    } else if (current !== undefined && line.startsWith("| ")) current.lines.push(line.slice(2));
  }
  close();
  return { rights, unanswered };
}

/** Rule lines start with four spaces; a longer indent continues the line before (sudo wraps at 80 columns without a terminal). */
function joinWrapped(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (line.trim() === "") continue;
    if (/^ {5,}\S/.test(line) && out.length > 0) out[out.length - 1] += ` ${line.trim()}`;
    else if (/^ {4}\S/.test(line)) out.push(line.trim());
  }
  return out;
}

/** A rule runs commands as root when its run-as user list names root or ALL, or it names none (sudoers(5): the default is root). */
function isRootRule(rule: string): boolean {
  const runas = /^\(([^):]*)(?::[^)]*)?\)/.exec(rule);
  if (runas === null) return true;
  return runas[1]!.split(",").map((u) => u.trim()).some((u) => u === "ALL" || u === "root" || u === "#0" || u === "");
}
