/**
 * The `database` step on a host: one script per round trip (scripts.ts), its result
 * lines read strictly (parse.ts), its failures named (failures.ts), and the evidence
 * recorded in the step's result: sizes, digests, durations, counts, mismatches.
 *
 * The password: `connection.password` is `{ env: NAME }`. The run's secrets service
 * has registered its value for redaction before anything connected (it reads every
 * `{ env: … }` of every step), and the executor reads it only through that service
 * (`StepContext.secret`), never from the process environment. It reaches the host inside the script
 * on the channel's standard input and PGPASSWORD in the tools' environment, never on a
 * command line.
 */
import { randomBytes } from "node:crypto";
import type { StepContext, StepExecutor, StepOutcome, StepResult } from "../../apply/types.ts";
import { parseDuration } from "../../core/duration.ts";
import { becomePrefix } from "../../transport/shell.ts";
import type { ExecResult } from "../../transport/types.ts";
import { guarded, outputOf, type StepClock } from "../execute-helpers.ts";
import type { StepOf } from "../types.ts";
import { failureReason } from "./failures.ts";
import { checked, checkedTable, DATABASE_NAME, DEFAULT_BATCH_SIZE, OS_USER, scratchName } from "./names.ts";
import { framedLines, single, type Framed } from "./parse.ts";
import { UnreadableOutputError } from "./parse.ts";
import { dumpEvidence, healthEvidence, purgeEvidence, purgeTarget, reindexEvidence, restoreEvidence, vacuumEvidence } from "./evidence.ts";
import * as scripts from "./scripts.ts";
import type { ConnectionEnv } from "./scripts.ts";

type DatabaseStep = StepOf<"database">;

/** One finished script: its exec result and its result lines. */
interface Ran {
  result: ExecResult;
  framed: Framed;
}

/** A failure the step reports as such (a missing password, a refused value, an unreadable result). */
class StepFailure extends Error {}

function connectionOf(step: DatabaseStep, env: NodeJS.ProcessEnv): ConnectionEnv {
  const c = step.connection ?? {};
  let password: string | undefined;
  if (c.password !== undefined) {
    password = env[c.password.env];
    if (password === undefined || password === "") throw new StepFailure(`connection.password: the environment variable ${c.password.env} is not set; set it (your CI's secret store) and run again`);
  }
  return {
    database: checked(step.database, DATABASE_NAME, "database"),
    ...(c.host !== undefined ? { host: c.host } : {}),
    ...(c.port !== undefined ? { port: c.port } : {}),
    ...(c.role !== undefined ? { role: checked(c.role, DATABASE_NAME, "connection.role") } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/** Runs one script on the host as the step says: as connection.os_user (sudo -n -u), through become, or as the login user. */
async function runScript(ctx: StepContext, step: DatabaseStep, env: NodeJS.ProcessEnv, body: string, what: string): Promise<Ran> {
  const nonce = randomBytes(12).toString("hex");
  const osUser = step.connection?.os_user;
  const command = osUser === undefined ? "/bin/sh -s" : `${becomePrefix({ method: "sudo", user: checked(osUser, OS_USER, "connection.os_user") })} /bin/sh -s`;
  const script = `${scripts.prelude(connectionOf(step, env), nonce)}${body.replaceAll("${NONCE}", nonce)}\n`;
  const result = await ctx.session.exec(command, { stdin: script, become: osUser === undefined && step.become === true, check: false, label: `${what} of ${step.name}`, timeoutMs: ctx.timeoutMs });
  return { result, framed: framedLines(result.stdout, nonce) };
}

const who = (step: DatabaseStep): { database: string; role: string } => ({ database: step.database, role: step.connection?.role ?? step.connection?.os_user ?? "(login user)" });

/** The failed result of a script that exited non-zero, with the case named. */
function failedRun(clock: StepClock, step: DatabaseStep, ran: Ran, evidence?: Record<string, unknown>): StepResult {
  return clock.finish("failed", `${step.operation} of ${step.database}: ${failureReason(ran.result.stderr, ran.result.exitCode, who(step))}`, { ...outputOf(ran.result), ...(evidence ? { evidence } : {}) });
}

async function dump(ctx: StepContext, clock: StepClock, step: DatabaseStep, env: NodeJS.ProcessEnv): Promise<StepResult> {
  const path = step.path as string;
  const ran = await runScript(ctx, step, env, scripts.dumpScript(path, "${NONCE}"), "pg_dump");
  if (ran.result.exitCode !== 0) return failedRun(clock, step, ran);
  const evidence = dumpEvidence(ran.framed, step.database, path);
  return clock.finish("changed", `dumped ${step.database} to ${path}: ${evidence.bytes} bytes, sha256 ${evidence.sha256.slice(0, 12)}…, in ${evidence.dumpMs} ms`, { ...outputOf(ran.result), evidence: { ...evidence } });
}

async function restoreTest(ctx: StepContext, clock: StepClock, step: DatabaseStep, env: NodeJS.ProcessEnv): Promise<StepResult> {
  const scratch = checked(scratchName(step), DATABASE_NAME, "scratch_database");
  const mode = step.compare ?? "checksums";
  const ran = await runScript(ctx, step, env, scripts.restoreTestScript(step.dump as string, scratch, mode, "${NONCE}"), "restore test");
  const dropped = single(ran.framed, "dropped") === "1";
  if (ran.result.exitCode !== 0) {
    const failed = failedRun(clock, step, ran, { database: step.database, dump: step.dump, scratch, scratchCreated: ran.framed.has("created"), scratchDropped: dropped });
    if (ran.framed.has("created") && !dropped) failed.detail += `; the scratch database ${scratch} was left behind: drop it by hand`;
    return failed;
  }
  const evidence = restoreEvidence(ran.framed, { database: step.database, dump: step.dump as string, scratch, compare: mode, scratchDropped: dropped });
  const { mismatches } = evidence;
  if (!dropped) return clock.finish("failed", `restore test of ${step.database}: the scratch database ${scratch} was not dropped; drop it by hand`, { ...outputOf(ran.result), evidence: { ...evidence } });
  if (mismatches.length > 0) {
    const first = mismatches.slice(0, 3).map((m) => `${m.table}: ${m.problem}`).join("; ");
    return clock.finish("failed", `restore test of ${step.database}: ${evidence.mismatchCount} table(s) differ after restoring ${step.dump}: ${first}`, { ...outputOf(ran.result), evidence: { ...evidence } });
  }
  return clock.finish("unchanged", `restore test of ${step.database} passed: ${evidence.tables} tables, ${evidence.rows} rows, ${mode === "checksums" ? "counts and checksums" : "counts"} match; scratch database dropped`, { ...outputOf(ran.result), evidence: { ...evidence } });
}

const tablesOf = (step: DatabaseStep): Array<[string, string]> | undefined => step.tables?.map((t) => checkedTable(t, "tables"));

async function vacuum(ctx: StepContext, clock: StepClock, step: DatabaseStep, env: NodeJS.ProcessEnv): Promise<StepResult> {
  const ran = await runScript(ctx, step, env, scripts.vacuumScript(tablesOf(step)), "VACUUM (ANALYZE)");
  if (ran.result.exitCode !== 0) return failedRun(clock, step, ran);
  const evidence = vacuumEvidence(ran.framed, step.database, step.tables);
  return clock.finish("changed", `VACUUM (ANALYZE) of ${step.tables?.join(", ") ?? step.database} in ${evidence.durationMs} ms; dead tuples ${evidence.deadTuplesBefore} → ${evidence.deadTuplesAfter}`, { ...outputOf(ran.result), evidence: { ...evidence } });
}

async function reindex(ctx: StepContext, clock: StepClock, step: DatabaseStep, env: NodeJS.ProcessEnv): Promise<StepResult> {
  const ran = await runScript(ctx, step, env, scripts.reindexScript(tablesOf(step)), "REINDEX");
  if (ran.result.exitCode !== 0) return failedRun(clock, step, ran);
  const evidence = reindexEvidence(ran.framed, step.database, step.tables);
  const how = evidence.concurrently ? "REINDEX CONCURRENTLY" : "REINDEX (the server is older than PostgreSQL 12: tables were locked)";
  if (evidence.invalidIndexes.length > 0) return clock.finish("failed", `${how} of ${step.database} left invalid indexes: ${evidence.invalidIndexes.slice(0, 5).join(", ")}; drop them and reindex again`, { ...outputOf(ran.result), evidence: { ...evidence } });
  return clock.finish("changed", `${how} of ${step.tables?.join(", ") ?? step.database}: ${evidence.indexes} indexes in ${evidence.durationMs} ms`, { ...outputOf(ran.result), evidence: { ...evidence } });
}

async function purge(ctx: StepContext, clock: StepClock, step: DatabaseStep, env: NodeJS.ProcessEnv): Promise<StepResult> {
  const [schema, table] = checkedTable(step.table as string, "table");
  const column = checked(step.column as string, /^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "column");
  const ageMs = parseDuration(step.older_than as string);
  if (ageMs === undefined || ageMs <= 0) throw new StepFailure(`older_than ${JSON.stringify(step.older_than)} is not an age`);
  const inspected = await runScript(ctx, step, env, scripts.purgeInspectScript(schema, table, column, Math.floor(ageMs / 1000)), "purge inspection");
  if (inspected.result.exitCode !== 0) return failedRun(clock, step, inspected);
  const target = purgeTarget(inspected.framed, { schema, table, column });
  if ("refused" in target) return clock.finish("failed", `purge of ${schema}.${table} in ${step.database}: ${target.refused}`, outputOf(inspected.result));
  const batch = step.batch_size ?? DEFAULT_BATCH_SIZE;
  const dryRun = step.dry_run === true;
  const ran = await runScript(ctx, step, env, scripts.purgeScript({ schema, table, column, cutoff: target.cutoff }, batch, step.max_batches, dryRun), dryRun ? "purge count" : "purge");
  const evidence = purgeEvidence(ran.framed, { database: step.database, table: `${schema}.${table}`, column, olderThan: step.older_than as string, cutoff: target.cutoff, batchSize: batch, dryRun });
  if (ran.result.exitCode !== 0) {
    return clock.finish("failed", `purge of ${schema}.${table}: ${failureReason(ran.result.stderr, ran.result.exitCode, who(step))}; ${evidence.deleted} of ${evidence.matched ?? "?"} rows were deleted in ${evidence.batches} batch(es) before it stopped`, { ...outputOf(ran.result), evidence: { ...evidence } });
  }
  if (dryRun) return clock.finish("unchanged", `dry run: ${evidence.matched} rows of ${schema}.${table} have ${column} before ${target.cutoff} (older than ${step.older_than}); nothing deleted`, { ...outputOf(ran.result), evidence: { ...evidence } });
  const stopped = evidence.stoppedAtMaxBatches ? `; stopped after max_batches (${step.max_batches}), the rest is left for the next run` : "";
  return clock.finish(evidence.deleted > 0 ? "changed" : "unchanged", `purged ${evidence.deleted} of ${evidence.matched} rows of ${schema}.${table} older than ${step.older_than} (${column} before ${target.cutoff}) in ${evidence.batches} batch(es) of at most ${batch}${stopped}`, { ...outputOf(ran.result), evidence: { ...evidence } });
}

async function health(ctx: StepContext, clock: StepClock, step: DatabaseStep, env: NodeJS.ProcessEnv): Promise<StepResult> {
  const ran = await runScript(ctx, step, env, scripts.healthScript(), "health report");
  if (ran.result.exitCode !== 0) return failedRun(clock, step, ran);
  const evidence = healthEvidence(ran.framed);
  const biggest = evidence.databases[0];
  return clock.finish("unchanged", `health of the server: ${evidence.databases.length} databases${biggest ? ` (largest ${biggest.name}, ${biggest.bytes} bytes)` : ""}, ${evidence.unusedIndexes.length} unused indexes, longest transaction ${evidence.longestTransactions[0]?.seconds ?? 0} s`, { ...outputOf(ran.result), evidence: { ...evidence } });
}

const OPERATIONS = { dump, "restore-test": restoreTest, "vacuum-analyze": vacuum, reindex, purge, health } as const;

/**
 * The `database` executor: passwords only through the run's secrets service
 * (`StepContext.secret`); a step that names one where no service is given fails,
 * naming the variable.
 */
export const databaseExecutor: StepExecutor = {
  kind: "database",
  execute: (ctx) =>
    guarded(ctx, async (clock) => {
      const step = ctx.step as DatabaseStep;
      try {
        const secret = ctx.secret;
        const view: NodeJS.ProcessEnv = new Proxy({}, { get: (_t, key) => (typeof key === "string" && secret !== undefined ? secret(key) : undefined) });
        return await OPERATIONS[step.operation](ctx, clock, step, view);
      } catch (error) {
        if (error instanceof StepFailure) return clock.finish("failed", `${step.operation} of ${step.database}: ${error.message}`);
        if (error instanceof UnreadableOutputError) return clock.finish("failed", `${step.operation} of ${step.database}: the host's output cannot be read: ${error.message}`);
        throw error;
      }
    }),
  /**
   * After a crash every operation is safe to run again: a dump replaces its archive
   * atomically, a restore test drops its scratch database on exit (a leftover one
   * makes the next test refuse, by name), VACUUM, REINDEX and a purge converge.
   */
  rejudge: async (): Promise<StepOutcome> => "skipped",
};
