import type { Become } from "./types.ts";

/**
 * Quotes a value for a POSIX shell: single quotes, with embedded single quotes closed,
 * escaped and reopened. Safe for every byte string; nothing inside is interpreted.
 */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The argv prefix and message-free probe used for `become`. `-n` makes sudo fail
 * instead of prompting: a prompt with nobody to answer it would hang the run.
 */
export function becomePrefix(become: Exclude<Become, false>): string {
  return `sudo -n -u ${shellQuote(become.user)} --`;
}

/** Runs `command` in a fresh POSIX shell, optionally through become. */
export function shellCommand(command: string, become: Become | undefined): string {
  const inner = `/bin/sh -c ${shellQuote(command)}`;
  return become === undefined || become === false ? inner : `${becomePrefix(become)} ${inner}`;
}

/**
 * A shell script that kills every process of the command whose wrapper shell had PID
 * `root`: the wrapper's process group (sshd makes each exec a session leader) plus
 * all descendants, which catches children that moved to their own group, such as the
 * command under sudo with `use_pty`. It repeats until nothing is left, since a process
 * may fork between listing and killing, and exits 0 only when the tree is gone.
 */
export function killTreeScript(root: number): string {
  const list =
    "ps -e -o pid= -o ppid= -o pgid= -o stat= | awk -v root=" +
    root +
    " '$4 !~ /^Z/ { pid[NR]=$1; ppid[NR]=$2; pg[NR]=$3; alive[$1]=1 }" +
    " END { if (root in alive) keep[root]=1;" +
    " for (i in pid) if (pg[i]==root) keep[pid[i]]=1;" +
    " do { changed=0; for (i in pid) if ((ppid[i] in keep) && !(pid[i] in keep)) { keep[pid[i]]=1; changed=1 } } while (changed);" +
    " for (p in keep) print p }'";
  return `i=0; while [ $i -lt 50 ]; do pids=$(${list}); [ -z "$pids" ] && exit 0; kill -KILL $pids 2>/dev/null; sleep 0.1; i=$((i+1)); done; exit 1`;
}
