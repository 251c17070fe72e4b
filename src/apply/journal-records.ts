/**
 * The records of runs/<run-id>/journal.jsonl (format in journal.ts). Each line is one
 * JSON object: the common members `seq` (1, 2, 3, … with no gap), `time` (ISO 8601
 * UTC), `prev` (sha256 hex of the previous line's exact text, "" for the first) and
 * `type`, then the members of its type below.
 */
import { createHash } from "node:crypto";
import type { HaltReason } from "../core/events.ts";
import type { StepKind } from "../model/types.ts";
import type { HostOutcome, HostResult, RunStatus, StepResult } from "./types.ts";

export type JournalBody =
  /** The first record: which plan this run applies. No argv: it may hold secrets. */
  | {
      type: "run-start";
      runId: string;
      planId: string;
      planDigest: string;
      pid: number;
      machine: string;
      /** Set when the window was checked against a clock given with --now (ISO 8601 UTC of the run's start by that clock), so the record shows the window was not the real one. */
      clockOverride?: string;
      /** Set when this journal is one shard of one wave (`steward apply --shard i/n`): which, and the share of the failure budget and of the concurrency it ran with. */
      shard?: ShardIdentity;
    }
  /** A later process continues the run; `tornBytes`: a torn final line of the crashed one was dropped. */
  | { type: "run-resume"; pid: number; machine: string; tornBytes: number }
  | { type: "wave-start"; wave: number; hosts: string[] }
  | { type: "wave-end"; wave: number; counts: Partial<Record<HostOutcome, number>> }
  /** `attempt`: 1 for the first start of the host in this run, 2 after a resume, … */
  | { type: "host-start"; host: string; wave: number; attempt: number }
  /** Written (and fsync'd) before the step may change anything. */
  /** The host waits for another run changing it (its host lock); `holder` null when that run has not said who it is yet. */
  | { type: "host-wait"; host: string; holder: { runId: string; pid: number; machine: string } | null; detail: string }
  | { type: "step-intent"; host: string; step: string; kind: StepKind; evidence?: Record<string, unknown> }
  | { type: "step-outcome"; host: string; result: StepResult }
  | { type: "host-end"; host: string; result: HostResult }
  | { type: "gate"; wave: number; ok: boolean; detail: string }
  | { type: "pause"; wave: number; ms: number; until: string }
  | { type: "budget-trip"; failures: number; haltsAt: number; host: string }
  | { type: "window-close"; closes: string; detail: string }
  | { type: "signal"; mode: "graceful" | "hard"; reason: string }
  | { type: "run-end"; status: RunStatus; exitCode: number; halt: HaltReason | null }
  /**
   * `steward results merge`: the shards of one wave were merged into the run's journal.
   * Written after the wave's host records (copied from the shards) and before its
   * gate and budget verdicts; each shard's journal and results are named by digest.
   */
  | { type: "shard-merge"; wave: number; of: number; pid: number; machine: string; shards: MergedShard[] };

/** Which shard a shard journal is (run-start `shard`). `wave` is 0-based, `index` 1-based. */
export interface ShardIdentity {
  wave: number;
  index: number;
  of: number;
  /** Failures this shard may count before it halts (its share of the wave's remaining budget). */
  allowed: number;
  /** Hosts this shard may have in flight (its share of `concurrency`); null when unlimited. */
  concurrency: number | null;
}

/** One shard as the merge found it: its folder, what it ended with, and its files' sha256 and size. */
export interface MergedShard {
  index: number;
  /** runs/<run-id>/shards/<folder>/ */
  folder: string;
  status: RunStatus;
  hosts: number;
  failures: number;
  files: Record<string, { sha256: string; bytes: number }>;
}

export type JournalRecordType = JournalBody["type"];

export type JournalRecord = { seq: number; time: string; prev: string } & JournalBody;

export const JOURNAL_RECORD_TYPES: ReadonlySet<string> = new Set<JournalRecordType>([
  "run-start",
  "run-resume",
  "wave-start",
  "wave-end",
  "host-start",
  "host-wait",
  "step-intent",
  "step-outcome",
  "host-end",
  "gate",
  "pause",
  "budget-trip",
  "window-close",
  "signal",
  "run-end",
  "shard-merge",
]);

/** sha256 (hex) of one journal line's UTF-8 bytes, without its "\n": the next record's `prev`. */
export function lineHash(line: string): string {
  return createHash("sha256").update(line, "utf8").digest("hex");
}

/**
 * Record `seq` of a journal, chained to the line before it (`prev`: its lineHash, "" for
 * the first), with its exact line (no "\n"): the one serialisation every journal writer
 * uses — Journal.append, and the merge, which writes the run's journal whole (merge.ts).
 */
export function chainRecord(seq: number, time: string, prev: string, body: JournalBody): { record: JournalRecord; line: string } {
  const record = { seq, time, prev, ...body } as JournalRecord;
  return { record, line: JSON.stringify(record) };
}
