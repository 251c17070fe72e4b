import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunSecrets } from "../../src/core/secrets.ts";
import type { HostResult, StepResult } from "../../src/apply/types.ts";
import type { Inventory, Runbook } from "../../src/model/types.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { postgresSql, startPostgres, stopPostgres } from "../../src/sandbox/postgres.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { Transport } from "../../src/transport/types.ts";
import { applyHost, planNow, RecordingJournal, repository } from "../apply/fleet-helpers.ts";

/**
 * Database steps applied by the host runner to a real PostgreSQL 15 cluster inside a
 * sandbox host, from plans the real planner made: a dump and a restore test whose
 * counts and checksums match (and then do not, once the source moved), a purge that
 * deletes exactly the old rows in counted batches, VACUUM and REINDEX recorded, a
 * health report, and a wrong password and a missing database reported as such. The
 * password never appears in results, nor in any process's command line on the host.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 186;
const PROJECT = resolve(import.meta.dirname, "../..");
const PASSWORD = "s3cret-shop-password-186";
const WRONG = "not-the-shop-password";

const CONN_PASSWORD = "connection: { role: shop, host: /run/postgresql, port: 5432, password: { env: SHOP_DB_PASSWORD } }";
const CONN_PEER = "connection: { os_user: postgres, host: /run/postgresql }";

const book = (name: string, steps: string): string => `name: ${name}\ntargets: sandbox-01\nsteps:\n${steps}`;

const MAINTENANCE = book(
  "db-maintenance",
  `  - kind: database
    name: dump shop
    operation: dump
    database: shop
    ${CONN_PEER}
    path: /var/backups/postgres/shop.dump
  - kind: database
    name: restore test
    operation: restore-test
    database: shop
    ${CONN_PEER}
    dump: /var/backups/postgres/shop.dump
  - kind: database
    name: count old events
    operation: purge
    database: shop
    ${CONN_PASSWORD}
    table: public.events
    column: created_at
    older_than: 90d
    dry_run: true
  - kind: database
    name: purge old events
    operation: purge
    database: shop
    ${CONN_PASSWORD}
    table: events
    column: created_at
    older_than: 90d
    batch_size: 1000
  - kind: database
    name: vacuum
    operation: vacuum-analyze
    database: shop
    ${CONN_PASSWORD}
  - kind: database
    name: reindex events
    operation: reindex
    database: shop
    ${CONN_PEER}
    tables: [events]
  - kind: database
    name: health
    operation: health
    database: shop
    ${CONN_PEER}
`,
);

describe("database steps on a real PostgreSQL cluster in a sandbox host", () => {
  let dir: string;
  let state: FleetState;
  let transport: Transport;
  let inventory: Inventory;
  let runbooks: Map<string, Runbook>;
  const secrets = new RunSecrets({ SHOP_DB_PASSWORD: PASSWORD, SHOP_WRONG_PASSWORD: WRONG });
  const sql = (text: string, db = "shop"): Promise<string> => postgresSql(state, "sandbox-01", text, db);
  const step = (r: HostResult, name: string): StepResult => r.steps.find((s) => s.step === name)!;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-database-")), "fleet");
    state = await upFleet({ dir, count: 1, subnet: SUBNET, hide: [PROJECT], diskSize: "512m" });
    await startPostgres(state, "sandbox-01");
    // The role's password goes in on psql's standard input, never on a command line.
    await sql(`CREATE ROLE shop LOGIN PASSWORD '${PASSWORD}'; CREATE DATABASE shop OWNER shop;`, "postgres");
    await sql(`SET ROLE shop;
      CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL, placed timestamptz NOT NULL DEFAULT now());
      INSERT INTO orders (item) SELECT 'item ' || g FROM generate_series(1, 300) g;
      CREATE TABLE events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, payload text);
      CREATE INDEX events_payload ON events (payload);
      INSERT INTO events (created_at, payload) SELECT now() - interval '120 days' - g * interval '1 minute', 'old ' || g FROM generate_series(1, 2500) g;
      INSERT INTO events (created_at, payload) SELECT now() - interval '10 days' + g * interval '1 minute', 'new ' || g FROM generate_series(1, 700) g;`);
    await execInHost(state, "sandbox-01", ["sh", "-c", "mkdir -p /var/backups/postgres && chown postgres:postgres /var/backups/postgres"]);
    ({ inventory, runbooks } = await repository(state, {
      "db-maintenance": MAINTENANCE,
      "db-wrong-password": book("db-wrong-password", `  - kind: database\n    name: health\n    operation: health\n    database: shop\n    connection: { role: shop, host: /run/postgresql, password: { env: SHOP_WRONG_PASSWORD } }\n`),
      "db-missing": book("db-missing", `  - kind: database\n    name: vacuum\n    operation: vacuum-analyze\n    database: nosuch\n    ${CONN_PEER}\n`),
      "db-restore-again": book("db-restore-again", `  - kind: database\n    name: restore test\n    operation: restore-test\n    database: shop\n    ${CONN_PEER}\n    dump: /var/backups/postgres/shop.dump\n`),
    }));
    secrets.registerRepository(inventory, [...runbooks.values()]);
    transport = createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 0, connectTimeoutMs: 5_000, redactor: secrets.redactor });
  });

  afterAll(async () => {
    await transport?.close();
    if (!dir) return;
    await stopPostgres(state, "sandbox-01").catch(() => undefined);
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("dumps, test-restores with matching counts, purges exactly the old rows in batches, vacuums, reindexes and reports health", async () => {
    const runbook = runbooks.get("db-maintenance")!;
    const { plan } = await planNow(transport, inventory, runbook);
    const actions = plan.hosts[0]!.actions;
    expect(actions[3]).toMatchObject({ kind: "database", operation: "purge", database: "shop" });
    expect((actions[3] as { note: string }).note).toContain("counted at apply time");

    // Watch every command line on the host while the steps run: the password must never be on one.
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const r = await execInHost(state, "sandbox-01", ["sh", "-c", "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done 2>/dev/null"]);
        for (const line of r.stdout.split("\n")) if (line.trim()) seen.add(line.trim());
      }
    })();
    const result = await applyHost(transport, inventory, runbook, plan, "sandbox-01", new RecordingJournal(), { secret: (v) => secrets.envSecret(v) });
    watching = false;
    await watcher;
    expect(result.outcome, JSON.stringify(result.steps.map((s) => `${s.step}: ${s.outcome} ${s.detail}`))).toBe("changed");

    const dump = step(result, "dump shop");
    expect(dump.outcome).toBe("changed");
    const sum = (await execInHost(state, "sandbox-01", ["sha256sum", "/var/backups/postgres/shop.dump"])).stdout.split(" ")[0];
    const size = (await execInHost(state, "sandbox-01", ["stat", "-c", "%s", "/var/backups/postgres/shop.dump"])).stdout.trim();
    expect(dump.evidence).toMatchObject({ path: "/var/backups/postgres/shop.dump", sha256: sum, bytes: Number(size), serverVersionNum: expect.any(Number) });
    expect((await execInHost(state, "sandbox-01", ["sh", "-c", "ls -a /var/backups/postgres"])).stdout.trim().split("\n").sort()).toEqual([".", "..", "shop.dump"]);

    const restore = step(result, "restore test");
    expect(restore.outcome, restore.detail).toBe("unchanged");
    expect(restore.evidence).toMatchObject({ tables: 2, rows: 3500, mismatchCount: 0, mismatches: [], scratchDropped: true, scratch: "shop_steward_restore_test" });
    expect(await sql("SELECT count(*) FROM pg_database WHERE datname = 'shop_steward_restore_test'", "postgres")).toBe("0\n");

    expect(step(result, "count old events")).toMatchObject({ outcome: "unchanged", evidence: { matched: 2500, deleted: 0, batches: 0, dryRun: true } });
    const purge = step(result, "purge old events");
    expect(purge.outcome, purge.detail).toBe("changed");
    expect(purge.evidence).toMatchObject({ matched: 2500, deleted: 2500, batches: 3, deletedPerBatch: [1000, 1000, 500], batchSize: 1000, table: "public.events" });
    expect(await sql("SELECT count(*) FILTER (WHERE created_at < now() - interval '90 days'), count(*) FROM events")).toBe("0|700\n");

    const vacuum = step(result, "vacuum");
    expect(vacuum.outcome).toBe("changed");
    expect(vacuum.evidence).toMatchObject({ tables: "all", durationMs: expect.any(Number), deadTuplesBefore: expect.any(Number), deadTuplesAfter: expect.any(Number) });
    expect((vacuum.evidence as { deadTuplesAfter: number }).deadTuplesAfter).toBeLessThan(2500);
    expect(await sql("SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'events'")).toBe("t\n");

    const reindex = step(result, "reindex events");
    expect(reindex.outcome, reindex.detail).toBe("changed");
    expect(reindex.evidence).toMatchObject({ concurrently: true, tables: ["events"], invalidIndexes: [], serverVersionNum: expect.any(Number) });
    expect(reindex.detail).toMatch(/^REINDEX CONCURRENTLY of events: \d+ indexes in \d+ ms$/);

    const health = step(result, "health");
    expect(health.outcome).toBe("unchanged");
    const report = health.evidence as { databases: Array<{ name: string; bytes: number }>; unusedIndexes: Array<{ index: string }>; bloat: unknown[]; longestTransactions: unknown[] };
    expect(report.databases.map((d) => d.name)).toContain("shop");
    expect(report.databases.every((d) => d.bytes > 0)).toBe(true);
    expect(report.unusedIndexes.map((i) => i.index)).toContain("events_payload");

    expect(JSON.stringify(result)).not.toContain(PASSWORD);
    expect([...seen].filter((l) => l.includes(PASSWORD))).toEqual([]);
    expect([...seen].some((l) => l.includes("psql"))).toBe(true);
  });

  it("a restore test of a source that moved since the dump reports which table differs, and still drops the scratch database", async () => {
    // Since the dump: the purge deleted old events, and one order was changed in place.
    await sql("UPDATE orders SET item = 'changed' WHERE id = 7");
    const runbook = runbooks.get("db-restore-again")!;
    const { plan } = await planNow(transport, inventory, runbook);
    const result = await applyHost(transport, inventory, runbook, plan, "sandbox-01", new RecordingJournal(), { secret: (v) => secrets.envSecret(v) });
    const restore = step(result, "restore test");
    expect(restore.outcome).toBe("failed");
    expect(restore.detail).toContain("2 table(s) differ");
    expect(restore.evidence).toMatchObject({
      scratchDropped: true,
      mismatches: [
        { table: "public.events", problem: "3200 rows restored, 700 in the source" },
        { table: "public.orders", problem: expect.stringMatching(/^same row count \(300\), different contents \(checksum [0-9a-f]{8}… vs [0-9a-f]{8}…\)$/) },
      ],
    });
    expect(await sql("SELECT count(*) FROM pg_database WHERE datname = 'shop_steward_restore_test'", "postgres")).toBe("0\n");
  });

  it("reports a wrong password and a missing database clearly, without the password", async () => {
    const wrong = runbooks.get("db-wrong-password")!;
    const r1 = await applyHost(transport, inventory, wrong, (await planNow(transport, inventory, wrong)).plan, "sandbox-01", new RecordingJournal(), { secret: (v) => secrets.envSecret(v) });
    expect(r1.outcome).toBe("failed");
    expect(r1.steps[0]!.detail).toBe("health of shop: wrong password: the server refused the password of role shop (password authentication failed); check the variable connection.password names");
    expect(JSON.stringify(r1)).not.toContain(WRONG);

    const missing = runbooks.get("db-missing")!;
    const r2 = await applyHost(transport, inventory, missing, (await planNow(transport, inventory, missing)).plan, "sandbox-01", new RecordingJournal(), { secret: (v) => secrets.envSecret(v) });
    expect(r2.outcome).toBe("failed");
    expect(r2.steps[0]!.detail).toBe("vacuum-analyze of nosuch: database nosuch does not exist on the server; check `database` (and connection.host/port: another server?)");
  });
});
