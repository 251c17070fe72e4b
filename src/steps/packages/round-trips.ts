/**
 * The packages step's work on a host in two round trips, each one script on
 * `/bin/sh -s` whose stages are framed as the facts script's sections are
 * (src/facts/script.ts: a marker with a fresh random nonce per call, on no command line,
 * begin lines on both streams, each stage's exit status after it):
 *
 * 1. `before` (no root, no lock, changes nothing): the installed versions of the planned
 *    packages, then the simulation. The caller judges both in TypeScript — broken
 *    packages, anything the simulation would change beyond the plan — before anything
 *    on the host changes.
 * 2. `transaction` (through become): start the detached job (./job.ts), follow it until
 *    it ends or the step's time is up, then read the versions after and needrestart's
 *    report. The job stays detached: it is re-parented to init before the follower waits,
 *    so a lost connection, a killed steward or a timed-out follower never stops apt, and
 *    a resume finds it by the id the step's intent holds.
 *
 * Host output stays untrusted: a stage's output is only what lies between its own
 * begin line and status, a program that does not know the nonce cannot end a stage or
 * start another (splitFramed refuses the output whole: ForgedOutputError), and each
 * stage's text then goes through the same parsers and grammar checks as before.
 * Before: six exec round trips per host (versions, simulation, start, wait, versions,
 * needrestart), four through sudo; now two, one through sudo.
 */
import { randomBytes } from "node:crypto";
import { section, splitFramed, type Section } from "../../facts/script.ts";
import type { Session } from "../../transport/types.ts";
import { lastLine } from "../execute-helpers.ts";
import { parseJobState, startScript, stateScript, type JobState } from "./job.ts";

/** The stages of the first round trip, in order. */
export const BEFORE_STAGES = ["versions", "simulation"] as const;

/** The stages of the second round trip, in order; a stage that fails ends the script after its status. */
export const TRANSACTION_STAGES = ["start", "wait", "versions", "needrestart"] as const;

/** What `splitFramed` calls this output in its errors. */
const WHAT = "packages step output";

/** One framed stage: facts/script.ts's section in a subshell; with `stop`, a non-zero status ends the script there. */
const stage = (name: string, body: string, stop: boolean): string => section(name, body, "subshell", stop);

const nonce = (): string => randomBytes(16).toString("hex");

/** A script of framed stages and its marker; `M` is read-only, so no stage can change it. */
function framed(marker: string, stages: readonly string[]): string {
  return `M=${marker}\nreadonly M\n${stages.join("\n")}\n`;
}

/**
 * The first round trip's script: `versions` then `simulation`, both read-only, each
 * the caller's shell text (versionQuery and transaction(..., true) in ./execute.ts,
 * every value checked and quoted).
 */
export function beforeScript(versions: string, simulation: string, key = nonce()): { script: string; marker: string } {
  const marker = `@@steward-packages-${key}@@`;
  return { script: framed(marker, [stage("versions", versions, false), stage("simulation", simulation, false)]), marker };
}

/**
 * The second round trip's script: start the job running `command` (as startScript does),
 * follow it for at most `waitSeconds` (stateScript), and once it ended read `versions`
 * and `needrestart` (shell text, as above). A start that fails, or a job that is still
 * running, lost or missing, ends the script after that stage.
 * @throws RangeError for a job id or wait outside their grammars.
 */
export function transactionScript(job: string, command: string, versions: string, needrestart: string, waitSeconds: number, key = nonce()): { script: string; marker: string } {
  const marker = `@@steward-packages-${key}@@`;
  const delimiter = `STEWARD_JOB_${nonce().toUpperCase()}`;
  const stages = [stage("start", startScript(job, command, delimiter), true), stage("wait", stateScript(job, waitSeconds), true), stage("versions", versions, false), stage("needrestart", needrestart, false)];
  return { script: framed(marker, stages), marker };
}

/** The first round trip's stages, each finished (an exit status), or why not. */
export type Before = { ok: true; versions: Section; simulation: Section } | { ok: false; reason: string };

/**
 * Runs the first round trip and splits its output: without become unless `become` (dnf 4
 * simulates only as root; the versions read is harmless as root too).
 * @throws ForgedOutputError when the output breaks the framing; transport errors as Session.exec.
 */
export async function runBefore(session: Session, versions: string, simulation: string, timeoutMs: number, become = false): Promise<Before> {
  const { script, marker } = beforeScript(versions, simulation);
  const r = await session.exec("/bin/sh -s", { stdin: script, become, check: false, label: "package versions and simulation", timeoutMs });
  const stages = splitFramed(r.stdout, r.stderr, marker, BEFORE_STAGES, WHAT);
  const v = stages.get("versions");
  const s = stages.get("simulation");
  if (v?.exitCode == null || s?.exitCode == null) return { ok: false, reason: `the host's shell ended before the ${v?.exitCode == null ? "versions" : "simulation"} finished (exit ${r.exitCode ?? r.signal}${lastLine(r.stderr) ? `: ${lastLine(r.stderr)}` : ""})` };
  return { ok: true, versions: v, simulation: s };
}

/**
 * The second round trip's outcome: the job could not be started (nothing ran; `reason`
 * from the host), or its state, with the versions and needrestart stages when it ended
 * and the script got that far (absent ones the caller reads on their own), or no state
 * when the follower's output stops short of one (the job may run on, detached).
 */
export type Transaction = { started: false; reason: string } | { started: true; state: JobState; versions?: Section; needrestart?: Section } | { started: true; state: undefined; reason: string };

/**
 * Runs the second round trip through `become` and splits its output. The exec's limit is
 * `waitSeconds` plus `graceMs` for the start and the reads after: on the shell's own
 * deadline the follower reports the job `running`; a CommandTimeoutError means the host
 * did not answer even so (the job goes on either way).
 * @throws ForgedOutputError when the output breaks the framing, Error when the wait
 *   stage's first line is not a job state (parseJobState); transport errors as Session.exec.
 */
export async function runTransaction(session: Session, job: string, command: string, reads: { versions: string; needrestart: string }, become: boolean, waitSeconds: number, graceMs = 60_000): Promise<Transaction> {
  const { script, marker } = transactionScript(job, command, reads.versions, reads.needrestart, waitSeconds);
  const r = await session.exec("/bin/sh -s", { stdin: script, become, check: false, label: "package job", timeoutMs: waitSeconds * 1000 + graceMs });
  const stages = splitFramed(r.stdout, r.stderr, marker, TRANSACTION_STAGES, WHAT);
  const start = stages.get("start");
  if (start === undefined || start.exitCode !== 0 || !/^started$/m.test(start.stdout)) {
    const said = lastLine(start?.stderr ?? "") || lastLine(r.stderr);
    return { started: false, reason: `exit ${start?.exitCode ?? r.exitCode ?? r.signal}${said ? `: ${said.slice(0, 200)}` : ""}` };
  }
  const wait = stages.get("wait");
  if (wait === undefined || wait.exitCode === null) return { started: true, state: undefined, reason: `the host's shell ended while following the job (exit ${r.exitCode ?? r.signal}${lastLine(r.stderr) ? `: ${lastLine(r.stderr).slice(0, 200)}` : ""})` };
  const state = parseJobState(wait.stdout, wait.stderr);
  const finished = (name: "versions" | "needrestart"): Section | undefined => {
    const s = stages.get(name);
    return s !== undefined && s.exitCode !== null ? s : undefined;
  };
  const versions = finished("versions");
  const needrestart = finished("needrestart");
  return { started: true, state, ...(versions ? { versions } : {}), ...(needrestart ? { needrestart } : {}) };
}
