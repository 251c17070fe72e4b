/**
 * The names a database step sends to a host, and their grammars. The runbook schema
 * enforces the same grammars where a step is written; they are checked again here,
 * right before a name reaches a shell or SQL, because that is the line of defence that
 * matters. Every name is also quoted twice over: shell-quoted as a word, and quoted as
 * an identifier by the server itself (`format('%I')`, psql's `:"name"`), so a grammar
 * slip would still not be SQL.
 */
import { StewardError } from "../../core/errors.ts";
import type { DatabaseStepFields } from "../../model/types.ts";

/** Rows a purge deletes per statement when the step sets no `batch_size`. */
export const DEFAULT_BATCH_SIZE = 1000;

/** PostgreSQL identifiers steward writes: letters, digits, `_`; at most 63 bytes (NAMEDATALEN − 1, PostgreSQL docs §4.1.1). */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Database and role names also allow `-` (common in names such as `shop-api`); never `=`, which would make libpq read a connection string. */
export const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
/** POSIX portable user names (useradd's default rule). */
export const OS_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * A name checked against its grammar.
 * @throws StewardError "invalid-input" naming the field when it does not match.
 */
export function checked(value: string, grammar: RegExp, field: string): string {
  if (!grammar.test(value)) throw new StewardError("invalid-input", `${field} ${JSON.stringify(value)} is not a valid name here`, "fix the runbook: see README, Database maintenance");
  return value;
}

/** `schema.table` or `table` as [schema, table], `public` when no schema is written. */
export function splitTable(name: string): [string, string] {
  const dot = name.indexOf(".");
  return dot < 0 ? ["public", name] : [name.slice(0, dot), name.slice(dot + 1)];
}

/** A table name split and both parts checked. @throws StewardError "invalid-input". */
export function checkedTable(name: string, field: string): [string, string] {
  const [schema, table] = splitTable(name);
  return [checked(schema, IDENTIFIER, `${field} (schema)`), checked(table, IDENTIFIER, field)];
}

/** The scratch database of a restore test: the step's, else `<database>_steward_restore_test` cut to 63 characters. */
export function scratchName(step: Pick<DatabaseStepFields, "database" | "scratch_database">): string {
  return step.scratch_database ?? `${step.database.slice(0, 63 - "_steward_restore_test".length)}_steward_restore_test`;
}
