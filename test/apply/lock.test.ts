import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, utimes } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockHolder, lockPlan, PlanLockedError } from "../../src/apply/lock.ts";

const PLAN = "patches-20261124T0100-dddddddddddd";

function holdLock(runsDir: string, runId: string): { child: ChildProcess; line: Promise<string> } {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "scripts", "hold-lock.ts"), runsDir, PLAN, runId], { stdio: ["ignore", "pipe", "inherit"] });
  const line = new Promise<string>((resolve, reject) => {
    let text = "";
    child.on("error", reject);
    child.stdout?.on("data", (c: Buffer) => {
      text += c.toString();
      if (text.includes("\n")) resolve(text.trim());
    });
    child.on("exit", () => resolve(text.trim()));
  });
  return { child, line };
}

async function killed(child: ChildProcess): Promise<void> {
  const exit = new Promise((r) => child.on("exit", r));
  child.kill("SIGKILL");
  await exit;
}

describe("plan lock", () => {
  it("refuses a second process on the same plan, naming the first", async () => {
    const runs = await mkdtemp(join(tmpdir(), "steward-lock-"));
    const first = holdLock(runs, "run-a");
    expect(await first.line).toBe("locked");
    try {
      const second = holdLock(runs, "run-b");
      const refusal = await second.line;
      expect(refusal).toContain(`plan ${PLAN} is being applied by run run-a (pid ${first.child.pid} on ${hostname()}, since `);
      expect(refusal).toContain(`kill -INT ${first.child.pid}`);
      expect(refusal).toContain("--resume run-a");
      expect(await lockHolder(runs, PLAN)).toMatchObject({ pid: first.child.pid, runId: "run-a", planId: PLAN });
    } finally {
      await killed(first.child);
    }
  });

  it("takes over the lock of a killed holder and says whose it was", async () => {
    const runs = await mkdtemp(join(tmpdir(), "steward-lock-"));
    const first = holdLock(runs, "run-a");
    expect(await first.line).toBe("locked");
    const pid = first.child.pid;
    await killed(first.child);
    const lock = await lockPlan(runs, PLAN, { runId: "run-b" });
    try {
      expect(lock.takenOver?.holder).toMatchObject({ pid, runId: "run-a" });
      expect(lock.takenOver?.message).toMatch(new RegExp(`took over the stale lock of run run-a \\(pid ${pid} on `));
      expect(lock.takenOver?.message).toContain("runs/run-a/journal.jsonl");
      expect(await lockHolder(runs, PLAN)).toMatchObject({ pid: process.pid, runId: "run-b" });
    } finally {
      await lock.release();
    }
    // Released: the next run takes it without a takeover.
    const next = await lockPlan(runs, PLAN, { runId: "run-c" });
    expect(next.takenOver).toBeNull();
    await next.release();
  });

  it("keeps a held lock fresh (holder.json does not look like another's refresh) and refuses a second taker", async () => {
    const runs = await mkdtemp(join(tmpdir(), "steward-lock-"));
    const held = await lockPlan(runs, PLAN, { runId: "run-a", staleMs: 2000 });
    // Within one process proper-lockfile refuses a second lock whatever the mtime; a
    // fresh lock from this process is refused with the holder named.
    const refused = await lockPlan(runs, PLAN, { runId: "run-b", staleMs: 2000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PlanLockedError);
    expect((refused as PlanLockedError).holder).toMatchObject({ runId: "run-a", pid: process.pid });
    // Past two refreshes (every staleMs/2): the lock is still ours.
    await new Promise((r) => setTimeout(r, 2600));
    expect(held.compromised).toBeNull();
    await held.release();
  });

  it("treats a holder on another machine as live until its lock ages past staleMs", async () => {
    const runs = await mkdtemp(join(tmpdir(), "steward-lock-"));
    const first = holdLock(runs, "run-a");
    expect(await first.line).toBe("locked");
    await killed(first.child);
    // Pretend the holder ran elsewhere: its pid cannot be checked from here.
    const { writeFile } = await import("node:fs/promises");
    const lockDir = join(runs, "locks", `${PLAN}.lock`);
    await writeFile(join(lockDir, "holder.json"), JSON.stringify({ pid: 1, machine: "elsewhere", runId: "run-a", planId: PLAN, startedAt: "2026-11-24T02:00:00.000Z" }));
    const now = new Date();
    await utimes(lockDir, now, now);
    const refused = await lockPlan(runs, PLAN, { runId: "run-b", staleMs: 2000 }).catch((e: unknown) => e);
    expect((refused as Error).message).toContain("run run-a (pid 1 on elsewhere");
    const old = new Date(Date.now() - 5000);
    await utimes(lockDir, old, old);
    const lock = await lockPlan(runs, PLAN, { runId: "run-b", staleMs: 2000 });
    expect(lock.takenOver?.holder?.machine).toBe("elsewhere");
    await lock.release();
  });
});
