/**
 * What a torn journal line is, in the words every command prints it with (on standard
 * error: a resume that cut one, a merge that reads a shard journal whose resume cut
 * one, a refusal of a journal that still ends with one). A torn line is the record a
 * runner was writing when it was killed (`kill -9`, a lost machine): only ever the last
 * (journal.ts writes whole lines). Nothing acted on it — steward acts on a record only
 * once it is whole and synced — so a resume cuts it off and its run-resume record,
 * written in its place, notes how many bytes went (`tornBytes`).
 */
import type { JournalRecord } from "./journal-records.ts";

/** Why nothing acted on a torn line, as every note says it. */
const UNUSED = "nothing acted on it (steward acts on a record only once it is whole and synced)";

/**
 * The note of a resume that just cut a torn line off `file` (as messages name it):
 * `line` is the torn line's number (the records before it, plus one), `bytes` its length.
 */
export function tornCutNote(file: string, line: number, bytes: number): string {
  return `${file} line ${line} was torn: ${bytes} byte(s) without a line end, the record its runner was writing when it was killed; ${UNUSED}, so this resume cut it off, and line ${line} is now this resume's run-resume record, which notes the cut`;
}

/** The note of a merge that cut a torn line off the run's own journal `file` before appending. */
export function tornMergeNote(file: string, line: number, bytes: number): string {
  return `${file} line ${line} was torn: ${bytes} byte(s) without a line end, written by a merge that was killed; ${UNUSED}, so this merge cut it off before appending`;
}

/** A journal that still ends with a torn line (a refusal names it; the resume will cut it). */
export function tornTailNote(line: number, bytes: number): string {
  return `its last line, line ${line}, is torn (${bytes} byte(s) its runner was writing when it was killed): ${UNUSED}, and the resume cuts it off`;
}

/**
 * One note per torn line an earlier resume of `file` cut off, read from its run-resume
 * records (`tornBytes` > 0), in journal order.
 */
export function tornNotesOf(file: string, records: readonly JournalRecord[]): string[] {
  return records.flatMap((r) =>
    r.type === "run-resume" && r.tornBytes > 0
      ? [`${file} line ${r.seq} was torn: its runner was killed while writing it (${r.tornBytes} byte(s)); ${UNUSED}, and the resume at ${r.time} (pid ${r.pid} on ${r.machine}) cut it off and wrote its run-resume record as line ${r.seq}`]
      : [],
  );
}
