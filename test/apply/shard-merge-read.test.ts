import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Journal } from "../../src/apply/journal.ts";
import { runResults, writeResults } from "../../src/apply/results.ts";
import { readWaveShards } from "../../src/apply/shard/merge-read.ts";
import type { HostOutcome, HostResult } from "../../src/apply/types.ts";
import { rolloutPlan } from "./fixtures.ts";

/**
 * What the merge reads from a shard that was resumed: a host may end twice in a shard's
 * journal only when a resume (run-resume) ran it again after an end that was not final
 * (interrupted, not started); any other second end is an edited journal, refused.
 */
const plan = rolloutPlan({ hosts: [{ name: "h01", wave: 0 }], haltsAt: 1 });
const runId = `${plan.id}-sharded`;
const end = (outcome: HostOutcome): HostResult => ({ host: "h01", wave: 0, outcome, detail: outcome, startedAt: null, finishedAt: null, steps: [] });

describe("a resumed shard's journal, as the merge reads it", () => {
  let dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    dirs = [];
  });

  /** Writes shard 1/1 of wave 1: the host ends `first`, then (after a resume when `resumed`) ends `last`. */
  async function shard(first: HostOutcome, last: HostOutcome, resumed: boolean): Promise<string> {
    const runDir = join(await mkdtemp(join(tmpdir(), "steward-merge-read-")), runId);
    dirs.push(runDir);
    const path = join(runDir, "shards", "w1-1-of-1", "journal.jsonl");
    let journal = await Journal.create(path, { runId, planId: plan.id, planDigest: plan.digest, shard: { wave: 0, index: 1, of: 1, allowed: 0, concurrency: null } });
    await journal.append({ type: "host-start", host: "h01", wave: 0, attempt: 1 });
    await journal.append({ type: "host-end", host: "h01", result: end(first) });
    if (resumed) {
      await journal.close();
      journal = (await Journal.resume(path)).journal;
    }
    await journal.append({ type: "host-start", host: "h01", wave: 0, attempt: 2 });
    await journal.append({ type: "host-end", host: "h01", result: end(last) });
    const status = last === "changed" ? "ok" : "hosts-failed";
    await journal.append({ type: "run-end", status, exitCode: status === "ok" ? 0 : 1, halt: null });
    await journal.close();
    await writeResults(join(runDir, "shards", "w1-1-of-1"), runResults({ runId, plan, startedAt: journal.startedAt, finishedAt: journal.startedAt, status, halt: null, failures: 0, resumes: resumed ? 1 : 0, hosts: [end(last)] }), { summary: false });
    return runDir;
  }

  it("takes the latest end of a host a resume ran again after it was interrupted", async () => {
    const [read] = await readWaveShards(await shard("interrupted", "changed", true), runId, plan, 0, 0);
    expect(read?.hosts.get("h01")?.outcome).toBe("changed");
    expect(read?.status).toBe("ok");
  });

  it("refuses a second end with no resume between, or after a final one", async () => {
    await expect(readWaveShards(await shard("interrupted", "changed", false), runId, plan, 0, 0)).rejects.toThrow(/journal\.jsonl ends host h01 twice/);
    await expect(readWaveShards(await shard("failed", "changed", true), runId, plan, 0, 0)).rejects.toThrow(/journal\.jsonl ends host h01 twice/);
  });
});
