/**
 * The report's backup section: every backup a run made, per host, with its snapshot,
 * what it added, and whether anybody test-restored it. A backup nobody test-restored is
 * not known to restore: it is reported `unverified` (the backup practice of restore
 * drills), even when `restic check` passed. Verified means a verify-backup step of the
 * same host, in the same run, test-restored that very snapshot and found every file
 * equal to the manifest recorded at backup time. Restores the run made are listed too.
 * Every value is escaped for Markdown (src/core/text.ts): it comes from hosts.
 */
import type { RunResults } from "../apply/results.ts";
import type { HostResult, StepResult } from "../apply/types.ts";
import { markdownText } from "../core/text.ts";

/** How a backup stands after the run. */
export type BackupVerification = "verified" | "unverified" | "verification-failed";

/** One backup of one host, as the report shows it. */
export interface BackupRow {
  host: string;
  step: string;
  tool: string;
  /** Full restic snapshot id, or the tar archive's path. */
  snapshot: string;
  verification: BackupVerification;
  /** Why, in a few words (files test-restored, or what is missing). */
  why: string;
}

const evidenceOf = (s: StepResult): Record<string, unknown> => s.evidence ?? {};
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** Judges one backup step of a host against the host's verify-backup steps of the run. */
function judge(host: HostResult, backup: StepResult): BackupRow {
  const ev = evidenceOf(backup);
  const tool = str(ev["tool"]) || "restic";
  const snapshot = tool === "tar" ? str(ev["archive"]) : str(ev["snapshotId"]);
  const row = { host: host.host, step: backup.step, tool, snapshot };
  const verifications = host.steps.filter((s) => s.kind === "verify-backup" && snapshot !== "" && (str(evidenceOf(s)["snapshotId"]) || str(evidenceOf(s)["archive"])) === snapshot);
  const restored = verifications.find((s) => s.outcome !== "failed" && (evidenceOf(s)["testRestore"] as { ok?: boolean } | undefined)?.ok === true);
  if (restored !== undefined) {
    const n = (evidenceOf(restored)["testRestore"] as { filesCompared?: number }).filesCompared ?? 0;
    return { ...row, verification: "verified", why: `${n} files test-restored and equal to the manifest (${restored.step})` };
  }
  const failed = verifications.find((s) => s.outcome === "failed");
  if (failed !== undefined) return { ...row, verification: "verification-failed", why: `${failed.step}: ${failed.detail}` };
  if (verifications.length > 0) return { ...row, verification: "unverified", why: `${tool === "tar" ? "the archive reads through" : "restic check passed"}, but nothing was test-restored` };
  return { ...row, verification: "unverified", why: `no verify-backup step test-restored this ${tool === "tar" ? "archive" : "snapshot"} in this run` };
}

/** Every backup the run made (steps that finished with a snapshot), judged. */
export function backupRows(results: RunResults): BackupRow[] {
  return results.hosts.flatMap((h) => h.steps.filter((s) => s.kind === "backup" && s.outcome === "changed").map((s) => judge(h, s)));
}

/**
 * The Markdown section, or "" when the run made no backup and no restore. Ends with a
 * line break; meant to follow the report's summary.
 */
export function renderBackupSection(results: RunResults): string {
  const rows = backupRows(results);
  const restores = results.hosts.flatMap((h) => h.steps.filter((s) => s.kind === "restore").map((s) => ({ host: h.host, step: s })));
  if (rows.length === 0 && restores.length === 0) return "";
  const out: string[] = ["\n## Backups\n"];
  if (rows.length > 0) {
    const unverified = rows.filter((r) => r.verification !== "verified").length;
    out.push(`\n${rows.length} backup(s), ${rows.length - unverified} verified by a test restore, ${unverified} not${unverified > 0 ? " (a backup nobody test-restored is not known to restore)" : ""}.\n`);
    out.push("\n| Host | Step | Tool | Snapshot | Verification | Why |\n|---|---|---|---|---|---|\n");
    for (const r of rows) out.push(`| ${[r.host, r.step, r.tool, r.snapshot, r.verification, r.why].map(markdownText).join(" | ")} |\n`);
  }
  if (restores.length > 0) {
    out.push("\n| Host | Restore | Outcome | Snapshot | Detail |\n|---|---|---|---|---|\n");
    for (const { host, step } of restores) out.push(`| ${[host, step.step, step.outcome, str(evidenceOf(step)["snapshotId"]), step.detail].map(markdownText).join(" | ")} |\n`);
  }
  return out.join("");
}
