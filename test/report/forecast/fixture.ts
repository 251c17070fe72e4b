/**
 * A small fleet repository for forecast tests: a real git repository with an
 * inventory, a runbook with a weekly window targeting the web hosts (the db host has
 * none), and facts snapshots written in the product's format (snapshotFileText), from
 * series the test states.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { snapshotFileText } from "../../../src/facts/snapshot.ts";
import type { FactSnapshot } from "../../../src/report/history/snapshots.ts";

const sh = promisify(execFile);
export const GIB = 1024 ** 3;
export const DAY_MS = 86_400_000;

export const INVENTORY = `defaults:
  user: steward
groups:
  web: {}
  db: {}
hosts:
  web-1: { address: 10.0.1.1, groups: [web] }
  web-2: { address: 10.0.1.2, groups: [web] }
  db-1: { address: 10.0.2.1, groups: [db] }
`;

/** Weekly on Tuesday 02:00–05:00 UTC, for the web hosts only. */
export const RUNBOOK = `name: web-maintenance
targets: group:web
window:
  timezone: UTC
  days: [tue]
  start: "02:00"
  duration: 3h
steps:
  - kind: command
    name: tidy
    command: "true"
`;

/** What a host reports on day d (0-based): its disks (GiB used of GiB size), or undefined for an unreachable day. */
export type HostModel = (day: number) => { disks: Record<string, [number, number]>; availableGiB?: number; load?: number } | undefined;

export async function git(root: string, ...args: string[]): Promise<string> {
  return (await sh("git", ["-C", root, ...args])).stdout.trim();
}

/** A repository with `days` daily snapshots ending the day before `end`, committed. */
export async function fleetRepo(models: Record<string, HostModel>, days: number, end: Date): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "steward-forecast-"));
  await mkdir(join(root, "inventory"));
  await mkdir(join(root, "runbooks"));
  await writeFile(join(root, "inventory", "hosts.yaml"), INVENTORY);
  await writeFile(join(root, "runbooks", "web-maintenance.yaml"), RUNBOOK);
  await writeSnapshotDays(root, models, days, end);
  await git(root, "init", "-q", "-b", "main");
  await git(root, "config", "user.email", "eng@example.org");
  await git(root, "config", "user.name", "Eng");
  await git(root, "add", ".");
  await git(root, "commit", "-q", "-m", "fleet");
  return root;
}

/** Writes facts/snapshots/<day>.jsonl for `days` days ending the day before `end` (10:00 UTC each). */
export async function writeSnapshotDays(root: string, models: Record<string, HostModel>, days: number, end: Date): Promise<void> {
  await mkdir(join(root, "facts", "snapshots"), { recursive: true });
  const first = Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()) - days * DAY_MS + 10 * 3_600_000;
  for (let d = 0; d < days; d++) {
    const takenAt = new Date(first + d * DAY_MS).toISOString();
    const lines: FactSnapshot[] = [];
    for (const [host, model] of Object.entries(models)) {
      const groups = host.startsWith("web") ? ["web"] : ["db"];
      const m = model(d);
      if (m === undefined) {
        lines.push({ v: 1, host, takenAt, groups, unreachable: true });
        continue;
      }
      lines.push({
        v: 1, host, takenAt, groups, os: "debian 12",
        disks: Object.entries(m.disks).map(([mount, [used, size]]) => ({ mount, usedBytes: Math.round(used * GIB), sizeBytes: Math.round(size * GIB) })),
        memory: { totalBytes: 16 * GIB, availableBytes: Math.round((m.availableGiB ?? 8) * GIB) },
        load: { one: 1, five: 1, fifteen: m.load ?? 1, cpus: 4 },
        uptimeSeconds: 1000 + d * 86_400, bootId: "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09", rebootRequired: false, upgradable: [],
      });
    }
    await writeFile(join(root, "facts", "snapshots", `${takenAt.slice(0, 10)}.jsonl`), snapshotFileText(lines));
  }
}
