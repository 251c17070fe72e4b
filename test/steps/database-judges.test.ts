import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { compareTables, healthEvidence, purgeEvidence, purgeTarget, type TableStats } from "../../src/steps/database/evidence.ts";
import { failureReason } from "../../src/steps/database/failures.ts";
import { databaseNote } from "../../src/steps/database/index.ts";
import { checkedTable, scratchName } from "../../src/steps/database/names.ts";
import { count, framedLines, json, UnreadableOutputError } from "../../src/steps/database/parse.ts";
import * as scripts from "../../src/steps/database/scripts.ts";

/**
 * The pure halves of the database step: scripts that the shell parses, result lines
 * read strictly, restore comparisons, purge refusals and libpq's failures named. The
 * messages are PostgreSQL 15's and libpq's as captured from the sandbox cluster
 * (test/steps/database-fleet.test.ts runs them for real).
 */

const WHO = { database: "shop", role: "shop" };

describe("database scripts", () => {
  const all = [
    scripts.dumpScript("/var/backups/it's here/shop.dump", "n0nce"),
    scripts.restoreTestScript("/var/backups/shop.dump", "shop_scratch", "checksums", "n0nce"),
    scripts.vacuumScript(undefined),
    scripts.vacuumScript([["public", "events"]]),
    scripts.reindexScript([["public", "events"]]),
    scripts.purgeInspectScript("public", "events", "created_at", 7_776_000),
    scripts.purgeScript({ schema: "public", table: "events", column: "created_at", cutoff: "2026-01-01T00:00:00.000000Z" }, 1000, 5, false),
    scripts.purgeScript({ schema: "public", table: "events", column: "created_at", cutoff: "2026-01-01T00:00:00.000000Z" }, 1000, undefined, true),
    scripts.healthScript(),
  ];

  it("are valid POSIX shell (dash parses every one)", () => {
    for (const body of all) execFileSync("dash", ["-n"], { input: scripts.prelude({ database: "shop", role: "shop", password: "pa'ss $(x) `y`", host: "/run/postgresql", port: 5432 }, "n0nce") + body });
  });

  it("carry the password only as a quoted assignment inside the script", () => {
    const prelude = scripts.prelude({ database: "shop", password: "pa'ss $(touch /tmp/x)" }, "n");
    expect(prelude).toContain(`PGPASSWORD='pa'\\''ss $(touch /tmp/x)'; export PGPASSWORD`);
    expect(scripts.prelude({ database: "shop" }, "n")).toContain("unset PGPASSWORD");
  });

  it("never splice a name into SQL: names go in as psql variables, shell-quoted", () => {
    const purge = scripts.purgeScript({ schema: "public", table: "events", column: "created_at", cutoff: "2026-01-01T00:00:00.000000Z" }, 500, undefined, false);
    expect(purge).toContain("-v s=public -v t=events -v c=created_at -v cutoff=2026-01-01T00:00:00.000000Z -v batch=500");
    expect(purge).toContain("%1$I.%2$I");
    expect(purge).not.toMatch(/DELETE FROM events/);
  });

  it("names the temporary dump file beside the archive, so the rename is atomic", () => {
    expect(scripts.dumpScript("/srv/db/shop.dump", "abc")).toContain("--file=/srv/db/.shop.dump.steward-abc.tmp");
  });
});

describe("reading results", () => {
  it("takes only lines framed by the nonce", () => {
    const framed = framedLines("@@abc bytes 12\nnoise @@abc bytes 13\n@@xyz bytes 14\n@@abc batch 5\n@@abc batch 0\n", "abc");
    expect([...framed]).toEqual([
      ["bytes", ["12"]],
      ["batch", ["5", "0"]],
    ]);
  });

  it("refuses counts and JSON that break their grammar", () => {
    expect(count("2500", "matched")).toBe(2500);
    for (const bad of ["-1", "1e3", " 12", "99999999999999999", ""]) expect(() => count(bad, "matched")).toThrow(UnreadableOutputError);
    expect(() => json('{"a":1,"a":2}', "health")).toThrow(/repeated key/);
    expect(() => json("[".repeat(20), "health")).toThrow(/nested too deep/);
  });

  it("makes server names one plain line and checks every member of the health report", () => {
    const health = JSON.stringify({ databases: [{ name: "shop\u001b[31m\nx", bytes: 7 }], bloat: [], longestTransactions: [{ pid: 9, database: "shop", user: "u", state: "idle in transaction", seconds: 1.5 }], unusedIndexes: [] });
    const evidence = healthEvidence(framedLines(`@@n server_version_num 150010\n@@n health ${health}\n`, "n"));
    expect(evidence.databases).toEqual([{ name: "shop x", bytes: 7 }]);
    expect(() => healthEvidence(framedLines(`@@n server_version_num 150010\n@@n health ${health.replace('"bytes":7', '"bytes":"7"')}\n`, "n"))).toThrow(/databases\[0\]\.bytes is not a count/);
  });

  it("counts a purge's batches and rows as they were committed", () => {
    const e = purgeEvidence(framedLines("@@n matched 2500\n@@n batch 1000\n@@n batch 1000\n@@n batch 500\n@@n purge_ms 40\n", "n"), { database: "shop", table: "public.events", column: "created_at", olderThan: "90d", cutoff: "c", batchSize: 1000, dryRun: false });
    expect(e).toMatchObject({ matched: 2500, deleted: 2500, batches: 3, deletedPerBatch: [1000, 1000, 500], stoppedAtMaxBatches: false, durationMs: 40 });
  });
});

describe("restore comparison", () => {
  const t = (table: string, rows: number, checksum = "0".repeat(32)): TableStats => ({ schema: "public", table, rows, checksum });
  it("names every table that differs, and how", () => {
    expect(compareTables([t("a", 3), t("b", 2), t("c", 1, "1".repeat(32))], [t("a", 3), t("b", 1), t("c", 1), t("d", 0)])).toEqual([
      { table: "public.b", problem: "1 rows restored, 2 in the source" },
      { table: "public.c", problem: "same row count (1), different contents (checksum 00000000… vs 11111111…)" },
      { table: "public.d", problem: "in the restored copy but not in the source" },
    ]);
    expect(compareTables([t("a", 3)], [])).toEqual([{ table: "public.a", problem: "missing from the restored copy" }]);
    expect(compareTables([t("a", 3)], [t("a", 3)])).toEqual([]);
  });
});

describe("purge inspection", () => {
  const inspect = (info: unknown): ReturnType<typeof purgeTarget> => purgeTarget(framedLines(`@@n server_version_num 150010\n@@n inspect ${info === "" ? "" : JSON.stringify(info)}\n`, "n"), { schema: "public", table: "events", column: "created_at" });
  const cutoff = "2026-01-01T00:00:00.000000Z";
  it("binds the server's cutoff for a plain table with a timestamp column", () => {
    expect(inspect({ relkind: "r", type: "timestamp with time zone", cutoff })).toEqual({ cutoff });
    expect(inspect({ relkind: "r", type: "date", cutoff })).toEqual({ cutoff });
  });
  it("refuses what it cannot purge safely, naming why", () => {
    expect(inspect("")).toEqual({ refused: "there is no table public.events; check `table`" });
    expect(inspect({ relkind: "p", type: "date", cutoff })).toEqual({ refused: "public.events is a partitioned table: drop its old partitions instead of deleting rows" });
    expect(inspect({ relkind: "v", type: "date", cutoff })).toMatchObject({ refused: expect.stringContaining("is not a table") });
    expect(inspect({ relkind: "r", type: null, cutoff })).toEqual({ refused: "public.events has no column created_at; check `column`" });
    expect(inspect({ relkind: "r", type: "text", cutoff })).toEqual({ refused: "column created_at is text, not a timestamp or date" });
    expect(() => inspect({ relkind: "r", type: "date", cutoff: "now(); DROP" })).toThrow(UnreadableOutputError);
  });
});

describe("failures", () => {
  it("names libpq's and the server's cases", () => {
    expect(failureReason('psql: error: connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed: FATAL:  password authentication failed for user "shop"\n', 2, WHO)).toMatch(/^wrong password: the server refused the password of role shop/);
    expect(failureReason('psql: error: connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed: FATAL:  database "nosuch" does not exist\n', 2, WHO)).toMatch(/^database nosuch does not exist on the server/);
    expect(failureReason('psql: error: connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed: No such file or directory\n\tIs the server running locally and accepting connections on that socket?\n', 2, WHO)).toMatch(/^no PostgreSQL server is listening there/);
    expect(failureReason('psql: error: connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed: FATAL:  Peer authentication failed for user "shop"\n', 2, WHO)).toMatch(/^peer authentication failed for role shop/);
    expect(failureReason("sudo: a password is required\n", 1, WHO)).toMatch(/sudo -n refuses/);
    expect(failureReason("steward: the scratch database shop_scratch already exists\n", 65, WHO)).toBe("the scratch database shop_scratch already exists");
    expect(failureReason("something else\u001b[2J\n", 3, WHO)).toBe("something else (exit 3)");
  });
});

describe("names and notes", () => {
  it("splits and checks table names, defaulting the schema", () => {
    expect(checkedTable("events", "table")).toEqual(["public", "events"]);
    expect(checkedTable("audit.log_2024", "table")).toEqual(["audit", "log_2024"]);
    expect(() => checkedTable('events"; DROP TABLE x; --', "table")).toThrow(/not a valid name/);
  });
  it("names the scratch database after the source, within 63 characters", () => {
    expect(scratchName({ database: "shop" })).toBe("shop_steward_restore_test");
    expect(scratchName({ database: "d".repeat(63) }).length).toBe(63);
  });
  it("says in the plan that a purge is counted at apply time", () => {
    expect(databaseNote({ operation: "purge", database: "shop", table: "events", column: "created_at", older_than: "90d" })).toBe(
      "deletes rows of public.events whose created_at is older than 90d, in batches of 1000; how many is counted at apply time, before the first batch, and recorded (plans never connect to a database: a dry_run step gives the count alone)",
    );
  });
});
