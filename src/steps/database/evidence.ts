/**
 * A database step's evidence, built from a script's result lines (parse.ts checks
 * every value) and compared where there is something to compare: a restore test's
 * source and copy, table by table. Pure functions, tested on captured output.
 */
import { count, json, names, records, requiredCount, sha256, single, UnreadableOutputError, type Framed } from "./parse.ts";

/** Mismatches kept in a result; the count says how many there were. */
export const MAX_MISMATCHES = 50;

const versionOf = (framed: Framed): number => requiredCount(framed, "server_version_num");

/** What a dump recorded: the archive's size and sha256, pg_dump's duration. */
export function dumpEvidence(framed: Framed, database: string, path: string): { database: string; path: string; bytes: number; sha256: string; dumpMs: number; serverVersionNum: number } {
  return { database, path, bytes: requiredCount(framed, "bytes"), sha256: sha256(single(framed, "sha256")), dumpMs: requiredCount(framed, "dump_ms"), serverVersionNum: versionOf(framed) };
}

/** One table's statistics as the stats query returns them. */
export interface TableStats {
  schema: string;
  table: string;
  rows: number;
  checksum: string;
}

const TABLE_FIELDS = { schema: "name", table: "name", rows: "count", checksum: "hex32?" } as const;

/** The table statistics of one side of a restore test. @throws UnreadableOutputError. */
export function tableStats(value: string | undefined, key: string): TableStats[] {
  return records(json(value, key), key, TABLE_FIELDS) as unknown as TableStats[];
}

/** One table that differs between the source and the restored copy. */
export interface Mismatch {
  table: string;
  problem: string;
}

/** Every difference between the source's tables and the copy's, in table order. */
export function compareTables(source: readonly TableStats[], restored: readonly TableStats[]): Mismatch[] {
  const key = (t: TableStats): string => `${t.schema}.${t.table}`;
  const copy = new Map(restored.map((t) => [key(t), t]));
  const out: Mismatch[] = [];
  for (const s of source) {
    const r = copy.get(key(s));
    copy.delete(key(s));
    if (r === undefined) out.push({ table: key(s), problem: "missing from the restored copy" });
    else if (r.rows !== s.rows) out.push({ table: key(s), problem: `${r.rows} rows restored, ${s.rows} in the source` });
    else if (r.checksum !== s.checksum) out.push({ table: key(s), problem: `same row count (${s.rows}), different contents (checksum ${r.checksum.slice(0, 8)}… vs ${s.checksum.slice(0, 8)}…)` });
  }
  for (const extra of copy.keys()) out.push({ table: extra, problem: "in the restored copy but not in the source" });
  return out;
}

/** What a restore test recorded: tables and rows compared, every mismatch (at most 50 kept), the restore's duration, whether the copy was dropped. */
export function restoreEvidence(framed: Framed, base: { database: string; dump: string; scratch: string; compare: "checksums" | "counts"; scratchDropped: boolean }) {
  const source = tableStats(single(framed, "source"), "source");
  const restored = tableStats(single(framed, "restored"), "restored");
  const mismatches = compareTables(source, restored);
  return {
    ...base,
    serverVersionNum: versionOf(framed),
    restoreMs: requiredCount(framed, "restore_ms"),
    tables: source.length,
    rows: source.reduce((sum, t) => sum + t.rows, 0),
    mismatchCount: mismatches.length,
    mismatches: mismatches.slice(0, MAX_MISMATCHES),
  };
}

/** What a VACUUM (ANALYZE) recorded: its duration and the dead tuples before and after (from pg_stat_user_tables). */
export function vacuumEvidence(framed: Framed, database: string, tables: readonly string[] | undefined) {
  return { database, tables: tables ?? "all", serverVersionNum: versionOf(framed), durationMs: requiredCount(framed, "vacuum_ms"), deadTuplesBefore: requiredCount(framed, "dead_before"), deadTuplesAfter: requiredCount(framed, "dead_after") };
}

/** What a REINDEX recorded: CONCURRENTLY or not (server_version_num ≥ 120000), the index count, its duration, indexes left invalid. */
export function reindexEvidence(framed: Framed, database: string, tables: readonly string[] | undefined) {
  const serverVersionNum = versionOf(framed);
  return { database, tables: tables ?? "all", serverVersionNum, concurrently: serverVersionNum >= 120000, indexes: requiredCount(framed, "indexes"), durationMs: requiredCount(framed, "reindex_ms"), invalidIndexes: names(json(single(framed, "invalid"), "invalid"), "invalid") };
}

const PURGE_TYPES = /^(timestamp(\([0-6]\))? with(out)? time zone|date)$/;
const CUTOFF = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$/;

/**
 * What the purge inspection found: the cutoff to bind, or why the purge is refused — no
 * such table, not a plain table (a partitioned table is purged by dropping old
 * partitions), no such column, or a column that is not a timestamp or date.
 * @throws UnreadableOutputError when the inspection's output breaks its grammar.
 */
export function purgeTarget(framed: Framed, t: { schema: string; table: string; column: string }): { cutoff: string } | { refused: string } {
  versionOf(framed);
  const text = single(framed, "inspect");
  if (text === undefined) throw new UnreadableOutputError("no inspect was reported");
  if (text === "") return { refused: `there is no table ${t.schema}.${t.table}; check \`table\`` };
  const info = json(text, "inspect");
  if (typeof info !== "object" || info === null) throw new UnreadableOutputError("inspect is not an object");
  const { relkind, type, cutoff } = info as Record<string, unknown>;
  if (typeof relkind !== "string" || typeof cutoff !== "string" || !CUTOFF.test(cutoff) || (type !== null && typeof type !== "string")) throw new UnreadableOutputError("inspect is not the object expected");
  if (relkind === "p") return { refused: `${t.schema}.${t.table} is a partitioned table: drop its old partitions instead of deleting rows` };
  if (relkind !== "r") return { refused: `${t.schema}.${t.table} is not a table (relkind ${JSON.stringify(relkind.slice(0, 1))})` };
  if (type === null) return { refused: `${t.schema}.${t.table} has no column ${t.column}; check \`column\`` };
  if (!PURGE_TYPES.test(type)) return { refused: `column ${t.column} is ${type.slice(0, 60)}, not a timestamp or date` };
  return { cutoff };
}

/** What a purge recorded: rows matched before the first batch, deleted in all, each batch's count (the first 1000), whether max_batches stopped it. */
export function purgeEvidence(framed: Framed, base: { database: string; table: string; column: string; olderThan: string; cutoff: string; batchSize: number; dryRun: boolean }) {
  const matched = single(framed, "matched");
  const perBatch = (framed.get("batch") ?? []).map((v) => count(v, "batch"));
  const ms = single(framed, "purge_ms");
  return {
    ...base,
    matched: matched === undefined ? null : count(matched, "matched"),
    deleted: perBatch.reduce((a, b) => a + b, 0),
    batches: perBatch.length,
    deletedPerBatch: perBatch.slice(0, 1000),
    stoppedAtMaxBatches: single(framed, "stopped") === "max_batches",
    durationMs: ms === undefined ? null : count(ms, "purge_ms"),
  };
}

/** The health report: database sizes, bloat estimate, longest transactions, unused indexes, each checked. @throws UnreadableOutputError. */
export function healthEvidence(framed: Framed) {
  const report = json(single(framed, "health"), "health");
  if (typeof report !== "object" || report === null || Array.isArray(report)) throw new UnreadableOutputError("health is not an object");
  const r = report as Record<string, unknown>;
  return {
    serverVersionNum: versionOf(framed),
    databases: records(r["databases"], "databases", { name: "name", bytes: "count" }) as Array<{ name: string; bytes: number }>,
    bloat: records(r["bloat"], "bloat", { schema: "name", table: "name", liveRows: "count", deadRows: "count", bytes: "count", estimatedBytes: "count" }),
    longestTransactions: records(r["longestTransactions"], "longestTransactions", { pid: "count", database: "name", user: "name", state: "name", seconds: "number" }) as Array<{ pid: number; seconds: number }>,
    unusedIndexes: records(r["unusedIndexes"], "unusedIndexes", { schema: "name", table: "name", index: "name", bytes: "count" }),
  };
}

