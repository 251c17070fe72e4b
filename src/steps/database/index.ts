import { parseDuration } from "../../core/duration.ts";
import type { Diagnostic } from "../../core/diagnostic.ts";
import { diagnosticAt } from "../../load/yaml-source.ts";
import type { DatabaseOperation, DatabaseStepFields } from "../../model/types.ts";
import type { StepKindModule } from "../types.ts";
import { noDependencies } from "../will-run.ts";
import { DEFAULT_BATCH_SIZE, scratchName, splitTable } from "./names.ts";

/**
 * `database`: routine care of one PostgreSQL database on the host — `dump`,
 * `restore-test`, `vacuum-analyze`, `reindex`, `purge` and `health` (README: Database
 * maintenance). Plans are made without connecting to any database, so the plan records
 * what the step will do, as one note for the reviewer; a purge's row count is taken at
 * apply time, read-only, before its first batch, and recorded in the results (a
 * `dry_run: true` purge records only that count).
 */

/** What the plan records for a database step on a host. */
export interface DatabaseDecision {
  operation: DatabaseOperation;
  database: string;
  /** One line for the reviewer: what the step will do. */
  note: string;
}

/** The fields each operation reads beside `operation`, `database` and `connection`; the first `required` must be set. */
const FIELDS: Readonly<Record<DatabaseOperation, { required: Array<keyof DatabaseStepFields>; optional: Array<keyof DatabaseStepFields> }>> = {
  dump: { required: ["path"], optional: [] },
  "restore-test": { required: ["dump"], optional: ["scratch_database", "compare"] },
  "vacuum-analyze": { required: [], optional: ["tables"] },
  reindex: { required: [], optional: ["tables"] },
  purge: { required: ["table", "column", "older_than"], optional: ["batch_size", "max_batches", "dry_run"] },
  health: { required: [], optional: [] },
};
const OPERATION_FIELDS: ReadonlyArray<keyof DatabaseStepFields> = ["path", "dump", "scratch_database", "compare", "tables", "table", "column", "older_than", "batch_size", "max_batches", "dry_run"];

export const kind: StepKindModule<"database">["kind"] = "database";
export const defaultTimeoutMs: StepKindModule<"database">["defaultTimeoutMs"] = 2 * 3_600_000;
/** No templates: every field reaches the host checked by its grammar and quoted, never rendered. */
export const templatedFields: StepKindModule<"database">["templatedFields"] = () => [];

/**
 * Rules beyond the schema: the fields an operation needs are set, fields of another
 * operation are refused (a `table` on a dump step would be silently ignored), a dump
 * path names a file, the scratch database is not the database itself, an age is more
 * than zero, and the client tools run either as `connection.os_user` or through
 * `become`, not both.
 */
export const validate: StepKindModule<"database">["validate"] = (step, { source, index }) => {
  const out: Diagnostic[] = [];
  const at = (field: string, rule: string, message: string, hint: string): void => {
    out.push(diagnosticAt(source, `/steps/${index}/${field}`, rule, message, { hint }));
  };
  const fields = FIELDS[step.operation];
  if (fields === undefined) return out;
  for (const field of fields.required) {
    if (step[field] === undefined) out.push(diagnosticAt(source, `/steps/${index}`, "database/missing-field", `a ${step.operation} step needs \`${field}\``, { hint: `add \`${field}:\` to the step` }));
  }
  for (const field of OPERATION_FIELDS) {
    if (step[field] === undefined || fields.required.includes(field) || fields.optional.includes(field)) continue;
    const owner = (Object.keys(FIELDS) as DatabaseOperation[]).filter((op) => FIELDS[op].required.includes(field) || FIELDS[op].optional.includes(field));
    at(field, "database/field-of-another-operation", `\`${field}\` is not read by a ${step.operation} step (it belongs to ${owner.join(", ")})`, "remove it, or change `operation`");
  }
  if (step.path !== undefined && step.path.endsWith("/")) at("path", "database/path-is-folder", "a dump path names a file, not a folder", "write the archive's file name, e.g. /var/backups/postgres/shop.dump");
  if (step.operation === "restore-test" && scratchName(step) === step.database) at("scratch_database", "database/scratch-is-source", "the scratch database cannot be the database under test: it is dropped after the test", "name another database, or leave it out for `<database>_steward_restore_test`");
  if (step.older_than !== undefined && parseDuration(step.older_than) === 0) at("older_than", "database/zero-age", "older_than must be more than zero: every row would be deleted", "write an age such as 90d");
  if (step.connection?.os_user !== undefined && step.become === true) at("become", "database/become-and-os-user", "a database step runs as `connection.os_user` or through `become`, not both", "keep `connection.os_user` for peer authentication and drop `become`");
  return out;
};

const tablesText = (tables: readonly string[] | undefined, database: string): string => (tables === undefined ? `database ${database}` : `${tables.map((t) => splitTable(t).join(".")).join(", ")} in ${database}`);

/** The reviewer's note of a database step: what it will do, nothing read from any host. */
export function databaseNote(step: DatabaseStepFields): string {
  switch (step.operation) {
    case "dump":
      return `pg_dump (custom format) of ${step.database} to ${step.path}, written to a temporary name and renamed; size and sha256 recorded`;
    case "restore-test":
      return `pg_restore of ${step.dump} into scratch database ${scratchName(step)}, per-table row counts${step.compare === "counts" ? "" : " and checksums"} compared with ${step.database}, then the scratch database dropped`;
    case "vacuum-analyze":
      return `VACUUM (ANALYZE) of ${tablesText(step.tables, step.database)}`;
    case "reindex":
      return `REINDEX of ${tablesText(step.tables, step.database)}, CONCURRENTLY when the server is PostgreSQL 12 or later`;
    case "purge": {
      const [schema, table] = splitTable(step.table ?? "");
      const what = `rows of ${schema}.${table} whose ${step.column} is older than ${step.older_than}`;
      if (step.dry_run === true) return `dry run: counts ${what}; deletes nothing`;
      return `deletes ${what}, in batches of ${step.batch_size ?? DEFAULT_BATCH_SIZE}${step.max_batches !== undefined ? ` (at most ${step.max_batches} batches)` : ""}; how many is counted at apply time, before the first batch, and recorded (plans never connect to a database: a dry_run step gives the count alone)`;
    }
    case "health":
      return `health report of the server (read-only): database sizes, bloat estimate, longest transactions, unused indexes`;
  }
}

export const plan: StepKindModule<"database">["plan"] = (step, index) => ({ step: step.name, index, kind: "database", operation: step.operation, database: step.database, note: databaseNote(step) });
export const dependsOn: StepKindModule<"database">["dependsOn"] = noDependencies;
export const render: StepKindModule<"database">["render"] = (action) => ({ notes: [`${action.step}: ${action.note}`] });
