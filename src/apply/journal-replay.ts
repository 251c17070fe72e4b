/**
 * Reading a run journal back (format in journal.ts): the records, checked line by
 * line, and the run's state replayed from them for a resume or a report.
 *
 * A final line without its "\n" is torn (the writer was killed mid-write): it is left
 * out and reported as `tornBytes`, never trusted. Any other damage (a line that is not
 * JSON, a gap or repeat in `seq`, a `prev` that is not the hash of the line before, an
 * unknown record type) means the file was edited or damaged: it is refused with the
 * line number, since resuming from it could run a step twice.
 */
import { readFile } from "node:fs/promises";
import { StewardError } from "../core/errors.ts";
import { JOURNAL_RECORD_TYPES, lineHash, type JournalRecord } from "./journal-records.ts";
import { BUDGET_OUTCOMES, type HostOutcome, type HostResult, type RunStatus, type StepIntent, type StepResult } from "./types.ts";

/** A journal that cannot be trusted: edited, reordered, or damaged other than a torn last line. */
/** A run journal that was edited, cut in the middle or damaged: exit 5, like a tampered plan. */
export class JournalError extends StewardError {
  constructor(message: string, hint?: string) {
    super("stale-plan", message, hint);
  }
}

export interface JournalRead {
  path: string;
  records: JournalRecord[];
  /** The exact text of each record's line, without "\n". */
  lines: string[];
  /** Bytes of whole, checked lines: where a resume cuts the file. */
  validBytes: number;
  /** Bytes of a torn final line (0 when none). */
  tornBytes: number;
}

/**
 * Reads and checks a journal file.
 * @throws JournalError naming the first bad line; EnvironmentError-like errno errors pass through.
 */
export async function readJournal(path: string): Promise<JournalRead> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new JournalError(`${path} does not exist`, "check the run id: runs/<run-id>/journal.jsonl");
    throw error;
  }
  const records: JournalRecord[] = [];
  const lines: string[] = [];
  let start = 0;
  let prev = "";
  for (let end = bytes.indexOf(0x0a, start); end !== -1; end = bytes.indexOf(0x0a, start)) {
    const line = bytes.subarray(start, end).toString("utf8");
    const n = lines.length + 1;
    const record = parseLine(line, n, path);
    if (record.seq !== n) throw damaged(path, n, `has seq ${record.seq}, expected ${n} (a record was removed, repeated or moved)`);
    if (record.prev !== prev) throw damaged(path, n, "does not chain to the line before (prev is not its sha256): the journal was edited");
    records.push(record);
    lines.push(line);
    prev = lineHash(line);
    start = end + 1;
  }
  if (records.length === 0 && start === 0 && bytes.length === 0) throw new JournalError(`${path} is empty`, "the run never started: start a new run");
  const first = records[0];
  if (first !== undefined && first.type !== "run-start") throw damaged(path, 1, `is a ${first.type} record; a journal starts with run-start`);
  if (first === undefined) throw new JournalError(`${path} holds only a torn line: the run was killed while starting`, "start a new run");
  return { path, records, lines, validBytes: start, tornBytes: bytes.length - start };
}

function parseLine(line: string, n: number, path: string): JournalRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw damaged(path, n, "is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw damaged(path, n, "is not a JSON object");
  const r = value as Record<string, unknown>;
  if (typeof r.seq !== "number" || typeof r.prev !== "string" || typeof r.time !== "string") throw damaged(path, n, "lacks seq, time or prev");
  if (typeof r.type !== "string" || !JOURNAL_RECORD_TYPES.has(r.type)) throw damaged(path, n, "has an unknown record type");
  return value as JournalRecord;
}

function damaged(path: string, n: number, what: string): JournalError {
  return new JournalError(`${path}: line ${n} ${what}`, "a journal is never edited by hand; keep this file for the post-incident review, check each host's state, and start a new run from a fresh plan");
}

/** One host as the journal leaves it. */
export interface ReplayedHost {
  /** How many times the host was started (host-start records). */
  attempts: number;
  /** The latest host-end's result; null when the host never ended (in flight at the crash, or never reached). */
  result: HostResult | null;
  /** Steps with an outcome, by step name (the latest outcome wins), in the order first recorded. */
  completed: Map<string, StepResult>;
  /** Steps with an intent and no outcome after it: the crash came while they ran. */
  pending: Map<string, StepIntent>;
}

/** A run's state replayed from its journal. */
export interface ReplayState {
  runId: string;
  planId: string;
  planDigest: string;
  startedAt: string;
  /** Records read (the last seq). */
  records: number;
  /** Bytes of a torn final line left out (0 when none). */
  tornBytes: number;
  /** How many times the run was resumed before (run-resume records). */
  resumes: number;
  hosts: Map<string, ReplayedHost>;
  /** Hosts with a final outcome: not run again on resume. */
  finished: Set<string>;
  /** Finished hosts whose outcome counts against the budget. */
  failures: number;
  /** Waves whose gate passed (their pause is not repeated). */
  gatesPassed: Set<number>;
  /** The latest run-end, when the run ever ended. */
  ended: { time: string; status: RunStatus; exitCode: number } | null;
}

/**
 * Outcomes a resume keeps: the host ran to an end. `interrupted` and `not-started:*`
 * hosts are run (again) by a resume.
 */
export const FINAL_OUTCOMES: ReadonlySet<HostOutcome> = new Set<HostOutcome>(["changed", "unchanged", "failed", "unreachable", "skipped:stale", "cancelled:precheck"]);

/** Replays checked records into the run's state (pure). */
export function replayJournal(read: Pick<JournalRead, "records" | "tornBytes">): ReplayState {
  const start = read.records[0];
  if (start === undefined || start.type !== "run-start") throw new JournalError("a journal starts with run-start");
  const state: ReplayState = {
    runId: start.runId,
    planId: start.planId,
    planDigest: start.planDigest,
    startedAt: start.time,
    records: read.records.length,
    tornBytes: read.tornBytes,
    resumes: 0,
    hosts: new Map(),
    finished: new Set(),
    failures: 0,
    gatesPassed: new Set(),
    ended: null,
  };
  const host = (name: string): ReplayedHost => {
    let h = state.hosts.get(name);
    if (h === undefined) state.hosts.set(name, (h = { attempts: 0, result: null, completed: new Map(), pending: new Map() }));
    return h;
  };
  for (const r of read.records) {
    switch (r.type) {
      case "run-resume":
        state.resumes += 1;
        break;
      case "host-start":
        host(r.host).attempts += 1;
        break;
      case "step-intent":
        host(r.host).pending.set(r.step, { step: r.step, kind: r.kind, startedAt: r.time, ...(r.evidence === undefined ? {} : { evidence: r.evidence }) });
        break;
      case "step-outcome": {
        const h = host(r.host);
        // An `unknown` verdict completes nothing: the step stays pending, judged again by
        // the next resume and run only with --retry-unknown.
        if (r.result.outcome === "unknown") break;
        h.pending.delete(r.result.step);
        h.completed.set(r.result.step, r.result);
        break;
      }
      case "host-end":
        host(r.host).result = r.result;
        break;
      case "gate":
        if (r.ok) state.gatesPassed.add(r.wave);
        break;
      case "run-end":
        state.ended = { time: r.time, status: r.status, exitCode: r.exitCode };
        break;
      default:
        break;
    }
  }
  for (const [name, h] of state.hosts) {
    if (h.result !== null && FINAL_OUTCOMES.has(h.result.outcome)) {
      state.finished.add(name);
      if (BUDGET_OUTCOMES.has(h.result.outcome)) state.failures += 1;
    }
  }
  return state;
}
