import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";
import type { Inventory, Runbook } from "../../src/model/types.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { HostTarget, Session, Transport } from "../../src/transport/types.ts";
import { applyHost, planNow, RecordingJournal, repository } from "../apply/fleet-helpers.ts";

/**
 * restic backups from a sandbox host to the fleet's backup host over SFTP, verified by
 * a real test restore, brought back by a restore runbook; restic's failures (wrong
 * password, no repository, a locked repository, a corrupted pack) reported by case;
 * tar archives with their manifest. Real restic 0.14, real OpenSSH, no mocks.
 */

const SUBNET = 180;
const PROJECT = resolve(import.meta.dirname, "../..");
const PASSWORD = "correct-horse-battery-9f3e";
const REPO = "sftp:backup:/srv/restic/{{host.name}}";

const backupBook = (name: string, extra = "", repo = REPO): string => `name: ${name}
targets: sandbox-01
steps:
  - kind: backup
    name: data
    tool: restic
    repository: "${repo}"
    password: { env: RESTIC_PASSWORD }
    pre_command: date -u > /srv/data/dump.txt
    paths: [/srv/data]
    become: true
${extra}`;

const VERIFY = `  - kind: verify-backup
    name: verify
    backup: data
    read_data_subset: "100%"
    become: true
    test_restore:
      scratch: /var/tmp/restore-drill
      compare: checksums
`;

describe("backup, verify-backup and restore on the sandbox fleet", () => {
  let dir: string;
  let state: FleetState;
  let transport: Transport;
  let inventory: Inventory;
  let runbooks: Map<string, Runbook>;
  const book = (name: string): Runbook => runbooks.get(name)!;
  const sh = async (host: string, command: string): Promise<{ code: number; stdout: string; stderr: string }> => execInHost(state, host, ["sh", "-c", command]);
  const secret = (value: string) => ({ secret: (v: string) => (v === "RESTIC_PASSWORD" ? value : undefined) });
  const apply = async (name: string, password = PASSWORD) => {
    const { plan } = await planNow(transport, inventory, book(name));
    const journal = new RecordingJournal();
    const result = await applyHost(transport, inventory, book(name), plan, "sandbox-01", journal, secret(password));
    return { result, journal };
  };

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-backup-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [PROJECT], backupHost: true });
    transport = createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 0, connectTimeoutMs: 5_000 });
    await sh("sandbox-01", "set -e; mkdir -p /srv/data/sub; echo precious > /srv/data/important.txt; printf 'a b\\n' > '/srv/data/sub/with space.txt'; head -c 300000 /dev/urandom > /srv/data/blob.bin");
    ({ inventory, runbooks } = await repository(state, {
      nightly: backupBook("nightly", `    init: true\n    retention: { keep_last: 2 }\n    tags: [nightly]\n${VERIFY}`),
      "no-init": backupBook("no-init", "", "sftp:backup:/srv/restic/nothere"),
      verify: backupBook("verify", VERIFY),
      recovery: `name: recovery
targets: sandbox-01
steps:
  - kind: restore
    name: bring back important.txt
    tool: restic
    repository: "${REPO}"
    password: { env: RESTIC_PASSWORD }
    snapshot: verified
    paths: [/srv/data/important.txt]
    target: /
    become: true
`,
      tar: `name: tar
targets: sandbox-01
steps:
  - kind: backup
    name: etc
    tool: tar
    repository: "/var/backups/{{host.name}}/data.tar.gz"
    paths: [/srv/data]
    become: true
  - kind: verify-backup
    name: verify tar
    backup: etc
    become: true
    test_restore:
      scratch: /var/tmp/tar-drill
      paths: [/srv/data/sub]
`,
    }));
  }, 180_000);

  afterAll(async () => {
    await transport?.close();
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("backs up over sftp to the backup host, then verifies by a real test restore; the password is in no process, output or file", async () => {
    // Every process's command line and environment on both hosts, sampled while the backup runs.
    const sample = (host: string) => sh(host, "for i in $(seq 150); do cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr '\\0' ' '; echo; sleep 0.03; done");
    const [applied, seenClient, seenServer] = await Promise.all([apply("nightly"), sample("sandbox-01"), sample("sandbox-02")]);
    const { result, journal } = applied;
    expect(result.outcome, result.detail).toBe("changed");
    const [backup, verify] = result.steps;
    expect(backup).toMatchObject({ kind: "backup", outcome: "changed", evidence: { tool: "restic", initialized: true, filesNew: 4, filesChanged: 0, manifestFiles: 4 } });
    const ev = backup!.evidence as Record<string, number | string>;
    expect(ev["snapshotId"]).toMatch(/^[0-9a-f]{64}$/);
    expect(ev["bytesProcessed"]).toBeGreaterThan(300_000);
    expect(ev["bytesAdded"]).toBeGreaterThan(0);
    expect(ev["retention"]).toEqual({ kept: 1, removed: 0 });
    expect(verify).toMatchObject({ kind: "verify-backup", outcome: "unchanged", evidence: { snapshotId: ev["snapshotId"], check: { ok: true, readDataSubset: "100%" }, testRestore: { ok: true, filesCompared: 4, mismatchCount: 0, compare: "checksums" } } });
    // The snapshot is really on the backup host, and the scratch folder was emptied.
    expect((await sh("sandbox-02", `ls /srv/restic/sandbox-01/snapshots`)).stdout.trim().length).toBeGreaterThan(0);
    expect((await sh("sandbox-01", "ls -A /var/tmp/restore-drill")).stdout.trim()).toBe("");
    // The samplers saw restic and ssh run, and never the password.
    expect(seenClient.stdout).toMatch(/restic --repo=sftp:backup:\/srv\/restic\/sandbox-01 backup --json/);
    expect(seenClient.stdout).toContain("RESTIC_PASSWORD_FILE=/dev/stdin");
    expect(seenServer.stdout).toContain("sftp-server");
    expect(seenClient.stdout).not.toContain(PASSWORD);
    expect(seenServer.stdout).not.toContain(PASSWORD);
    expect(JSON.stringify(journal.records)).not.toContain(PASSWORD);
    for (const host of ["sandbox-01", "sandbox-02"]) {
      const found = await sh(host, `grep -rlF -e '${PASSWORD}' /root /home /tmp /var /srv /etc /run 2>/dev/null; true`);
      expect(found.stdout, host).toBe("");
    }
    // A second run: nothing new but the dump, and retention keeps two.
    const again = await apply("nightly");
    expect(again.result.steps[0]).toMatchObject({ outcome: "changed", evidence: { filesNew: 0, filesChanged: 1, retention: { kept: 2, removed: 0 } } });
  }, 240_000);

  it("a restore runbook brings back a deleted file from the last verified snapshot", async () => {
    await sh("sandbox-01", "rm /srv/data/important.txt");
    const { result } = await apply("recovery");
    expect(result.outcome, result.detail).toBe("changed");
    expect(result.steps[0]).toMatchObject({ kind: "restore", outcome: "changed", evidence: { chosenBy: "verified", target: "/", filesRestored: 1, manifest: { filesCompared: 1, mismatchCount: 0 } } });
    expect((await sh("sandbox-01", "cat /srv/data/important.txt")).stdout).toBe("precious\n");
  }, 120_000);

  it("through steward plan and apply: results, report, journal and output never hold the password; the report calls the backup verified", async () => {
    const env = { PATH: process.env["PATH"] ?? "", RESTIC_PASSWORD: PASSWORD };
    const steward = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      let stdout = "";
      let stderr = "";
      const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd: state.dir };
      return { code: await main(args, io), stdout, stderr };
    };
    const planned = await steward("plan", "nightly", "--gather");
    expect(planned.code, planned.stderr).toBe(0);
    const file = /^wrote (\S+\.json)$/m.exec(planned.stdout)![1]!;
    const applied = await steward("apply", file);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    const runDir = join(state.dir, dirname(/^wrote (\S+results\.json)$/m.exec(applied.stdout)![1]!));
    const files = await Promise.all(["results.json", "report.md", "journal.jsonl"].map((f) => readFile(join(runDir, f), "utf8")));
    for (const text of [...files, planned.stdout, planned.stderr, applied.stdout, applied.stderr, await readFile(join(state.dir, file), "utf8")]) expect(text).not.toContain(PASSWORD);
    const report = files[1]!;
    expect(report).toContain("## Backups");
    expect(report).toMatch(/\| sandbox-01 \| data \| restic \| [0-9a-f]{64} \| verified \| 4 files test-restored and equal to the manifest \(verify\) \|/);
    // Without the variable, apply refuses before touching any host.
    const unset = await (async () => {
      let stderr = "";
      const io: CliIO = { stdout: () => undefined, stderr: (t) => void (stderr += t), env: { PATH: env.PATH }, cwd: state.dir };
      return { code: await main(["apply", file], io), stderr };
    })();
    expect(unset.code).toBe(6);
    expect(unset.stderr).toContain("step 'data' reads its password from { env: RESTIC_PASSWORD }, but RESTIC_PASSWORD is not set in the environment; nothing was applied");
  }, 240_000);

  it("a wrong password and a missing repository fail the step naming the case", async () => {
    const wrong = await apply("verify", "not-the-password-42");
    expect(wrong.result.outcome).toBe("failed");
    expect(wrong.result.steps[0]!.detail).toMatch(/^restic backup: wrong password: /);
    expect(JSON.stringify(wrong.journal.records)).not.toContain("not-the-password-42");
    const missing = await apply("no-init");
    expect(missing.result.steps[0]!.detail).toMatch(/^restic backup: no repository at that location .*init: true/);
  }, 120_000);

  it("a locked repository names its holder; a stale lock is reported as stale and left in place", async () => {
    await sh("sandbox-01", `umask 077; printf '%s' '${PASSWORD}' > /root/pw`);
    // A backup reading a standard input that never ends holds a (non-exclusive) lock; check needs an exclusive one.
    const holder = await sh("sandbox-01", "setsid sh -c 'sleep 600 | restic --repo=sftp:backup:/srv/restic/sandbox-01 --password-file /root/pw backup --stdin --stdin-filename held >/dev/null 2>&1' </dev/null >/dev/null 2>&1 & sleep 0.5; for i in $(seq 100); do p=$(pgrep -x restic) && break; sleep 0.1; done; sleep 2; echo $p $(ps -o pgid= -p $p)");
    const [pid, group] = holder.stdout.trim().split(/\s+/).map(Number) as [number, number];
    expect(group).toBeGreaterThan(1);
    expect(pid).toBeGreaterThan(1);
    try {
      const locked = await apply("verify");
      const detail = locked.result.steps[1]!.detail;
      expect(detail).toMatch(new RegExp(`^restic check: the repository is locked by PID ${pid} on sandbox-01 as root, created .*; wait for that process to finish`));
      await sh("sandbox-01", `kill -9 ${pid}`);
      const stale = await apply("verify");
      expect(stale.result.steps[1]!.detail).toMatch(new RegExp(`^restic check: the repository is locked by PID ${pid} on sandbox-01 as root.*; a stale lock: its process is gone; nothing was removed`));
      // Never removed silently: the lock is still there.
      expect((await sh("sandbox-02", "ls /srv/restic/sandbox-01/locks | wc -l")).stdout.trim()).toBe("1");
    } finally {
      await sh("sandbox-01", `kill -9 -- -${group} 2>/dev/null; restic --repo=sftp:backup:/srv/restic/sandbox-01 --password-file /root/pw unlock; rm -f /root/pw`);
    }
  }, 180_000);

  it("tar writes the archive and its manifest atomically; verify-backup test-restores it and notices damage", async () => {
    const { result } = await apply("tar");
    expect(result.outcome, result.detail).toBe("changed");
    const ev = result.steps[0]!.evidence as Record<string, unknown>;
    expect(ev).toMatchObject({ tool: "tar", archive: "/var/backups/sandbox-01/data.tar.gz", manifestFiles: 4 });
    const listed = await sh("sandbox-01", "cd /var/backups/sandbox-01 && ls && sha256sum data.tar.gz && tar -tzf data.tar.gz | sort");
    expect(listed.stdout).toContain(`${ev["archiveSha256"]}  data.tar.gz`);
    expect(listed.stdout).toContain("data.tar.gz.manifest.jsonl");
    expect(listed.stdout).not.toContain(".steward-tmp.");
    expect(listed.stdout).toContain("srv/data/sub/with space.txt");
    const manifest = (await sh("sandbox-01", "cat /var/backups/sandbox-01/data.tar.gz.manifest.jsonl")).stdout;
    const hash = (await sh("sandbox-01", "sha256sum /srv/data/important.txt")).stdout.split(" ")[0];
    expect(manifest).toContain(JSON.stringify({ path: "/srv/data/important.txt", size: 9, sha256: hash }));
    expect(result.steps[1]).toMatchObject({ kind: "verify-backup", outcome: "unchanged", evidence: { archive: "/var/backups/sandbox-01/data.tar.gz", check: { ok: true }, testRestore: { ok: true, filesCompared: 1, mismatchCount: 0 } } });
    expect((await sh("sandbox-01", "ls -A /var/tmp/tar-drill")).stdout).toBe("");
    // An archive damaged between the backup and its verification fails the read-through.
    const damaging: Transport = {
      close: () => transport.close(),
      connect: async (target: HostTarget): Promise<Session> => {
        const session = await transport.connect(target);
        return {
          target: session.target,
          close: () => session.close(),
          exec: async (command, options) => {
            const result = await session.exec(command, options);
            if (options?.label === "tar of etc") await sh("sandbox-01", "printf 'XXXXXXXX' | dd of=/var/backups/sandbox-01/data.tar.gz bs=1 seek=2000 conv=notrunc 2>/dev/null");
            return result;
          },
        };
      },
    };
    const { plan } = await planNow(transport, inventory, book("tar"));
    const damaged = await applyHost(damaging, inventory, book("tar"), plan, "sandbox-01", new RecordingJournal());
    expect(damaged.steps[1]).toMatchObject({ kind: "verify-backup", outcome: "failed", evidence: { check: { ok: false } } });
    expect(damaged.steps[1]!.detail).toMatch(/^archive \/var\/backups\/sandbox-01\/data\.tar\.gz: cannot be read through: /);
  }, 120_000);

  it("verify-backup detects a corrupted pack file on the backup host", async () => {
    await sh("sandbox-02", "f=$(find /srv/restic/sandbox-01/data -type f -size +100k | head -n 1); printf 'XXXXXXXX' | dd of=$f bs=1 seek=4000 conv=notrunc 2>/dev/null; echo $f");
    const { result } = await apply("verify");
    expect(result.outcome).toBe("failed");
    expect(result.steps[1]).toMatchObject({ kind: "verify-backup", outcome: "failed", evidence: { check: { ok: false, case: "check-failed" } } });
    expect(result.steps[1]!.detail).toMatch(/^restic check: the repository has errors: Pack ID does not match/);
  }, 120_000);
});
