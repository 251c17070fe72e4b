import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareManifests, manifestText, parseManifestOutput, parseManifestText } from "../../src/steps/backup/manifest.ts";
import { backupArgs, checkArgs, classifyFailure, failureDetail, forgetArgs, parseBackupSummary, parseForgetRemoved, parseSnapshots, resticCommand, restoreArgs } from "../../src/steps/backup/restic.ts";
import { parseArchiveLine } from "../../src/steps/backup/tar.ts";
import { stepsNeedingPlan, unsupportedSteps } from "../../src/steps/executors.ts";

/** restic's output judged as restic 0.14 really prints it (fixtures captured from it; see their README). */
const fixture = (name: string): string => readFileSync(join(import.meta.dirname, "../fixtures/steps/restic-0.14", name), "utf8");

describe("restic commands", () => {
  it("keep the password off the command line and quote every value", () => {
    const command = resticCommand("sftp:backup:/srv/restic/'a b'", backupArgs(["/srv/data", "/etc/my app"], ["nightly", "db"]));
    expect(command).toBe("RESTIC_PASSWORD_FILE=/dev/stdin restic --repo=sftp:backup:/srv/restic/'a b' backup --json --tag nightly --tag db -- /srv/data '/etc/my app'");
    expect(forgetArgs({ keep_daily: 7, keep_last: 2, keep_monthly: 6 })).toEqual(["forget", "--json", "--prune", "--keep-last", "2", "--keep-daily", "7", "--keep-monthly", "6"]);
    expect(checkArgs("5%")).toEqual(["check", "--read-data-subset=5%"]);
    expect(checkArgs(undefined)).toEqual(["check"]);
    expect(restoreArgs("ab".repeat(32), "/", ["/srv/data/x"])).toEqual(["restore", "ab".repeat(32), "--target", "/", "--include", "/srv/data/x"]);
  });
});

describe("restic output", () => {
  it("reads the backup summary, checking every value", () => {
    expect(parseBackupSummary(fixture("backup.stdout"))).toEqual({ snapshotId: "21c0f02d", filesNew: 0, filesChanged: 0, filesUnmodified: 3, bytesAdded: 0, bytesProcessed: 30000008, totalFiles: 3, durationSeconds: 0.27053822 });
    const forged = fixture("backup.stdout").replace('"snapshot_id":"21c0f02d"', '"snapshot_id":"$(reboot)"');
    expect(() => parseBackupSummary(forged)).toThrow(/no valid snapshot_id/);
    expect(() => parseBackupSummary(fixture("backup.stdout").replace('"data_added":0', '"data_added":-5'))).toThrow(/no valid data_added/);
    expect(() => parseBackupSummary('{"message_type":"status"}\n')).toThrow(/no backup summary/);
  });

  it("reads snapshots and what forget --prune removed", () => {
    const snaps = parseSnapshots(fixture("snapshots.stdout"));
    expect(snaps.length).toBeGreaterThan(0);
    expect(snaps[0]!.id).toMatch(/^[0-9a-f]{64}$/);
    expect(parseForgetRemoved(fixture("forget-prune.stdout"))).toEqual({ kept: 1, removed: 2 });
    expect(() => parseSnapshots('[{"id":"zz","time":"2026-01-01T00:00:00Z","paths":["/x"],"hostname":"h"}]')).toThrow(/no valid id/);
  });

  it("names each failure's case", () => {
    expect(classifyFailure(1, fixture("wrong-password.stderr"))).toEqual({ case: "wrong-password" });
    expect(classifyFailure(1, fixture("no-repository.stderr"))).toEqual({ case: "no-repository" });
    const locked = classifyFailure(1, fixture("locked.stderr"));
    expect(locked).toEqual({ case: "locked", holder: { pid: 29002, host: "vm", user: "root", exclusive: true, created: "2026-12-07 10:32:22 (1.859511088s ago)", storageId: "ae67d1e1" } });
    expect(failureDetail("restic backup", locked, true)).toBe(
      "restic backup: the repository is locked by PID 29002 on vm as root (exclusive), created 2026-12-07 10:32:22 (1.859511088s ago), lock ae67d1e1; a stale lock: its process is gone; nothing was removed — once you are sure no restic runs on the repository, remove it with `restic unlock`",
    );
    expect(classifyFailure(1, fixture("check-corrupt.stderr"))).toMatchObject({ case: "check-failed", line: expect.stringMatching(/^Pack ID does not match/) });
    // restic 0.17's exit codes name the case too.
    expect(classifyFailure(12, "")).toEqual({ case: "wrong-password" });
    expect(classifyFailure(10, "")).toEqual({ case: "no-repository" });
    expect(classifyFailure(11, "")).toEqual({ case: "locked", holder: null });
    expect(classifyFailure(3, "error: open /srv/x: permission denied\n")).toEqual({ case: "incomplete", line: "error: open /srv/x: permission denied" });
  });
});

describe("manifests", () => {
  const hash = (c: string): string => c.repeat(64);
  it("parses find and sha256sum -z output with any file name, and round-trips", () => {
    const out = `3 /srv/a\0` + `5 /srv/new\nline\0` + `=\0` + `${hash("b")}  /srv/new\nline\0` + `${hash("a")}  /srv/a\0`;
    const entries = parseManifestOutput(out);
    expect(entries).toEqual([
      { path: "/srv/a", size: 3, sha256: hash("a") },
      { path: "/srv/new\nline", size: 5, sha256: hash("b") },
    ]);
    expect(parseManifestText(manifestText(entries))).toEqual(entries);
    expect(() => parseManifestOutput(`3 /a\0=\0${hash("a")}  /b\0`)).toThrow(/has a checksum but no size/);
    expect(() => parseManifestText('{"path":"/a","size":-1,"sha256":"x"}\n')).toThrow(/line 1/);
  });

  it("compares a restore with the manifest under the restored roots", () => {
    const want = [
      { path: "/srv/a", size: 3, sha256: hash("a") },
      { path: "/srv/b", size: 4, sha256: hash("b") },
      { path: "/srv/c", size: 1, sha256: hash("c") },
      { path: "/srvx/d", size: 1, sha256: hash("d") },
    ];
    const got = [
      { path: "/srv/a", size: 3, sha256: hash("a") },
      { path: "/srv/b", size: 4, sha256: hash("e") },
      { path: "/srv/z", size: 1, sha256: hash("f") },
    ];
    expect(compareManifests(want, got, ["/srv"], "checksums")).toEqual({
      compared: 3,
      mismatches: [
        { path: "/srv/b", problem: "checksum", expected: hash("b"), found: hash("e") },
        { path: "/srv/c", problem: "missing" },
        { path: "/srv/z", problem: "unexpected" },
      ],
    });
    expect(compareManifests(want, got.slice(0, 2), ["/srv/a", "/srv/b"], "sizes")).toEqual({ compared: 2, mismatches: [] });
  });

  it("reads tar's archive line and refuses a path with a line break", () => {
    expect(parseArchiveLine(`${hash("a")} 123 /var/backups/x.tar.gz\n`)).toEqual({ sha256: hash("a"), size: 123, path: "/var/backups/x.tar.gz" });
    expect(() => parseArchiveLine(`${hash("a")} 123 /var/x\u001b[2J\n`)).toThrow(/unreadable/);
  });
});

describe("which kinds apply and run take", () => {
  it("backup, verify-backup and restore apply; restore needs a reviewed plan, so steward run refuses it", () => {
    const steps = [
      { name: "b", kind: "backup" as const },
      { name: "v", kind: "verify-backup" as const },
      { name: "r", kind: "restore" as const },
    ];
    expect(unsupportedSteps(steps)).toEqual([]);
    expect(stepsNeedingPlan(steps)).toEqual(["step 'r' (restore) is destructive: it needs a reviewed plan"]);
  });
});
