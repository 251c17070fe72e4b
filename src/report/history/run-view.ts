/**
 * One run as reports read it ({@link RunView}), from either source: a run summary
 * (runs/<run-id>/summary.json, src/apply/summary.ts) decoded here, or a results.json
 * summarised in memory by the same pure function the writers use — so a report's
 * figures never depend on which of the two it read.
 *
 * A summary is untrusted input like any committed file: {@link decodeSummary} checks
 * the format, that it has no member the schema does not have, every member's type, every string index against the string table, host
 * names, outcomes and times, and that the run does not contradict itself (the same
 * checks results.json gets), and says what is wrong instead of throwing.
 */
import { runStatus } from "../../apply/results.ts";
import { SUMMARY_FORMAT, SUMMARY_KIND, type RunSummary } from "../../apply/summary.ts";
import { HOST_OUTCOMES, type HostOutcome, type RunStatus } from "../../apply/types.ts";
import { RUN_ID } from "../../audit/entry.ts";

/** A package a packages step observed; `at` is the step's end in ms. */
export interface ViewPackage { host: number; at: number; name: string; from: string | null; to: string | null }
/** A compliance rule's verdict. */
export interface ViewRule { host: number; id: string; severity: string; status: string; observedAt: string }
/** A backup or verify-backup step with its evidence ("" when the evidence has none). */
export interface ViewBackup { host: number; kind: "backup" | "verify-backup"; outcome: string; finishedAt: string; tool: string; snapshotId: string; archive: string; testRestore: { ok: boolean; filesCompared: number } | null }

/** One run, as status and trends read it. Hosts are parallel arrays in rollout order; the other lists name a host by its index. */
export interface RunView {
  runId: string;
  planId: string;
  runbook: string;
  startedAt: string;
  finishedAt: string;
  status: RunStatus;
  hosts: string[];
  outcomes: HostOutcome[];
  waves: number[];
  /** Each host's start and end (ISO 8601 UTC), null when it did not start. */
  hostTimes(i: number): { startedAt: string | null; finishedAt: string | null };
  packages: ViewPackage[];
  rules: ViewRule[];
  backups: ViewBackup[];
}

/** A plan id (`<runbook>-<yyyymmddThhmm>-<12 hex>`, src/plan/document.ts planId); group 1 is the runbook. */
export const PLAN_ID = /^(.+)-\d{8}T\d{4}-[0-9a-f]{12}$/;
/** An ISO 8601 UTC time as steward writes it (Date#toISOString, fractions optional). */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
/** The run statuses steward writes (RunStatus, src/apply/types.ts). */
export const RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>(["ok", "hosts-failed", "halted:budget", "halted:gate", "halted:signal"]);
const OUTCOMES: ReadonlySet<string> = new Set(HOST_OUTCOMES);
/** Largest time text kept verbatim (a hand-written observedAt, say). */
const MAX_TIME_TEXT = 256;
/** The instants Date can represent, ±8.64e15 ms. */
const MAX_MS = 8.64e15;

/**
 * The members schemas/run-summary.schema.json allows (`additionalProperties: false`),
 * at the top and in `results`, the two objects a summary holds; its other members are
 * lists of fixed-width rows, checked by width. A key-set check, not the compiled schema:
 * a member the schema forbids (`"zzz"`, `"__proto__"`) is refused as cheaply as the rest.
 */
export const SUMMARY_MEMBERS: readonly string[] = ["format", "kind", "runId", "planId", "startedAt", "finishedAt", "status", "results", "strings", "hosts", "packages", "rules", "backups"];
/** The members of a summary's `results` object. */
export const SUMMARY_RESULTS_MEMBERS: readonly string[] = ["sha256", "bytes"];
const TOP = new Set(SUMMARY_MEMBERS);
const RESULTS = new Set(SUMMARY_RESULTS_MEMBERS);

/** The first own key of `o` not in `allowed`, or undefined. */
function foreignKey(o: object, allowed: ReadonlySet<string>): string | undefined {
  for (const k of Object.keys(o)) if (!allowed.has(k)) return k;
  return undefined;
}

/** Why a summary is refused; the caller names the file. */
class Refused extends Error {}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/**
 * The run a parsed summary.json describes, or what is wrong with it. `runId` is the
 * run folder's name. Pure; never throws.
 */
export function decodeSummary(value: unknown, runId: string): { run: RunView; results: RunSummary["results"] } | { problem: string } {
  try {
    return decode(value, runId);
  } catch (error) {
    if (error instanceof Refused) return { problem: error.message };
    throw error;
  }
}

function decode(value: unknown, runId: string): { run: RunView; results: RunSummary["results"] } {
  const fail = (why: string): never => {
    throw new Refused(why);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("is not a JSON object");
  const s = value as Record<string, unknown>;
  const extra = foreignKey(s, TOP);
  if (extra !== undefined) fail(`has a member ${JSON.stringify(extra).slice(0, 60)} a run summary does not have`);
  if (s.kind !== SUMMARY_KIND) fail(`is not a run summary (kind ${JSON.stringify(s.kind)?.slice(0, 40)}, expected ${SUMMARY_KIND})`);
  if (s.format !== SUMMARY_FORMAT) fail(`has format ${JSON.stringify(s.format)?.slice(0, 20)}, expected ${SUMMARY_FORMAT} (written by another version of steward)`);
  if (s.runId !== runId) fail("names another run than its folder");
  if (typeof s.planId !== "string") fail("has no plan id");
  const runbook = PLAN_ID.exec(s.planId as string)?.[1] ?? fail("has no plan id steward makes");
  for (const k of ["startedAt", "finishedAt"]) if (typeof s[k] !== "string" || !ISO_UTC.test(s[k] as string) || Number.isNaN(Date.parse(s[k] as string))) fail(`has a ${k} that is not an ISO 8601 UTC time`);
  if (typeof s.status !== "string" || !RUN_STATUSES.has(s.status)) fail("has no run status steward writes");
  const res = s.results as Record<string, unknown> | null;
  if (typeof res !== "object" || res === null || typeof res.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(res.sha256) || !isInt(res.bytes) || res.bytes < 0) fail("has no results {sha256, bytes}");
  const extraInResults = foreignKey(res!, RESULTS);
  if (extraInResults !== undefined) fail(`has a member ${JSON.stringify(extraInResults).slice(0, 60)} in results that a run summary does not have`);
  const strings = s.strings;
  if (!Array.isArray(strings) || !strings.every((x) => typeof x === "string")) fail("has no string table");
  const table = strings as string[];
  const base = Date.parse(s.startedAt as string);
  const text = (i: unknown, what: string): string => (isInt(i) && i >= 0 && i < table.length ? table[i]! : fail(`has ${what} that is no index of its string table`));
  /** Checks a time; an offset is returned as ms, a text as itself (converted only where a report shows it). */
  const checked = (v: unknown, what: string): number | string => {
    if (isInt(v)) return Math.abs(base + v) <= MAX_MS ? base + v : fail(`has ${what} out of range`);
    return typeof v === "string" && v.length > 0 && v.length <= MAX_TIME_TEXT ? v : fail(`has ${what} that is no time`);
  };
  const time = (v: unknown, what: string): string => {
    const t = checked(v, what);
    return typeof t === "number" ? new Date(t).toISOString() : t;
  };
  const rows = (k: string, width: number): unknown[][] => {
    const list = s[k];
    if (!Array.isArray(list)) fail(`has no ${k} list`);
    for (const row of list as unknown[]) if (!Array.isArray(row) || row.length !== width) fail(`has a ${k} entry that is not a list of ${width}`);
    return list as unknown[][];
  };

  const hostRows = rows("hosts", 5);
  const hosts: string[] = new Array(hostRows.length);
  const outcomes: HostOutcome[] = new Array(hostRows.length);
  const waves: number[] = new Array(hostRows.length);
  const seen = new Set<string>();
  hostRows.forEach((r, i) => {
    const name = r[0];
    if (typeof name !== "string" || !RUN_ID.test(name)) fail("has a host that is no host name");
    if (seen.has(name as string)) fail(`lists host ${name as string} twice`);
    seen.add(name as string);
    const outcome = text(r[1], `host ${name as string}'s outcome`);
    if (!OUTCOMES.has(outcome)) fail(`has host ${name as string} with an outcome steward does not write`);
    if (!isInt(r[2]) || r[2] < 0) fail(`has host ${name as string} with no wave`);
    if (r[3] !== null) checked(r[3], `host ${name as string}'s start`);
    if (r[4] !== null) checked(r[4], `host ${name as string}'s end`);
    hosts[i] = name as string;
    outcomes[i] = outcome as HostOutcome;
    waves[i] = r[2] as number;
  });
  const host = (i: unknown, what: string): number => (isInt(i) && i >= 0 && i < hosts.length ? i : fail(`has ${what} of no listed host`));
  const orNull = (i: unknown, what: string): string | null => (i === null ? null : text(i, what));

  const packages = rows("packages", 5).map((r) => {
    const t = checked(r[1], "a packages step's end");
    const at = typeof t === "number" ? t : Date.parse(t);
    if (Number.isNaN(at)) fail("has a packages step's end that is no time");
    return { host: host(r[0], "a package"), at, name: text(r[2], "a package name"), from: orNull(r[3], "a package version"), to: orNull(r[4], "a package version") };
  });
  const rules = rows("rules", 5).map((r) => ({ host: host(r[0], "a rule"), id: text(r[1], "a rule id"), severity: text(r[2], "a rule severity"), status: text(r[3], "a rule status"), observedAt: time(r[4], "a rule's observedAt") }));
  const backups = rows("backups", 8).map((r) => {
    const kind = text(r[1], "a backup step kind");
    if (kind !== "backup" && kind !== "verify-backup") fail("has a backup step of another kind");
    const tr = r[7];
    if (tr !== null && (!Array.isArray(tr) || tr.length !== 2 || (tr[0] !== 0 && tr[0] !== 1) || typeof tr[1] !== "number" || !Number.isFinite(tr[1]))) fail("has a test restore that is not [ok, files compared]");
    const finishedAt = time(r[3], "a backup step's end");
    return { host: host(r[0], "a backup step"), kind: kind as ViewBackup["kind"], outcome: text(r[2], "a backup step outcome"), finishedAt, tool: text(r[4], "a backup tool"), snapshotId: text(r[5], "a snapshot id"), archive: text(r[6], "an archive"), testRestore: tr === null ? null : { ok: (tr as number[])[0] === 1, filesCompared: (tr as number[])[1]! } };
  });
  const status = s.status as RunStatus;
  if (!status.startsWith("halted:") && runStatus(outcomes.map((outcome) => ({ outcome })), null) !== status) fail(`has status ${status} but its hosts' outcomes give ${runStatus(outcomes.map((outcome) => ({ outcome })), null)}`);
  if (Date.parse(s.finishedAt as string) < base) fail("has a finishedAt before its startedAt");
  const run: RunView = {
    runId,
    planId: s.planId as string,
    runbook,
    startedAt: s.startedAt as string,
    finishedAt: s.finishedAt as string,
    status,
    hosts,
    outcomes,
    waves,
    hostTimes: (i) => ({ startedAt: hostRows[i]![3] === null ? null : time(hostRows[i]![3], "a host's start"), finishedAt: hostRows[i]![4] === null ? null : time(hostRows[i]![4], "a host's end") }),
    packages,
    rules,
    backups,
  };
  return { run, results: { sha256: res!.sha256 as string, bytes: res!.bytes as number } };
}
