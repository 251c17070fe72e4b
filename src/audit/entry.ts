/**
 * The entries of runs/audit.jsonl, the run history's hash chain. One entry per apply and
 * per resume, appended when the run's files are written. Each line is the RFC 8785
 * canonical JSON (the `canonicalize` library) of one entry; `hash` is the sha256 (hex) of
 * the canonical JSON of the entry without `hash`, and `prev` is the previous entry's
 * `hash` ("" for the first), so removing, reordering or editing any entry breaks the
 * chain at a line `steward audit verify` names.
 */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { HOST_OUTCOMES, type HostOutcome, type RunStatus } from "../apply/types.ts";

/** The entry format; a reader refuses others. */
export const AUDIT_FORMAT = 1;

/** The audit log's path relative to the repository root. */
export const AUDIT_LOG = "runs/audit.jsonl";

/** The digest of one file of a run folder when the entry was written. */
export interface FileDigest {
  /** sha256 hex of the file's bytes. */
  sha256: string;
  bytes: number;
}

/** Who approved the plan, when known (from the GitHub Actions event of the apply). */
export interface Approval {
  /** The commit that approved the plan: the merge commit of the plan's pull request. */
  commit: string;
  /** The pull request merged, when the event names one. */
  pullRequest?: number;
  /** The GitHub login that merged it, when the event names one. */
  mergedBy?: string;
}

/** What one apply or resume did, as the audit log records it. */
export interface AuditBody {
  format: typeof AUDIT_FORMAT;
  /**
   * "apply": the run's first process; "resume": a later `--resume` of it; "run": `steward
   * run`, planned and applied at once with no approval (checks, unattended runbooks);
   * "merge": one wave of a sharded run merged (`steward results merge`): the run's
   * files, whose journal names each shard's files by digest.
   */
  type: "apply" | "resume" | "run" | "merge";
  runId: string;
  plan: { id: string; digest: string; file: string };
  approval: Approval | null;
  /** Who ran it: GITHUB_ACTOR in Actions, else the local user name and machine. */
  actor: string;
  /** ISO 8601 UTC: the run's first start, and when this process wrote its files. */
  startedAt: string;
  finishedAt: string;
  status: RunStatus;
  exitCode: number;
  /** Host count per outcome, and the sha256 of the canonical JSON of `[[host, outcome], …]` in host order. */
  outcomes: Partial<Record<HostOutcome, number>>;
  hostsDigest: string;
  /** The run folder's files as this process left them, by file name (journal.jsonl, results.json, report.md). */
  files: Record<string, FileDigest>;
}

/** One line of the log. */
export interface AuditEntry extends AuditBody {
  /** 1, 2, 3, … with no gap. */
  seq: number;
  /** The previous entry's `hash`; "" for the first. */
  prev: string;
  /** Set when this append cut a torn final line (a process killed mid-append) off the log: its length in bytes. */
  tornBytes?: number;
  hash: string;
}

/** sha256 hex of the canonical JSON of `value`. */
export function canonicalHash(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("cannot canonicalize an undefined value");
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The hash of an entry: over every member but `hash`. */
export function entryHash(entry: Omit<AuditEntry, "hash"> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = entry;
  return canonicalHash(rest);
}

/** The exact line written for an entry, without "\n". */
export function entryLine(entry: AuditEntry): string {
  const text = canonicalize(entry);
  if (text === undefined) throw new TypeError("cannot canonicalize an audit entry");
  return text;
}

/** The digest of a run's per-host outcomes, as `hostsDigest` records it. */
export function hostsDigest(hosts: ReadonlyArray<{ host: string; outcome: string }>): string {
  return canonicalHash(hosts.map((h) => [h.host, h.outcome]));
}

const HEX64 = /^[0-9a-f]{64}$/;
const ENTRY_KEYS: ReadonlySet<string> = new Set(["format", "seq", "prev", "tornBytes", "hash", "type", "runId", "plan", "approval", "actor", "startedAt", "finishedAt", "status", "exitCode", "outcomes", "hostsDigest", "files"]);
const STATUSES: ReadonlySet<string> = new Set<RunStatus>(["ok", "hosts-failed", "halted:budget", "halted:gate", "halted:signal"]);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
/** A run id (and a plan id) as steward makes them: a file name, never starting with '.' or '-'. */
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/**
 * Checks that a parsed line has the shape of an entry; returns what is wrong, or null.
 * Used by the reader, so a hand-written line that merely chains is still refused.
 */
export function entryProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "is not a JSON object";
  const e = value as Record<string, unknown>;
  if (e.format !== AUDIT_FORMAT) return e.format === undefined ? "has no format" : `has format ${JSON.stringify(e.format)}, expected ${AUDIT_FORMAT}`;
  const unknown = Object.keys(e).filter((k) => !ENTRY_KEYS.has(k));
  if (unknown.length > 0) return `has members no entry has (${unknown.slice(0, 3).map((k) => JSON.stringify(k)).join(", ")})`;
  if (typeof e.status !== "string" || !STATUSES.has(e.status)) return "has no run status steward writes";
  if (!Number.isSafeInteger(e.exitCode) || (e.exitCode as number) < 0 || (e.exitCode as number) > 255) return "has an exit code that is not 0–255";
  if (typeof e.actor !== "string" || !/^[\x21-\x7e]{1,300}$/.test(e.actor)) return "has an actor that is not one printable word";
  const outcomes = e.outcomes as Record<string, unknown> | null;
  if (typeof outcomes !== "object" || outcomes === null || Object.entries(outcomes).some(([k, n]) => !(HOST_OUTCOMES as readonly string[]).includes(k) || !Number.isSafeInteger(n) || (n as number) < 1)) return "has outcomes that are not host outcomes with counts";
  if (e.tornBytes !== undefined && (!Number.isSafeInteger(e.tornBytes) || (e.tornBytes as number) < 1)) return "has a tornBytes that is not a byte count";
  const approval = e.approval as Record<string, unknown> | null | undefined;
  if (approval !== null && (typeof approval !== "object" || typeof approval.commit !== "string" || !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(approval.commit) || (approval.pullRequest !== undefined && !Number.isSafeInteger(approval.pullRequest)) || (approval.mergedBy !== undefined && (typeof approval.mergedBy !== "string" || !/^[A-Za-z0-9-]{1,39}(\[bot\])?$/.test(approval.mergedBy))))) return "has an approval that is not a commit (with pull request and login)";
  if (!Number.isSafeInteger(e.seq)) return "has no whole-number seq";
  if (typeof e.prev !== "string" || (e.prev !== "" && !HEX64.test(e.prev))) return "has a prev that is not a sha256";
  if (typeof e.hash !== "string" || !HEX64.test(e.hash)) return "has a hash that is not a sha256";
  if (e.type !== "apply" && e.type !== "resume" && e.type !== "run" && e.type !== "merge") return `has type ${JSON.stringify(e.type)}`;
  if (typeof e.runId !== "string" || !RUN_ID.test(e.runId)) return "has a runId that is not a run id";
  const plan = e.plan as Record<string, unknown> | undefined;
  if (typeof plan !== "object" || plan === null || typeof plan.id !== "string" || !RUN_ID.test(plan.id) || typeof plan.digest !== "string" || !HEX64.test(plan.digest) || typeof plan.file !== "string" || /[\u0000-\u001f\u007f-\u009f]/.test(plan.file)) return "has no plan {id, digest, file}";
  for (const key of ["startedAt", "finishedAt"] as const) if (typeof e[key] !== "string" || !ISO.test(e[key] as string)) return `has a ${key} that is not an ISO 8601 UTC time`;
  if ((e.startedAt as string) > (e.finishedAt as string)) return "finishes before it starts";
  if (typeof e.files !== "object" || e.files === null) return "has no files";
  for (const [name, d] of Object.entries(e.files as Record<string, unknown>)) {
    const digest = d as Partial<FileDigest> | null;
    if (!/^[a-z.]+$/.test(name) || typeof digest !== "object" || digest === null || typeof digest.sha256 !== "string" || !HEX64.test(digest.sha256) || !Number.isSafeInteger(digest.bytes)) return `has a bad digest for file ${JSON.stringify(name)}`;
  }
  if (typeof e.hostsDigest !== "string" || !HEX64.test(e.hostsDigest)) return "has no hostsDigest";
  return null;
}
