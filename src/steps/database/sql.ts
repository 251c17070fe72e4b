/**
 * The SQL a database step sends, as constant text: nothing from a runbook or a host is
 * ever spliced into it. Values arrive as psql variables (`-v name=value`) and are
 * quoted by psql (`:'name'` a literal, `:"name"` an identifier); statements built from
 * names are built by the server with `format('%I', …)` for identifiers and `%L` for
 * literals, then run by psql's `\gexec` (PostgreSQL docs: psql, "SQL Interpolation"
 * and `\gexec`; `format()`). Every query returns one line: an integer, or `jsonb`
 * rendered as text (jsonb's text form never breaks lines, unlike json_agg's).
 */

export const SERVER_VERSION_NUM = "SELECT current_setting('server_version_num')";

/** 1 when the database named `:'s'` exists, else 0. */
export const DATABASE_EXISTS = "SELECT count(*) FROM pg_database WHERE datname = :'s'";

export const CREATE_SCRATCH = 'CREATE DATABASE :"s" TEMPLATE template0';
export const DROP_SCRATCH = 'DROP DATABASE IF EXISTS :"s"';

const USER_TABLES = "c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";

/**
 * Every user table with its row count and, with `:'mode'` = 'checksums', an md5 over
 * the md5 of every row's text form, sorted (independent of physical order, so a
 * restored copy matches its source). query_to_xml runs the per-table statement built
 * with format('%I') inside one query.
 */
export const TABLE_STATS = `SELECT coalesce(jsonb_agg(jsonb_build_object('schema', n.nspname, 'table', c.relname, 'rows', (xpath('/row/r/text()', x))[1]::text::bigint, 'checksum', coalesce((xpath('/row/s/text()', x))[1]::text, '')) ORDER BY n.nspname, c.relname), '[]'::jsonb)::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL query_to_xml(format(CASE WHEN :'mode' = 'checksums'
  THEN 'SELECT count(*) AS r, md5(coalesce(string_agg(md5(t::text), '''' ORDER BY md5(t::text)), '''')) AS s FROM %I.%I t'
  ELSE 'SELECT count(*) AS r FROM %I.%I t' END, n.nspname, c.relname), false, true, '') AS x
WHERE ${USER_TABLES}`;

export const DEAD_TUPLES = "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables";

export const VACUUM_DATABASE = "VACUUM (ANALYZE)";
export const VACUUM_TABLE = "SELECT format('VACUUM (ANALYZE) %I.%I', :'s', :'t') \\gexec";

/** REINDEX of the current database, CONCURRENTLY from PostgreSQL 12 on (server_version_num ≥ 120000; PostgreSQL docs: REINDEX). */
export const REINDEX_DATABASE = "SELECT format('REINDEX DATABASE %s%I', CASE WHEN current_setting('server_version_num')::int >= 120000 THEN 'CONCURRENTLY ' ELSE '' END, current_database()) \\gexec";
export const REINDEX_TABLE = "SELECT format('REINDEX TABLE %s%I.%I', CASE WHEN current_setting('server_version_num')::int >= 120000 THEN 'CONCURRENTLY ' ELSE '' END, :'s', :'t') \\gexec";

const INDEXES = "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";
export const INDEX_COUNT = `SELECT count(*) ${INDEXES}`;
/** Indexes left invalid (a failed CREATE/REINDEX CONCURRENTLY leaves `…_ccnew`): `schema.index` names. */
export const INVALID_INDEXES = `SELECT coalesce(jsonb_agg(n.nspname || '.' || c.relname ORDER BY n.nspname, c.relname), '[]'::jsonb)::text ${INDEXES} AND NOT i.indisvalid`;

/**
 * What a purge needs to know before it deletes: the table's kind, the column's type,
 * and the cutoff (now minus `:'age'` seconds) fixed once, in UTC, for every batch. No
 * row when the table does not exist.
 */
export const PURGE_INSPECT = `SELECT jsonb_build_object('relkind', c.relkind::text,
  'type', (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = :'c' AND a.attnum > 0 AND NOT a.attisdropped),
  'cutoff', to_char((now() - make_interval(secs => :'age'::bigint)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :'s' AND c.relname = :'t'`;

export const PURGE_COUNT = "SELECT format('SELECT count(*) FROM %I.%I WHERE %I < %L::timestamptz', :'s', :'t', :'c', :'cutoff') \\gexec";

/**
 * One bounded batch: the ctids of at most `:'batch'` rows older than the cutoff, then
 * those rows deleted (the age re-checked, in case a row was updated in between), in
 * one statement and so one transaction; prints how many were deleted.
 */
export const PURGE_BATCH =
  "SELECT format('WITH d AS (DELETE FROM %1$I.%2$I WHERE ctid = ANY (ARRAY(SELECT ctid FROM %1$I.%2$I WHERE %3$I < %4$L::timestamptz LIMIT %5$s)) AND %3$I < %4$L::timestamptz RETURNING 1) SELECT count(*) FROM d', :'s', :'t', :'c', :'cutoff', :'batch'::int) \\gexec";

/**
 * The health report: database sizes, a bloat estimate from dead tuples (n_dead_tup
 * share of a table's size: an estimate, cheap and lock-free, not pgstattuple's exact
 * count), the longest-running transactions (no query text: it may hold personal
 * data), and indexes never scanned since statistics were reset (unique and primary
 * keys excluded: they enforce constraints even unscanned).
 */
export const HEALTH = `SELECT jsonb_build_object(
 'databases', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', d.datname, 'bytes', pg_database_size(d.oid)) ORDER BY pg_database_size(d.oid) DESC, d.datname), '[]'::jsonb)
   FROM pg_database d WHERE d.datallowconn AND has_database_privilege(d.oid, 'CONNECT')),
 'bloat', (SELECT coalesce(jsonb_agg(b ORDER BY (b->>'estimatedBytes')::bigint DESC, b->>'schema', b->>'table'), '[]'::jsonb) FROM (
   SELECT jsonb_build_object('schema', s.schemaname, 'table', s.relname, 'liveRows', s.n_live_tup, 'deadRows', s.n_dead_tup, 'bytes', pg_table_size(s.relid),
     'estimatedBytes', CASE WHEN s.n_live_tup + s.n_dead_tup = 0 THEN 0 ELSE (pg_table_size(s.relid) * s.n_dead_tup / (s.n_live_tup + s.n_dead_tup))::bigint END) AS b
   FROM pg_stat_user_tables s ORDER BY s.n_dead_tup DESC, s.schemaname, s.relname LIMIT 10) t),
 'longestTransactions', (SELECT coalesce(jsonb_agg(a ORDER BY (a->>'seconds')::numeric DESC, (a->>'pid')::int), '[]'::jsonb) FROM (
   SELECT jsonb_build_object('pid', p.pid, 'database', coalesce(p.datname, ''), 'user', coalesce(p.usename, ''), 'state', coalesce(p.state, ''), 'seconds', round(extract(epoch FROM now() - p.xact_start)::numeric, 3)) AS a
   FROM pg_stat_activity p WHERE p.xact_start IS NOT NULL AND p.pid <> pg_backend_pid() ORDER BY p.xact_start LIMIT 5) t),
 'unusedIndexes', (SELECT coalesce(jsonb_agg(u ORDER BY (u->>'bytes')::bigint DESC, u->>'schema', u->>'index'), '[]'::jsonb) FROM (
   SELECT jsonb_build_object('schema', s.schemaname, 'table', s.relname, 'index', s.indexrelname, 'bytes', pg_relation_size(s.indexrelid)) AS u
   FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
   WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary ORDER BY pg_relation_size(s.indexrelid) DESC LIMIT 20) t)
)::text`;
