/**
 * A real PostgreSQL cluster inside a sandbox host, for database steps to maintain:
 * Debian's server binaries (visible in every host, whose lowest layer is "/"), a data
 * folder on the host's own disk, owned by the host's `postgres` user, started with
 * pg_ctl inside the host's namespaces. It listens on a Unix socket in the host's /run
 * only (`listen_addresses = ''`): hosts share the machine's network stack, and no
 * TCP port may leak between them. pg_hba: `postgres` by peer authentication, every
 * other role by password (scram-sha-256), as a production server would be set up.
 *
 * The cluster lives in the host's PID namespace: `stopPostgres` stops it by the PID
 * its postmaster.pid records; `steward sandbox down` (and a host's reboot) ends it
 * with every other process of the host.
 */
import { spawn } from "node:child_process";
import { EnvironmentError } from "../core/errors.ts";
import { sandboxEnv, type RunResult } from "./exec.ts";
import { hostDir } from "./host.ts";
import { isOurs } from "./processes.ts";
import type { FleetState } from "./types.ts";

/** Where Debian's PostgreSQL 15 server binaries are. */
export const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";
/** The cluster's folders inside the host. */
export const POSTGRES_DATA = "/var/lib/postgresql/steward-sandbox";
export const POSTGRES_SOCKET_DIR = "/run/postgresql";
export const POSTGRES_PORT = 5432;

/** A started cluster. */
export interface PostgresCluster {
  host: string;
  /** The postmaster's PID inside the host (first line of postmaster.pid). */
  pid: number;
  socketDir: string;
  port: number;
  dataDir: string;
}

/**
 * Runs a command as root inside a running host with `stdin` on its standard input:
 * SQL with passwords goes this way, never on a command line.
 */
export async function runInHost(state: FleetState, name: string, argv: readonly string[], stdin = ""): Promise<RunResult> {
  const host = state.hosts.find((h) => h.name === name);
  if (host === undefined || !(await isOurs(host.initPid, hostDir(state.dir, name)))) throw new EnvironmentError(`sandbox host ${name} is not running`, "start the fleet with 'steward sandbox up'");
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", ["--target", String(host.initPid), "--mount", "--uts", "--ipc", "--pid", "--root", "--wd", ...argv], { env: sandboxEnv(), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", (error) => reject(new EnvironmentError(`cannot run nsenter: ${error.message}`)));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const SETUP = `set -eu
B=${POSTGRES_BIN}
D=${POSTGRES_DATA}
mkdir -p "$D" ${POSTGRES_SOCKET_DIR}
chown postgres:postgres "$D" ${POSTGRES_SOCKET_DIR}
chmod 700 "$D"
chmod 2775 ${POSTGRES_SOCKET_DIR}
if [ ! -f "$D/PG_VERSION" ]; then
  runuser -u postgres -- "$B/initdb" --pgdata="$D" --username=postgres --encoding=UTF8 --locale=C.UTF-8 --wal-segsize=1 --no-sync --auth-local=peer --auth-host=scram-sha-256 > /dev/null
  cat >> "$D/postgresql.conf" <<'CONF'
listen_addresses = ''
unix_socket_directories = '${POSTGRES_SOCKET_DIR}'
port = ${POSTGRES_PORT}
max_connections = 30
shared_buffers = 16MB
min_wal_size = 4MB
max_wal_size = 32MB
CONF
  printf 'local all postgres peer\\nlocal all all scram-sha-256\\n' > "$D/pg_hba.conf"
fi
runuser -u postgres -- "$B/pg_ctl" --pgdata="$D" --log="$D/server.log" --wait --timeout=60 start > /dev/null
head -n 1 "$D/postmaster.pid"
`;

/**
 * Creates (first time) and starts the cluster in a host and waits until it accepts
 * connections. Idempotent on a running host's data folder: a second call starts the
 * same cluster again after a reboot.
 * @throws EnvironmentError with the server's log tail when it does not start.
 */
export async function startPostgres(state: FleetState, name: string): Promise<PostgresCluster> {
  const result = await runInHost(state, name, ["sh", "-s"], SETUP);
  const pid = Number(result.stdout.trim());
  if (result.code !== 0 || !Number.isInteger(pid) || pid <= 0) {
    const log = await runInHost(state, name, ["tail", "-n", "8", `${POSTGRES_DATA}/server.log`]).catch(() => undefined);
    throw new EnvironmentError(`PostgreSQL did not start on ${name}: ${result.stderr.trim().split("\n").slice(-4).join(" ")}${log?.stdout ? `\n${log.stdout}` : ""}`);
  }
  return { host: name, pid, socketDir: POSTGRES_SOCKET_DIR, port: POSTGRES_PORT, dataDir: POSTGRES_DATA };
}

/**
 * Runs SQL as the `postgres` superuser (peer authentication) in a host's cluster, the
 * SQL on standard input; returns psql's unaligned, tuples-only output.
 * @throws EnvironmentError with psql's error when it fails.
 */
export async function postgresSql(state: FleetState, name: string, sql: string, database = "postgres"): Promise<string> {
  const result = await runInHost(state, name, ["runuser", "-u", "postgres", "--", "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", POSTGRES_SOCKET_DIR, "-p", String(POSTGRES_PORT), "-d", database], sql);
  if (result.code !== 0) throw new EnvironmentError(`SQL on ${name} failed: ${result.stderr.trim().split("\n").slice(-3).join(" ")}`);
  return result.stdout;
}

/** Stops the cluster by the PID its postmaster.pid records (SIGINT: PostgreSQL's fast shutdown), waiting up to 30 s. Safe when it is not running. */
export async function stopPostgres(state: FleetState, name: string): Promise<void> {
  const script = `D=${POSTGRES_DATA}
[ -f "$D/postmaster.pid" ] || exit 0
pid=$(head -n 1 "$D/postmaster.pid")
case $pid in '' | *[!0-9]*) exit 0 ;; esac
kill -INT "$pid" 2> /dev/null || exit 0
i=0; while kill -0 "$pid" 2> /dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
! kill -0 "$pid" 2> /dev/null`;
  const result = await runInHost(state, name, ["sh", "-s"], script);
  if (result.code !== 0) throw new EnvironmentError(`PostgreSQL on ${name} did not stop within 30 s`);
}
