import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { readJournal } from "../../src/apply/journal-replay.ts";
import type { JournalRecord } from "../../src/apply/journal-records.ts";
import type { RunResults } from "../../src/apply/results.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { execInHost, fleetStatus, type FleetState } from "../../src/sandbox/index.ts";

/** What one `steward …` invocation ended with. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `steward` through the CLI's entry (src/cli/main.ts) with real IO on the fleet's
 * repository: what an engineer runs, without a child process, so a test can act on
 * the hosts while the run goes on. `live()` is the output so far.
 */
export function cli(state: FleetState, env: NodeJS.ProcessEnv = {}) {
  const start = (...args: string[]): { done: Promise<Ran>; live: () => string } => {
    let stdout = "";
    let stderr = "";
    const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "", ...env }, cwd: state.dir };
    return { done: main(args, io).then((code) => ({ code, stdout, stderr })), live: () => stdout };
  };
  const steward = (...args: string[]): Promise<Ran> => start(...args).done;
  /** `steward plan <runbook> --gather`; returns the plan file it wrote. */
  const planned = async (runbook: string, ...extra: string[]): Promise<string> => {
    const r = await steward("plan", runbook, "--gather", ...extra);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return /^wrote (\S+\.json)$/m.exec(r.stdout)![1]!;
  };
  /** The results.json a finished apply printed it wrote. */
  const results = async (r: Ran): Promise<RunResults> => {
    const file = /^wrote (\S+results\.json)$/m.exec(r.stdout)?.[1];
    if (file === undefined) throw new Error(`no results written (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(await readFile(join(state.dir, file), "utf8")) as RunResults;
  };
  /** The journal of the only run of `runbook` so far (empty before it starts). */
  const journalOf = async (runbook: string): Promise<{ runId: string; records: JournalRecord[] }> => {
    const runs = (await readdir(join(state.dir, "runs")).catch(() => [] as string[])).filter((d) => d.startsWith(`${runbook}-`));
    if (runs.length !== 1) return { runId: "", records: [] };
    const { records } = await readJournal(join(state.dir, "runs", runs[0]!, "journal.jsonl")).catch(() => ({ records: [] as JournalRecord[] }));
    return { runId: runs[0]!, records };
  };
  /** Polls the run's journal until `ready`; fails when the run ends first or after `ms`. */
  const waitJournal = async (runbook: string, running: { done: Promise<Ran>; live: () => string }, ready: (records: JournalRecord[]) => boolean, ms = 60_000): Promise<JournalRecord[]> => {
    let ended = false;
    void running.done.then(() => (ended = true));
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const { records } = await journalOf(runbook);
      if (ready(records)) return records;
      if (ended) throw new Error(`the run ended first:\n${running.live()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`the journal never got there:\n${running.live()}`);
  };
  return { start, steward, planned, results, journalOf, waitJournal };
}

/** A package's version on a host, read inside it (not through steward). */
export async function versionOn(state: FleetState, host: string, pkg: string): Promise<string> {
  return (await execInHost(state, host, ["dpkg-query", "-W", "-f=${Version}", pkg])).stdout;
}

/** Each host's boot id, as the sandbox observes it from outside. */
export async function bootIds(state: FleetState): Promise<Map<string, string | null>> {
  return new Map((await fleetStatus(state)).map((h) => [h.name, h.bootId]));
}

/** True when `path` exists inside the host. */
export async function existsOn(state: FleetState, host: string, path: string): Promise<boolean> {
  return (await execInHost(state, host, ["test", "-e", path])).code === 0;
}

/** Hosts in the order of their host-start records, with the wave each started in. */
export function hostStarts(records: readonly JournalRecord[]): Array<{ host: string; wave: number; seq: number }> {
  return records.flatMap((r) => (r.type === "host-start" ? [{ host: r.host, wave: r.wave, seq: r.seq }] : []));
}
