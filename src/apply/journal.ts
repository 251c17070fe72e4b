/**
 * The run journal: runs/<run-id>/journal.jsonl, the durable record a crashed or
 * interrupted run is resumed from and the report's timeline is read from.
 *
 * Format: UTF-8 JSON Lines, one record per line, each ending in "\n"; the members are
 * listed in journal-records.ts. Records are only ever appended. Each carries `seq`
 * (1, 2, 3, … without a gap) and `prev`, the sha256 (hex) of the previous line's exact
 * bytes ("" for the first), so a removed, reordered or edited line breaks the chain and
 * is refused on reading (journal-replay.ts).
 *
 * Durability: `append` resolves only after the record was written and fdatasync'd, so
 * whatever the engine acted on after an append is on disk. A flush starts on the event
 * loop's next turn (setImmediate), so appends made in one turn — a step's outcome and
 * the next step's intent, hosts finishing together — are written together, and
 * appends issued while a flush runs go in the next one (group commit): each still
 * resolves only once it is durable, and a busy rollout pays one fsync per flush rather
 * than per record. Records are written in the order they were appended, so a record
 * is never durable before one appended ahead of it. A record is one write of whole lines: `kill -9` can tear
 * only the last line, which the reader reports and a resume drops (never a middle one).
 */
import { open, type FileHandle } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { ensureDirectory, syncFolder, writeFailure } from "../core/fs.ts";
import { StewardError } from "../core/errors.ts";
import { chainRecord, lineHash, type JournalBody, type JournalRecord, type ShardIdentity } from "./journal-records.ts";
import { readJournal, replayJournal, type ReplayState } from "./journal-replay.ts";

/** The file name of a run's journal inside runs/<run-id>/. */
export const JOURNAL_FILE = "journal.jsonl";

export interface JournalOptions {
  /** The time stamped on each record; defaults to the system clock. */
  clock?: () => Date;
  /** The repository root, for the link checks of ensureDirectory. */
  root?: string;
}

interface Pending {
  text: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** An open journal that appends durably; see the module comment. */
export class Journal {
  readonly path: string;
  /** ISO 8601 UTC time of the run-start record: when the run first started. */
  startedAt = "";
  /** The run's id, from the run-start record. */
  runId = "";
  readonly #handle: FileHandle;
  readonly #clock: () => Date;
  #seq: number;
  #prev: string;
  #queue: Pending[] = [];
  #flushing = false;
  #failed: unknown = undefined;
  #closed = false;

  private constructor(path: string, handle: FileHandle, clock: () => Date, seq: number, prev: string) {
    this.path = path;
    this.#handle = handle;
    this.#clock = clock;
    this.#seq = seq;
    this.#prev = prev;
  }

  /**
   * Creates the journal of a new run and writes its run-start record.
   * @throws StewardError (usage) when the file exists already: a run id is used once.
   * @throws EnvironmentError when the folder cannot be written.
   */
  static async create(path: string, start: { runId: string; planId: string; planDigest: string; clockOverride?: string; shard?: ShardIdentity }, options: JournalOptions = {}): Promise<Journal> {
    await ensureDirectory(dirname(path), options.root);
    let handle: FileHandle;
    try {
      handle = await open(path, "ax");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        throw new StewardError("usage", `${path} exists already: run ${start.runId} was started before`, `continue it with --resume ${start.runId}, or start a new run`);
      }
      throw writeFailure(error, path, "creating the journal");
    }
    // The run's folder and the journal's name in it must survive a crash as well.
    await syncFolder(dirname(path));
    await syncFolder(dirname(dirname(path)));
    const journal = new Journal(path, handle, options.clock ?? (() => new Date()), 0, "");
    const record = await journal.append({ type: "run-start", runId: start.runId, planId: start.planId, planDigest: start.planDigest, pid: process.pid, machine: hostname(), ...(start.clockOverride !== undefined ? { clockOverride: start.clockOverride } : {}), ...(start.shard !== undefined ? { shard: start.shard } : {}) });
    journal.startedAt = record.time;
    journal.runId = start.runId;
    return journal;
  }

  /**
   * Opens the journal of an earlier run to continue it: reads and checks it (a broken
   * chain is refused), cuts a torn final line off, and appends a run-resume record
   * (`continuing: false`: no record; the caller appends what it does, e.g. a merge).
   * @returns the journal and the state replayed from it (before the run-resume record).
   * @throws JournalError for a damaged journal, EnvironmentError when it cannot be written.
   */
  static async resume(path: string, options: JournalOptions & { continuing?: boolean } = {}): Promise<{ journal: Journal; state: ReplayState }> {
    const read = await readJournal(path);
    const state = replayJournal(read);
    let handle: FileHandle;
    try {
      handle = await open(path, "r+");
      if (read.tornBytes > 0) {
        await handle.truncate(read.validBytes);
        await handle.sync();
      }
      await handle.close();
      handle = await open(path, "a");
    } catch (error) {
      throw writeFailure(error, path, "reopening the journal");
    }
    const last = read.lines.at(-1);
    const journal = new Journal(path, handle, options.clock ?? (() => new Date()), read.records.length, last === undefined ? "" : lineHash(last));
    journal.startedAt = state.startedAt;
    journal.runId = state.runId;
    if (options.continuing !== false) await journal.append({ type: "run-resume", pid: process.pid, machine: hostname(), tornBytes: read.tornBytes });
    return { journal, state };
  }

  /**
   * Appends one record; resolves with it once it is on disk.
   * @throws EnvironmentError when the write or fsync fails (disk full, I/O error); every
   *   later append then fails too, since the file's end is no longer known to be whole.
   */
  append(body: JournalBody): Promise<JournalRecord> {
    if (this.#closed) return Promise.reject(new StewardError("internal", `journal ${this.path} is closed; a record of type ${body.type} came too late`));
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const { record, line: text } = chainRecord(this.#seq + 1, this.#clock().toISOString(), this.#prev, body);
    this.#seq = record.seq;
    this.#prev = lineHash(text);
    return new Promise<JournalRecord>((resolve, reject) => {
      this.#queue.push({ text: `${text}\n`, resolve: () => resolve(record), reject });
      if (!this.#flushing) {
        this.#flushing = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  /** Whether the journal is closed; records arriving afterwards are refused. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Waits for every pending append, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#flushing) await new Promise((r) => setImmediate(r));
    await this.#handle.close();
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      try {
        if (this.#failed !== undefined) throw this.#failed;
        const bytes = Buffer.from(batch.map((p) => p.text).join(""), "utf8");
        let done = 0;
        while (done < bytes.length) {
          const { bytesWritten } = await this.#handle.write(bytes, done, bytes.length - done, null);
          done += bytesWritten;
        }
        // fdatasync(2): the bytes and the file size (needed to read them back), not the
        // times — what an append-only log needs (PostgreSQL's default wal_sync_method on Linux).
        await this.#handle.datasync();
        for (const p of batch) p.resolve();
      } catch (error) {
        this.#failed ??= writeFailure(error, this.path, "appending to the journal");
        for (const p of batch) p.reject(this.#failed);
      }
    }
    this.#flushing = false;
  }
}
