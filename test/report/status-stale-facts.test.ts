import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SNAPSHOT_HEADER_LINE } from "../../src/facts/snapshot-line.ts";
import { History } from "../../src/report/history/index.ts";
import { statusMarkdown } from "../../src/report/markdown.ts";
import { DEFAULT_STALE_AFTER_MS, statusReport } from "../../src/report/status.ts";

const BOOT = "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09";
const row = (host: string, at: string, upgradable: unknown[], reboot = false): string => JSON.stringify([host, at, ["web"], "debian 12", [["/", 1000, 100]], [1000, 400], [0.5, 0.4, 0.3, 2], 1234, BOOT, reboot, upgradable]);

describe("status: a host no longer in the snapshots", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-stalefacts-"));
    await mkdir(join(root, "facts/snapshots"), { recursive: true });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("is listed as last seen and flagged, and counts in no total, once its latest line is older than the staleness threshold", async () => {
    const security = ["openssl", "3.0.11-1", "3.0.13-1", "security"];
    // old-1 was retired on March 2 (last line there); new-1 is snapshotted every day until March 20.
    for (let d = 1; d <= 20; d++) {
      const day = `2026-03-${String(d).padStart(2, "0")}`;
      const lines = [SNAPSHOT_HEADER_LINE];
      if (d <= 2) lines.push(row("old-1", `${day}T01:00:00.000Z`, [security], true));
      lines.push(row("new-1", `${day}T01:00:01.000Z`, d >= 15 ? [security] : []));
      await writeFile(join(root, "facts/snapshots", `${day}.jsonl`), `${lines.join("\n")}\n`);
    }
    const at = (until: string) => statusReport(new History(root), { until: new Date(until), now: new Date(until) });

    // Seven days after its last line, old-1 is still within the threshold (8 days): counted.
    const within = await at("2026-03-09T00:00:00.000Z");
    expect(within.hosts.find((h) => h.host === "old-1")!.factsStale).toBe(false);
    expect(within.summary).toMatchObject({ hosts: 2, factsStale: 0, withPendingSecurity: 1, rebootRequired: 1 });

    const r = await at("2026-03-20T12:00:00.000Z");
    const old = r.hosts.find((h) => h.host === "old-1")!;
    expect(old).toMatchObject({ lastSeen: "2026-03-02T01:00:00.000Z", factsStale: true, rebootRequired: true, pending: { security: 1 } });
    expect(r.hosts.find((h) => h.host === "new-1")!.factsStale).toBe(false);
    // Only new-1 counts: its one security update; old-1's update and reboot do not.
    expect(r.summary).toMatchObject({ hosts: 2, factsStale: 1, unreachable: 0, withPendingSecurity: 1, rebootRequired: 0, pending: { security: 1, patch: 0, minor: 0, major: 0 } });
    expect(r.groups).toEqual([expect.objectContaining({ group: "web", hosts: 2, factsStale: 1, rebootRequired: 0 })]);
    expect(r.staleAfterDays).toBe(DEFAULT_STALE_AFTER_MS / 86_400_000);

    const md = statusMarkdown(r);
    expect(md).toContain("**1** host(s) not in any snapshot for more than 8 days (retired, or their facts are no longer recorded)");
    expect(md).toMatch(/\| old-1 \| web \| 2026-03-02T01:00:00\.000Z \(not seen for more than 8 d: not counted\) \|/);
    expect(md).toMatch(/\| web \| 2 \| 1 \| 0 \|/);
  });
});
