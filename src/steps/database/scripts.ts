/**
 * The shell scripts of database steps. Each is sent on standard input to `/bin/sh -s`
 * (as `connection.os_user` through `sudo -n -u` when set), never on a command line:
 * the password travels inside the script, as `PGPASSWORD` exported to the client
 * tools' environment (libpq, PostgreSQL docs §34.15), so `ps` never shows it. SQL is
 * the constant text of sql.ts in here-documents with a quoted delimiter (the shell
 * expands nothing in them); every other value is checked by its grammar and
 * shell-quoted. Results come back as `@@<nonce> <key> <value>` lines, the nonce
 * random per run, so a line a tool prints cannot pass for a result.
 */
import { dirname, basename } from "node:path/posix";
import { shellQuote } from "../../transport/shell.ts";
import * as sql from "./sql.ts";

/** How the client tools reach the server: libpq's environment variables (PostgreSQL docs §34.15). */
export interface ConnectionEnv {
  host?: string;
  port?: number;
  role?: string;
  password?: string;
  database: string;
}

/**
 * The start of every script: a fixed locale (libpq's messages in English, so errors
 * can be recognised), files created private (`umask 077`: a dump holds the data), UTC
 * for timestamps without a zone, the connection variables, and helpers: `q` runs
 * psql unaligned, tuples only, quiet, without ~/.psqlrc, stopping at the first error,
 * never prompting; `emit` prints one result line; `ms` is a clock in milliseconds.
 */
export function prelude(conn: ConnectionEnv, nonce: string): string {
  const lines = [
    "set -u",
    "umask 077",
    "LC_ALL=C; export LC_ALL",
    "PGAPPNAME=steward; PGCONNECT_TIMEOUT=10; PGTZ=UTC; export PGAPPNAME PGCONNECT_TIMEOUT PGTZ",
    `PGDATABASE=${shellQuote(conn.database)}; export PGDATABASE`,
    conn.host !== undefined ? `PGHOST=${shellQuote(conn.host)}; export PGHOST` : "",
    conn.port !== undefined ? `PGPORT=${conn.port}; export PGPORT` : "",
    conn.role !== undefined ? `PGUSER=${shellQuote(conn.role)}; export PGUSER` : "",
    conn.password !== undefined ? `PGPASSWORD=${shellQuote(conn.password)}; export PGPASSWORD` : "unset PGPASSWORD",
    `N=${nonce}`,
    'q() { psql -X -A -t -q -v ON_ERROR_STOP=1 --no-password "$@"; }',
    "emit() { printf '@@%s %s %s\\n' \"$N\" \"$1\" \"$2\"; }",
    "ms() { date +%s%3N; }",
    "is_count() { case $1 in '' | *[!0-9]*) echo \"steward: psql printed no count: $1\" >&2; exit 70 ;; esac; }",
  ];
  return `${lines.filter((l) => l !== "").join("\n")}\n`;
}

/** `psql` reading `query` from a here-document, with `-v name=value` variables (names from this module, values shell-quoted). */
function psql(query: string, vars: Record<string, string | number> = {}, after = ""): string {
  const args = Object.entries(vars).map(([k, v]) => ` -v ${k}=${shellQuote(String(v))}`);
  return `q${args.join("")} <<'STEWARD_SQL'${after}\n${query}\nSTEWARD_SQL`;
}

/** psql as a command of its own, the script ending with psql's status when it fails; `redirect` applies to its output. */
const must = (query: string, vars: Record<string, string | number> = {}, redirect = ""): string => psql(query, vars, `${redirect} || exit $?`);

/**
 * `var=$(sql_var | psql …) || exit $?`: the query's text printed by a function holding
 * the here-document (a here-document inside `$(…)` is parsed unreliably by dash when
 * the SQL holds quotes), the status of psql kept through the substitution.
 */
function capture(name: string, query: string, vars: Record<string, string | number> = {}, extra = ""): string {
  const args = Object.entries(vars).map(([k, v]) => ` -v ${k}=${shellQuote(String(v))}`);
  return `sql_${name}() { cat <<'STEWARD_SQL'\n${query}\nSTEWARD_SQL\n}\n${name}=$(sql_${name} | q${extra ? ` ${extra}` : ""}${args.join("")}) || exit $?`;
}

const version = (): string => `${capture("v", sql.SERVER_VERSION_NUM)}\nemit server_version_num "$v"`;

/**
 * dump: pg_dump's custom format into a temporary file beside `path` (same folder, so
 * the rename is atomic), flushed, renamed over `path`, the folder flushed; then its
 * size and sha256. The temporary file is removed when anything fails.
 */
export function dumpScript(path: string, nonce: string): string {
  const tmp = `${dirname(path)}/.${basename(path)}.steward-${nonce}.tmp`;
  return [
    version(),
    `trap 'rm -f -- ${shellQuote(tmp)}' EXIT`,
    "s=$(ms)",
    `pg_dump --format=custom --no-password --file=${shellQuote(tmp)} || exit $?`,
    "e=$(ms)",
    `sync -- ${shellQuote(tmp)} || exit $?`,
    `mv -f -- ${shellQuote(tmp)} ${shellQuote(path)} || exit $?`,
    "trap - EXIT",
    `sync -- ${shellQuote(dirname(path))} || exit $?`,
    'emit dump_ms "$((e - s))"',
    `emit bytes "$(stat -c %s -- ${shellQuote(path)})"`,
    `set -- $(sha256sum -- ${shellQuote(path)}) && emit sha256 "$1"`,
  ].join("\n");
}

/**
 * restore-test: refuses a scratch database that already exists (steward drops only
 * what it created), creates it, restores the archive into it (`--exit-on-error`,
 * without owners and privileges, which name roles the test need not have), reads the
 * table statistics of the source and of the copy, and drops the copy on every way out
 * (an EXIT trap), printing `dropped` only when the drop succeeded.
 */
export function restoreTestScript(dump: string, scratch: string, mode: "checksums" | "counts", nonce: string): string {
  const s = { s: scratch };
  return [
    version(),
    `test -r ${shellQuote(dump)} || { echo "steward: cannot read the archive ${dump.replace(/[^A-Za-z0-9_./-]/g, "?")}" >&2; exit 66; }`,
    capture("exists", sql.DATABASE_EXISTS, s),
    `is_count "$exists"`,
    `if [ "$exists" != 0 ]; then echo "steward: the scratch database ${scratch} already exists" >&2; exit 65; fi`,
    "created=0",
    `drop_scratch() { if [ "$created" = 1 ]; then ${psql(sql.DROP_SCRATCH, s, " && emit dropped 1")}\n  fi; }`,
    "trap 'st=$?; trap - EXIT; drop_scratch; exit $st' EXIT",
    must(sql.CREATE_SCRATCH, s),
    "created=1",
    "emit created 1",
    "t0=$(ms)",
    `pg_restore --no-owner --no-privileges --exit-on-error --no-password --dbname=${shellQuote(scratch)} ${shellQuote(dump)} || exit $?`,
    'emit restore_ms "$(($(ms) - t0))"',
    capture("src", sql.TABLE_STATS, { mode }),
    'emit source "$src"',
    capture("dst", sql.TABLE_STATS, { mode }, `--dbname=${shellQuote(scratch)}`),
    'emit restored "$dst"',
  ].join("\n");
}

/** vacuum-analyze: dead tuples before and after, VACUUM (ANALYZE) of the database or each table, its duration. */
export function vacuumScript(tables: ReadonlyArray<[string, string]> | undefined): string {
  const work = tables === undefined ? [must(sql.VACUUM_DATABASE)] : tables.map(([schema, table]) => must(sql.VACUUM_TABLE, { s: schema, t: table }));
  return [version(), capture("before", sql.DEAD_TUPLES), 'is_count "$before"', 'emit dead_before "$before"', "t0=$(ms)", ...work, 'emit vacuum_ms "$(($(ms) - t0))"', capture("after", sql.DEAD_TUPLES), 'is_count "$after"', 'emit dead_after "$after"'].join("\n");
}

/** reindex: the index count, REINDEX (CONCURRENTLY from PostgreSQL 12) of the database or each table, its duration, indexes left invalid. */
export function reindexScript(tables: ReadonlyArray<[string, string]> | undefined): string {
  const work = tables === undefined ? [must(sql.REINDEX_DATABASE, {}, " >/dev/null")] : tables.map(([schema, table]) => must(sql.REINDEX_TABLE, { s: schema, t: table }, " >/dev/null"));
  return [version(), capture("n", sql.INDEX_COUNT), 'is_count "$n"', 'emit indexes "$n"', "t0=$(ms)", ...work, 'emit reindex_ms "$(($(ms) - t0))"', capture("bad", sql.INVALID_INDEXES), 'emit invalid "$bad"'].join("\n");
}

/** purge, first round trip (read-only): the table's kind, the column's type and the cutoff, as one JSON line (none when the table does not exist). */
export function purgeInspectScript(schema: string, table: string, column: string, ageSeconds: number): string {
  return [version(), capture("info", sql.PURGE_INSPECT, { s: schema, t: table, c: column, age: ageSeconds }), 'emit inspect "$info"'].join("\n");
}

/**
 * purge, second round trip: the rows older than the cutoff counted, then (unless a
 * dry run) deleted in batches of `batch` rows, one statement (one transaction, one
 * connection) each, until a batch deletes fewer than `batch` or `maxBatches` ran.
 * Each batch prints its count as it is committed.
 */
export function purgeScript(target: { schema: string; table: string; column: string; cutoff: string }, batch: number, maxBatches: number | undefined, dryRun: boolean): string {
  const vars = { s: target.schema, t: target.table, c: target.column, cutoff: target.cutoff };
  const lines = [capture("matched", sql.PURGE_COUNT, vars), 'is_count "$matched"', 'emit matched "$matched"'];
  if (dryRun) return lines.join("\n");
  return [
    ...lines,
    "batches=0",
    "t0=$(ms)",
    "while :; do",
    maxBatches !== undefined ? `  if [ "$batches" -ge ${maxBatches} ]; then emit stopped max_batches; break; fi` : "",
    `  ${capture("n", sql.PURGE_BATCH, { ...vars, batch })}`,
    '  is_count "$n"',
    "  batches=$((batches + 1))",
    '  emit batch "$n"',
    `  [ "$n" -lt ${batch} ] && break`,
    "done",
    'emit purge_ms "$(($(ms) - t0))"',
  ]
    .filter((l) => l !== "")
    .join("\n");
}

/** health: the server's version and the health report as one JSON line. */
export function healthScript(): string {
  return [version(), capture("h", sql.HEALTH), 'emit health "$h"'].join("\n");
}
