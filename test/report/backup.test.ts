import { describe, expect, it } from "vitest";
import type { RunResults } from "../../src/apply/results.ts";
import type { HostResult, StepResult } from "../../src/apply/types.ts";
import { backupRows, renderBackupSection } from "../../src/report/backup.ts";

const ID = "a".repeat(64);
const OTHER = "b".repeat(64);
const step = (kind: StepResult["kind"], name: string, outcome: StepResult["outcome"], evidence: Record<string, unknown>, detail = ""): StepResult => ({ step: name, kind, outcome, startedAt: "", finishedAt: "", durationMs: 0, detail, evidence });
const host = (name: string, steps: StepResult[]): HostResult => ({ host: name, wave: 0, outcome: "changed", detail: "", startedAt: null, finishedAt: null, steps });
const results = (hosts: HostResult[]): RunResults => ({ hosts } as unknown as RunResults);

describe("the report's backup section", () => {
  it("calls a backup verified only when a test restore of that snapshot matched its manifest", () => {
    const rows = backupRows(
      results([
        host("h1", [step("backup", "data", "changed", { tool: "restic", snapshotId: ID }), step("verify-backup", "verify", "unchanged", { snapshotId: ID, check: { ok: true }, testRestore: { ok: true, filesCompared: 4 } })]),
        host("h2", [step("backup", "data", "changed", { tool: "restic", snapshotId: ID }), step("verify-backup", "verify", "unchanged", { snapshotId: ID, check: { ok: true } })]),
        host("h3", [step("backup", "data", "changed", { tool: "restic", snapshotId: ID }), step("verify-backup", "verify", "unchanged", { snapshotId: OTHER, testRestore: { ok: true, filesCompared: 1 } })]),
        host("h4", [step("backup", "data", "changed", { tool: "restic", snapshotId: ID }), step("verify-backup", "verify", "failed", { snapshotId: ID }, "restic check: the repository has errors: Pack ID does not match")]),
        host("h5", [step("backup", "etc", "changed", { tool: "tar", archive: "/var/backups/etc.tar.gz" })]),
        host("h6", [step("backup", "data", "failed", {})]),
        host("h7", [step("backup", "etc", "changed", { tool: "tar", archive: "/b/etc.tar" }), step("verify-backup", "verify tar", "unchanged", { archive: "/b/etc.tar", testRestore: { ok: true, filesCompared: 2 } })]),
      ]),
    );
    expect(rows.map((r) => `${r.host} ${r.verification}: ${r.why}`)).toEqual([
      "h1 verified: 4 files test-restored and equal to the manifest (verify)",
      "h2 unverified: restic check passed, but nothing was test-restored",
      "h3 unverified: no verify-backup step test-restored this snapshot in this run",
      "h4 verification-failed: verify: restic check: the repository has errors: Pack ID does not match",
      "h5 unverified: no verify-backup step test-restored this archive in this run",
      "h7 verified: 2 files test-restored and equal to the manifest (verify tar)",
    ]);
  });

  it("renders escaped Markdown, and nothing for a run without backups", () => {
    const text = renderBackupSection(results([host("h|1", [step("backup", "da_ta", "changed", { tool: "restic", snapshotId: ID })])]));
    expect(text).toContain("1 backup(s), 0 verified by a test restore, 1 not (a backup nobody test-restored is not known to restore).");
    expect(text).toContain(`| h\\|1 | da\\_ta | restic | ${ID} | unverified |`);
    expect(renderBackupSection(results([host("h", [step("command", "x", "changed", {})])]))).toBe("");
  });
});
