/**
 * The audit entry of one apply or resume, built from what the run left in its folder
 * and appended to runs/audit.jsonl. Called by apply once results.json and report.md
 * are written, so the entry's digests are of the files as the run left them.
 */
import { createHash } from "node:crypto";
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunResults } from "../apply/results.ts";
import { AUDIT_FORMAT, hostsDigest, type Approval, type AuditEntry, type FileDigest } from "./entry.ts";
import { appendAuditEntry, AuditLogError } from "./log.ts";

/** The files of a run folder the audit log holds digests of, in the order they are listed. */
export const RUN_FILES = ["journal.jsonl", "results.json", "report.md"] as const;

/**
 * The bytes of a run's file, or null when it does not exist.
 * @throws AuditLogError when it is a link, a pipe, a folder or anything but a regular file
 *   (a pipe would block the read forever; a link could point anywhere).
 */
export async function readRunFile(path: string, shown: string): Promise<Buffer | null> {
  try {
    const info = await lstat(path);
    if (!info.isFile()) throw new AuditLogError(`${shown} is ${info.isSymbolicLink() ? "a symbolic link" : "not a regular file"}: a run's files are files steward writes`, "restore it from Git");
    return await readFile(path);
  } catch (error) {
    if (error instanceof AuditLogError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw error;
  }
}

/** sha256 (hex) and size of some bytes, as the audit log records a file. */
export function digestOf(bytes: Uint8Array): FileDigest {
  return { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length };
}

/** sha256 and size of a run's file; null when it does not exist. @throws as readRunFile. */
export async function fileDigest(path: string, shown = path): Promise<FileDigest | null> {
  const bytes = await readRunFile(path, shown);
  return bytes === null ? null : digestOf(bytes);
}

/** What apply knows when it records a run. */
export interface RunRecord {
  root: string;
  runDir: string;
  /** True when this process resumed the run (`--resume`). */
  resumed: boolean;
  /** True for `steward run` (planned and applied at once, with no approval). */
  unattended?: boolean;
  /** True for `steward results merge` (one wave of a sharded run). */
  merged?: boolean;
  planFile: string;
  approval: Approval | null;
  actor: string;
  results: RunResults;
}

/**
 * Appends the run's entry: plan, approval, actor, times, outcome, per-host outcome
 * digest and the digests of journal.jsonl, results.json and report.md.
 * @returns the entry written. @throws as appendAuditEntry.
 */
export async function recordRun(r: RunRecord): Promise<AuditEntry> {
  const files: Record<string, FileDigest> = {};
  for (const name of RUN_FILES) {
    const digest = await fileDigest(join(r.runDir, name));
    if (digest !== null) files[name] = digest;
  }
  const outcomes: AuditEntry["outcomes"] = {};
  for (const [outcome, n] of Object.entries(r.results.counts)) if (n > 0) outcomes[outcome as keyof typeof outcomes] = n;
  return appendAuditEntry(r.root, {
    format: AUDIT_FORMAT,
    type: r.merged ? "merge" : r.resumed ? "resume" : r.unattended ? "run" : "apply",
    runId: r.results.runId,
    plan: { id: r.results.plan.id, digest: r.results.plan.digest, file: r.planFile },
    approval: r.approval,
    actor: r.actor,
    startedAt: r.results.startedAt,
    finishedAt: r.results.finishedAt,
    status: r.results.status,
    exitCode: r.results.exitCode,
    outcomes,
    hostsDigest: hostsDigest(r.results.hosts),
    files,
  });
}
