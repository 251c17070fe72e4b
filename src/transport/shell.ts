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
 * Names a shell runs itself rather than as a program, so `exec NAME` would not do what
 * `/bin/sh -c NAME` does (or any program of that name would run instead): POSIX's
 * reserved words (XCU 2.4), special built-ins (XCU 2.14) and the utilities it requires
 * to be built in or usually builds in (XCU 1.7), and the builtins bash and dash add.
 */
const SHELL_OWN = new Set([
  "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in", "select", "then", "time", "until", "while", "[[", "]]",
  "break", ":", "continue", ".", "eval", "exec", "exit", "export", "readonly", "return", "set", "shift", "times", "trap", "unset",
  "alias", "bg", "cd", "command", "false", "fc", "fg", "getopts", "hash", "jobs", "kill", "newgrp", "pwd", "read", "true", "type", "ulimit", "umask", "unalias", "wait",
  "echo", "printf", "test", "[",
  "builtin", "caller", "compgen", "complete", "compopt", "declare", "dirs", "disown", "enable", "help", "history", "let", "local", "logout", "mapfile", "popd", "pushd", "readarray", "shopt", "source", "suspend", "typeset",
]);

/** A word the shell takes as it is: nothing in it is expanded, quoted or special (shellQuote leaves it bare). */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * The command line the transport's wrapper shell `exec`s for `command` without become.
 * A command of plain words separated by single spaces — a program and its arguments,
 * such as `uname -r` or `/bin/sh -s` — is exec'd by the login shell itself: the same
 * program with the same arguments, PATH lookup and process (the wrapper's PID stays the
 * process-group leader), one program start fewer than through `/bin/sh -c`. Anything
 * else (quotes, expansions, pipes, redirections, `;`, an assignment or an option first
 * — `exec -a` is exec's own —, a name the shell runs itself: SHELL_OWN) goes through
 * `/bin/sh -c`, so its meaning is POSIX sh's whatever the login shell is.
 */
export function execCommand(command: string): string {
  const words = command.split(" ");
  const first = words[0]!;
  const direct = words.every((w) => PLAIN_WORD.test(w)) && !first.includes("=") && !first.startsWith("-") && !SHELL_OWN.has(first);
  return direct ? command : shellCommand(command, undefined);
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
