import { readdir, readFile, readlink } from "node:fs/promises";

/** One process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The one-letter state of /proc/PID/stat: R, S, T (stopped), Z (zombie)... */
  state: string;
  comm: string;
}

/** Reads /proc/PID/stat; undefined once the process is gone. */
export async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm is parenthesised and may itself hold spaces or parentheses: split at the last ")".
  const close = stat.lastIndexOf(")");
  const comm = stat.slice(stat.indexOf("(") + 1, close);
  const [state = "?", ppid = "0"] = stat.slice(close + 2).split(" ");
  return { pid, ppid: Number(ppid), state, comm };
}

/** True while the process exists and is not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  const info = await processInfo(pid);
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

/** The process's command line, arguments joined by spaces; "" once gone. */
export async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/**
 * True when `pid` is still the process the fleet started with a command line naming
 * `marker` (the host's folder) as its last argument: a recorded PID may have been reused by the time a
 * fleet is stopped, and only our own processes may be signalled.
 */
export async function isOurs(pid: number, marker: string): Promise<boolean> {
  return pid > 1 && (await isAlive(pid)) && (await commandLine(pid)).endsWith(` ${marker}`);
}

/**
 * Every live process in the pid namespaces whose inits are `initPids`, by init, each
 * list init first. One pass over /proc serves a whole fleet.
 */
export async function namespaceProcesses(initPids: readonly number[]): Promise<Map<number, ProcessInfo[]>> {
  const byNamespace = new Map<string, number>();
  const result = new Map<number, ProcessInfo[]>();
  for (const init of initPids) {
    result.set(init, []);
    const ns = await readlink(`/proc/${init}/ns/pid`).catch(() => undefined);
    if (ns !== undefined) byNamespace.set(ns, init);
  }
  const pids = (await readdir("/proc")).filter((entry) => /^\d+$/.test(entry)).map(Number);
  await Promise.all(
    pids.map(async (pid) => {
      const init = byNamespace.get(await readlink(`/proc/${pid}/ns/pid`).catch(() => ""));
      if (init === undefined) return;
      const info = await processInfo(pid);
      if (info && info.state !== "Z") result.get(init)?.push(info);
    }),
  );
  for (const [init, list] of result) list.sort((a, b) => (a.pid === init ? -1 : b.pid === init ? 1 : a.pid - b.pid));
  return result;
}

/** Sends a signal, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Waits until none of `pids` is alive; false if `timeoutMs` passed first. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = await Promise.all(pids.map(isAlive));
    if (!alive.includes(true)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
