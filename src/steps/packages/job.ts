/**
 * A package transaction that outlives the controller. Run inside the SSH session, apt
 * dies with the session when steward is killed (`kill -9`, a lost laptop, a CI runner
 * cancelled): dpkg is cut mid-transaction and the host is left half-configured. So the
 * transaction runs detached on the host, as a job:
 *
 * - its folder is JOB_ROOT/<job-id> (JOB_ROOT root-owned, mode 0700, never a link),
 *   holding `run.sh` (the transaction, from a here-document), `pid`, `stdout`, `stderr`
 *   and, once it ends, `exit` (its exit status, written to `exit.tmp` then renamed, so
 *   a reader never sees half of it);
 * - it is started with `nohup setsid` (a session of its own, SIGHUP ignored) from a
 *   subshell that exits at once (so it is re-parented to init), stdin
 *   from /dev/null and its output to those files: nothing ties it to the SSH channel;
 * - the controller starts it and follows it in one command (./round-trips.ts), which
 *   waits for `exit` within the step's timeout, then reads the status and the output
 *   tails; a resume follows a job it finds still running with stateScript alone.
 * After a crash, `--resume` finds the job from the id recorded in the step's intent,
 * waits for it when it still runs, and judges the step from what it left.
 *
 * Job folders older than JOB_KEEP_DAYS are removed when a new job starts.
 */
import { randomBytes } from "node:crypto";
import type { Session } from "../../transport/types.ts";

/** Where jobs live on a host. */
export const JOB_ROOT = "/var/lib/steward/jobs";

/** Job folders are kept this many days after their last change, for a human to read. */
export const JOB_KEEP_DAYS = 30;

/** Seconds a follower gives a job it finds without a pid before calling it lost. */
export const LAUNCH_GRACE_SECONDS = 30;

/** Bytes of each output stream read back from a job. */
const OUTPUT_TAIL_BYTES = 65_536;

const JOB_ID = /^tx-\d{8}T\d{6}Z-[0-9a-f]{12}$/;

/** A new job id: `tx-<UTC second>-<12 hex digits>`. */
export function newJobId(now = new Date()): string {
  return `tx-${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${randomBytes(6).toString("hex")}`;
}

/** True for an id newJobId makes: the only text of a job id that reaches a shell. */
export function isJobId(value: unknown): value is string {
  return typeof value === "string" && JOB_ID.test(value);
}

function dirOf(id: string): string {
  if (!isJobId(id)) throw new RangeError(`not a job id: ${JSON.stringify(id)}`);
  return `${JOB_ROOT}/${id}`;
}

/**
 * The script (run as root) that makes the job's folder, writes `run.sh`, and starts it
 * detached. Prints `started` on success; exits non-zero, saying why on stderr, when the
 * folder exists already or the root is a link. It is meant to be read from standard
 * input itself (`/bin/sh -s`, the packages step's one round trip that starts and
 * follows the job: ./round-trips.ts), so `run.sh` comes from a here-document ended by
 * `delimiter` (a fresh random word per call; the command is steward's own text with
 * every value checked and quoted, and is refused should it hold a line equal to it).
 * @throws RangeError for a job id or delimiter outside their grammars.
 */
export function startScript(id: string, command: string, delimiter: string): string {
  if (!/^[A-Z][A-Z0-9_]{15,}$/.test(delimiter)) throw new RangeError(`not a here-document delimiter: ${JSON.stringify(delimiter)}`);
  const body = jobBody(id, command);
  if (body.split("\n").includes(delimiter)) throw new RangeError("the job's text holds its here-document delimiter");
  return [...prepareLines(id), `cat > ${dirOf(id)}/run.sh <<'${delimiter}'`, `${body}${delimiter}`, launchLine(id), "echo started"].join("\n");
}

function prepareLines(id: string): string[] {
  const d = dirOf(id);
  return [
    "set -eu",
    "umask 077",
    `for p in /var/lib/steward ${JOB_ROOT}; do if [ -L "$p" ]; then echo "$p is a symbolic link; refusing to start a job" >&2; exit 1; fi; done`,
    `mkdir -p ${JOB_ROOT}`,
    `chmod 700 /var/lib/steward ${JOB_ROOT}`,
    `find ${JOB_ROOT} -mindepth 1 -maxdepth 1 -type d -name 'tx-*' -mtime +${JOB_KEEP_DAYS} -exec rm -rf {} + 2>/dev/null || true`,
    `mkdir ${d}`,
  ];
}

/**
 * Starts run.sh in a session of its own, from a subshell that exits at once: the job is
 * re-parented to init, so it is no descendant of the shell that started it, and a
 * timed-out or killed follower's process tree (killTreeScript, src/transport/shell.ts)
 * never includes apt.
 */
const launchLine = (id: string): string => `( nohup setsid /bin/sh ${dirOf(id)}/run.sh </dev/null >/dev/null 2>&1 & )`;

/**
 * `run.sh` of a job: the command with its output in files, then its exit status, atomically.
 * The job's own files keep the start script's umask 077 (root-only); the transaction runs
 * with umask 022, root's usual one (Debian's /etc/login.defs, base-files), so maintainer
 * scripts create world-readable files as they would under a login shell: a transaction
 * under 077 would leave a package's new config files or folders readable by root alone.
 */
export function jobBody(id: string, command: string): string {
  const d = dirOf(id);
  return [`echo $$ > ${d}/pid`, "cd /", `( umask 022; ${command} ) </dev/null >${d}/stdout 2>${d}/stderr`, `echo $? > ${d}/exit.tmp`, `mv -f ${d}/exit.tmp ${d}/exit`, ""].join("\n");
}

/**
 * The script (run as root) that reports a job's state on its first line and, once it
 * ended, its output: `exit N` then the stdout tail (stderr tail on stderr, ending with a
 * line feed); `running` (with `wait` false, or when `wait` is a number of seconds that
 * passed first); `lost` (its process is gone and it left no status: killed, or the host
 * rebooted under it; a job that has not written its pid is given LAUNCH_GRACE_SECONDS
 * first, for a loaded host); `missing` (no such job). With `wait` true it waits for the job to
 * end (the caller bounds the wait with its exec timeout). Exits 0 after `exit N`, 3
 * otherwise.
 *
 * The wait costs next to nothing on the host: while the job's process lives, one
 * `tail --pid` (GNU coreutils; under `timeout` until the wait's end) checks it every
 * 0.05 s, so the end is seen within about 0.05 s, and following a job of any length
 * starts two or three processes in all rather than a few every poll; where tail lacks
 * --pid (busybox) the loop polls every 0.2 s.
 */
export function stateScript(id: string, wait: boolean | number): string {
  const d = dirOf(id);
  if (typeof wait === "number" && (!Number.isInteger(wait) || wait < 1)) throw new RangeError(`the wait must be a whole number of seconds, not ${wait}`);
  const alive = `{ p=$(cat ${d}/pid 2>/dev/null) && [ -n "$p" ] && grep -qs run.sh /proc/"$p"/cmdline; }`;
  const follow = [
    `  if ${alive}; then`,
    "    gone=0",
    ...(typeof wait === "number"
      ? [`    now=$(date +%s); [ "$now" -lt "$end" ] || { echo running; exit 3; }`, `    timeout $((end - now)) tail --pid="$p" -s 0.05 -f /dev/null 2>/dev/null; r=$?`]
      : [`    tail --pid="$p" -s 0.05 -f /dev/null 2>/dev/null; r=$?`]),
    `    [ "$r" -eq 0 ] || [ "$r" -eq 124 ] || sleep 0.2`,
    // A job whose pid is written and whose process is gone is lost once its exit status has
    // had half a second to appear; the job writes its pid first thing, but on a loaded host
    // that can take seconds, so a job without a pid yet gets LAUNCH_GRACE_SECONDS.
    `  elif [ -s ${d}/pid ]; then gone=$((gone + 1)); [ "$gone" -le 10 ] || { echo lost; exit 3; }; sleep 0.05`,
    `  else early=$((early + 1)); [ "$early" -le ${LAUNCH_GRACE_SECONDS * 20} ] || { echo lost; exit 3; }; sleep 0.05; fi`,
  ].filter((line) => line !== "");
  return [
    `if [ ! -d ${d} ]; then echo missing; exit 3; fi`,
    "gone=0; early=0",
    typeof wait === "number" ? `end=$(( $(date +%s) + ${wait} ))` : "",
    `while [ ! -e ${d}/exit ]; do`,
    ...(wait === false ? [`  if ! ${alive}; then sleep 0.5; if [ ! -e ${d}/exit ] && ! ${alive}; then echo lost; exit 3; fi; fi`, "  echo running; exit 3"] : follow),
    "done",
    `echo "exit $(head -c 8 ${d}/exit)"`,
    `tail -c ${OUTPUT_TAIL_BYTES} ${d}/stdout 2>/dev/null`,
    // A following section's marker must start a line of its own.
    `tail -c ${OUTPUT_TAIL_BYTES} ${d}/stderr >&2 2>/dev/null; [ -z "$(tail -c 1 ${d}/stderr 2>/dev/null)" ] || echo >&2`,
    "exit 0",
  ].filter((line) => line !== "").join("\n");
}

/** A job's state as the host reports it. */
export type JobState = { state: "exit"; exitCode: number; stdout: string; stderr: string } | { state: "running" | "lost" | "missing" };

/**
 * Reads stateScript's output. The first line comes from the host: anything but the
 * grammar above is an error, never a guess.
 * @throws Error naming what the host printed (cut to 60 characters).
 */
export function parseJobState(stdout: string, stderr: string): JobState {
  const newline = stdout.indexOf("\n");
  const first = (newline < 0 ? stdout : stdout.slice(0, newline)).trim();
  if (first === "running" || first === "lost" || first === "missing") return { state: first };
  const m = /^exit (\d{1,3})$/.exec(first);
  if (m === null || Number(m[1]) > 255) throw new Error(`the host reports the package job's state as ${JSON.stringify(first.slice(0, 60))}, not 'exit N', running, lost or missing`);
  return { state: "exit", exitCode: Number(m[1]), stdout: newline < 0 ? "" : stdout.slice(newline + 1), stderr };
}

/**
 * The job's state; with `wait`, waits until it ends, at most `timeoutMs` (the exec's
 * timeout: a CommandTimeoutError then, and the job goes on on the host).
 */
export async function jobState(session: Session, id: string, become: boolean, wait: boolean, timeoutMs: number): Promise<JobState> {
  const r = await session.exec(stateScript(id, wait), { become, check: false, label: wait ? "package job" : "package job state", timeoutMs });
  return parseJobState(r.stdout, r.stderr);
}
