/**
 * A package transaction that outlives the controller. Run inside the SSH session, apt
 * dies with the session when steward is killed (`kill -9`, a lost laptop, a CI runner
 * cancelled): dpkg is cut mid-transaction and the host is left half-configured. So the
 * transaction runs detached on the host, as a job:
 *
 * - its folder is JOB_ROOT/<job-id> (JOB_ROOT root-owned, mode 0700, never a link),
 *   holding `run.sh` (the transaction, written from stdin), `pid`, `stdout`, `stderr`
 *   and, once it ends, `exit` (its exit status, written to `exit.tmp` then renamed, so
 *   a reader never sees half of it);
 * - it is started with `nohup setsid` (a session of its own, SIGHUP ignored), stdin
 *   from /dev/null and its output to those files: nothing ties it to the SSH channel;
 * - the controller follows it with one command that waits for `exit` within the step's
 *   timeout, then reads the status and the output tails.
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
 * The script (run as root) that makes the job's folder, writes `run.sh` from stdin,
 * and starts it detached. Prints `started` on success; exits non-zero, saying why on
 * stderr, when the folder exists already or the root is a link.
 */
export function startScript(id: string): string {
  const d = dirOf(id);
  return [
    "set -eu",
    "umask 077",
    `for p in /var/lib/steward ${JOB_ROOT}; do if [ -L "$p" ]; then echo "$p is a symbolic link; refusing to start a job" >&2; exit 1; fi; done`,
    `mkdir -p ${JOB_ROOT}`,
    `chmod 700 /var/lib/steward ${JOB_ROOT}`,
    `find ${JOB_ROOT} -mindepth 1 -maxdepth 1 -type d -name 'tx-*' -mtime +${JOB_KEEP_DAYS} -exec rm -rf {} + 2>/dev/null || true`,
    `mkdir ${d}`,
    `cat > ${d}/run.sh`,
    `nohup setsid /bin/sh ${d}/run.sh </dev/null >/dev/null 2>&1 &`,
    "echo started",
  ].join("\n");
}

/** `run.sh` of a job: the command with its output in files, then its exit status, atomically. */
export function jobBody(id: string, command: string): string {
  const d = dirOf(id);
  return [`echo $$ > ${d}/pid`, "cd /", `( ${command} ) </dev/null >${d}/stdout 2>${d}/stderr`, `echo $? > ${d}/exit.tmp`, `mv -f ${d}/exit.tmp ${d}/exit`, ""].join("\n");
}

/**
 * The script (run as root) that reports a job's state on its first line and, once it
 * ended, its output: `exit N` then the stdout tail (stderr tail on stderr); `running`
 * (with `wait` false); `lost` (its process is gone and it left no status: killed, or
 * the host rebooted under it; a job that has not written its pid yet is given
 * LAUNCH_GRACE_SECONDS first); `missing` (no such job). With `wait`, it waits for the
 * job to end (the caller bounds the wait with its exec timeout).
 */
export function stateScript(id: string, wait: boolean): string {
  const d = dirOf(id);
  const alive = `{ p=$(cat ${d}/pid 2>/dev/null) && [ -n "$p" ] && grep -qs run.sh /proc/"$p"/cmdline; }`;
  return [
    `if [ ! -d ${d} ]; then echo missing; exit 0; fi`,
    "early=0",
    `while [ ! -e ${d}/exit ]; do`,
    // The job writes its pid first thing, but on a loaded host that can take seconds: a job
    // without a pid yet is given LAUNCH_GRACE_SECONDS; one whose process is gone, half a second.
    `  if ! ${alive}; then sleep 0.5; if [ ! -e ${d}/exit ] && ! ${alive}; then if [ -s ${d}/pid ] || [ "$early" -ge ${LAUNCH_GRACE_SECONDS * 2} ]; then echo lost; exit 0; fi; early=$((early + 1)); fi; fi`,
    wait ? "  sleep 0.2" : "  echo running; exit 0",
    "done",
    `echo "exit $(head -c 8 ${d}/exit)"`,
    `tail -c ${OUTPUT_TAIL_BYTES} ${d}/stdout 2>/dev/null`,
    `tail -c ${OUTPUT_TAIL_BYTES} ${d}/stderr >&2 2>/dev/null`,
    "exit 0",
  ].join("\n");
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
 * Starts `command` as a detached job through become (root).
 * @throws Error with the host's reason when the job could not be started (nothing ran).
 */
export async function startJob(session: Session, id: string, command: string, become: boolean): Promise<void> {
  const r = await session.exec(startScript(id), { become, check: false, stdin: jobBody(id, command), label: "start package job", timeoutMs: 60_000 });
  if (r.exitCode !== 0 || !/^started$/m.test(r.stdout)) throw new Error(`could not start the package job ${id} on the host (exit ${r.exitCode}): ${r.stderr.trim().split("\n").at(-1)?.slice(0, 200) ?? ""}`);
}

/**
 * The job's state; with `wait`, waits until it ends, at most `timeoutMs` (the exec's
 * timeout: a CommandTimeoutError then, and the job goes on on the host).
 */
export async function jobState(session: Session, id: string, become: boolean, wait: boolean, timeoutMs: number): Promise<JobState> {
  const r = await session.exec(stateScript(id, wait), { become, check: false, label: wait ? "package job" : "package job state", timeoutMs });
  return parseJobState(r.stdout, r.stderr);
}
