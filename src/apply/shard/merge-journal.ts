/**
 * The run's journal of a sharded run, runs/<run-id>/journal.jsonl, as `steward results
 * merge` reads and writes it: the only writer, under the run's merge lock.
 *
 * Crash safety (the rule): the merge never appends to the journal in place. It writes
 * the whole journal — every record it held, then the wave's — to a temporary file in
 * the run's folder, fsyncs it and renames it over journal.jsonl (writeFileAtomic), so
 * the journal holds a merged wave whole or not at all. What the audit log recorded is
 * the boundary: the latest `merge` entry of the run names journal.jsonl by sha256 and
 * size, and those bytes are always the journal's beginning. Records after them are a
 * wave whose merge was killed before it recorded its entry (after the rename: during
 * the gate's pause, or while it wrote results.json, report.md or the entry); the next
 * merge recognises them as exactly what it would write (merge-decide.ts, sameRecords)
 * and completes that merge instead of merging another wave. Half a wave — left by a
 * merge of an older steward, which appended record by record — is a beginning of what
 * the merge would write: it is replaced by the whole wave. Anything else after the
 * recorded bytes, or recorded bytes that are no longer the journal's beginning, means a
 * file was edited: refused (exit 5), never overwritten.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { AUDIT_LOG } from "../../audit/entry.ts";
import { readAuditLog, type ReadEntry } from "../../audit/log.ts";
import { digestOf, readRunFile } from "../../audit/record.ts";
import { writeFileAtomic } from "../../core/fs.ts";
import { JOURNAL_FILE } from "../journal.ts";
import { chainRecord, lineHash, type JournalRecord } from "../journal-records.ts";
import { JournalError, readJournal } from "../journal-replay.ts";
import type { BlockEntry } from "./merge-decide.ts";

/** The run's journal split at what the audit log recorded; see the module comment. */
export interface RunJournal {
  /** The records the latest merge entry of the run recorded ([] when none did). */
  recorded: JournalRecord[];
  /** Their exact lines, without "\n". */
  lines: string[];
  /** Whole records after them: written by a merge that was killed before its entry. */
  unrecorded: JournalRecord[];
  /** Bytes after the last whole line (a torn line, or a journal cut before its first line ended). */
  tornBytes: number;
  /** The latest merge entry of the run in runs/audit.jsonl, or null. */
  entry: ReadEntry | null;
}

/**
 * Reads runs/<run-id>/journal.jsonl under `runDir` and splits it at the bytes the run's
 * latest `merge` entry in runs/audit.jsonl under `root` recorded.
 * @throws JournalError (exit 5) when the journal is damaged, or removed or changed after
 *   an entry recorded it; AuditLogError when it is not a regular file.
 */
export async function readRunJournal(root: string, runDir: string, runId: string): Promise<RunJournal> {
  const shown = `runs/${runId}/${JOURNAL_FILE}`;
  const entry = (await readAuditLog(root)).entries.filter((e) => e.entry.runId === runId && e.entry.type === "merge").at(-1) ?? null;
  const bytes = await readRunFile(join(runDir, JOURNAL_FILE), shown);
  const where = entry === null ? "" : `${AUDIT_LOG} line ${entry.line} (seq ${entry.entry.seq})`;
  const fix = "run steward audit verify for every finding; restore the run's files from Git (steward publish results committed them) and merge again";
  if (bytes === null) {
    if (entry !== null) throw new JournalError(`${shown} does not exist, but ${where} recorded a merge of run ${runId}: it was removed`, fix);
    return { recorded: [], lines: [], unrecorded: [], tornBytes: 0, entry };
  }
  if (entry === null && bytes.indexOf(0x0a) === -1) {
    // Nothing recorded and not one whole line: a merge killed as it created the journal.
    return { recorded: [], lines: [], unrecorded: [], tornBytes: bytes.length, entry };
  }
  const read = await readJournal(join(runDir, JOURNAL_FILE));
  let count = 0;
  if (entry !== null) {
    const d = entry.entry.files[JOURNAL_FILE];
    const begins = d !== undefined && bytes.length >= d.bytes && digestOf(bytes.subarray(0, d.bytes)).sha256 === d.sha256;
    if (!begins) throw new JournalError(`${shown} no longer begins with the ${d?.bytes ?? "?"} bytes ${where} recorded for the merge of run ${runId}: records written before that entry were changed or removed`, fix);
    const size = (d as { bytes: number }).bytes;
    let at = 0;
    for (; at < size && count < read.lines.length; count += 1) at += Buffer.byteLength(read.lines[count] as string, "utf8") + 1;
    if (at !== size) throw new JournalError(`${shown}: the ${size} bytes ${where} recorded do not end with a whole record`, fix);
  }
  return { recorded: read.records.slice(0, count), lines: read.lines.slice(0, count), unrecorded: read.records.slice(count), tornBytes: read.tornBytes, entry };
}

/**
 * Writes the run's journal whole: the `kept` lines (the records the audit log
 * recorded), then `block` chained after them (a null time is `now`), through a
 * temporary file renamed into place.
 * @returns the block's records as written. @throws EnvironmentError as writeFileAtomic.
 */
export async function writeRunJournal(root: string, runDir: string, kept: readonly string[], block: readonly BlockEntry[], now: string): Promise<JournalRecord[]> {
  let prev = kept.length === 0 ? "" : lineHash(kept.at(-1) as string);
  const lines = [...kept];
  const records: JournalRecord[] = [];
  for (const e of block) {
    const { record, line } = chainRecord(lines.length + 1, e.time ?? now, prev, e.body);
    records.push(record);
    lines.push(line);
    prev = lineHash(line);
  }
  await writeFileAtomic(join(runDir, JOURNAL_FILE), `${lines.join("\n")}\n`, { root });
  return records;
}

/** The temporary files and kept versions writeFileAtomic (src/core/fs.ts) makes of the files the merge writes. */
const LEFTOVER = /^\.(journal\.jsonl|results\.json|summary\.json|report\.md)\.[0-9a-f]{12}\.(tmp|bak)$/;

/**
 * Removes what a merge killed while it wrote left in the run's folder: temporary files
 * (never renamed into place, so never part of the run) and kept previous versions. Only
 * the merge writes these files, and the caller holds the merge lock.
 * @returns the names removed.
 */
export async function removeLeftovers(runDir: string): Promise<string[]> {
  const names = (await readdir(runDir).catch(() => [] as string[])).filter((n) => LEFTOVER.test(n)).sort();
  for (const n of names) await rm(join(runDir, n), { force: true });
  return names;
}
