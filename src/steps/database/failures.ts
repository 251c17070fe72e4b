/**
 * Why a database script failed, in one phrase naming the case and how to fix it,
 * from libpq's and the server's messages (English: the scripts run with LC_ALL=C, and
 * the server's are matched by their stable wording, PostgreSQL's src/backend/libpq/
 * auth.c and the client's fe-connect.c), sudo's, and the scripts' own `steward:` lines.
 * Anything else is the last error line itself.
 */
import { plainLine } from "../../core/text.ts";
import { lastLine } from "../execute-helpers.ts";

interface Case {
  test: RegExp;
  say: (m: RegExpMatchArray, where: { database: string; role: string }) => string;
}

const CASES: readonly Case[] = [
  { test: /password authentication failed for user "([^"]{0,63})"/, say: (m) => `wrong password: the server refused the password of role ${m[1]} (password authentication failed); check the variable connection.password names` },
  { test: /fe_sendauth: no password supplied/, say: () => "the server asks for a password and none was given: set connection.password to { env: NAME }, or use peer authentication with connection.os_user" },
  { test: /Peer authentication failed for user "([^"]{0,63})"/, say: (m) => `peer authentication failed for role ${m[1]}: run the step as the OS user of that name (connection.os_user), or give connection.role and connection.password` },
  { test: /database "([^"]{0,63})" does not exist/, say: (m) => `database ${m[1]} does not exist on the server; check \`database\` (and connection.host/port: another server?)` },
  { test: /role "([^"]{0,63})" does not exist/, say: (m) => `role ${m[1]} does not exist on the server; check connection.role (or connection.os_user, whose name is the default role)` },
  { test: /no pg_hba\.conf entry for/, say: () => "the server's pg_hba.conf has no entry for this connection (host, role, database); ask the database administrator" },
  { test: /(could not connect to server|connection to server (on socket|at) .{0,300}? failed): (No such file or directory|Connection refused)/, say: () => "no PostgreSQL server is listening there: check connection.host and connection.port, and that the server runs" },
  { test: /relation "([^"]{0,200})" does not exist/, say: (m) => `table ${m[1]} does not exist in the database; check \`tables\`/\`table\`` },
  { test: /permission denied (for|to) ([^\n]{0,200})/, say: (m) => `permission denied ${m[1]} ${m[2]}: the role lacks the privilege; connect as the table's owner or a superuser` },
  { test: /must be owner of ([^\n]{0,200})/, say: (m) => `must be owner of ${m[1]}: connect as the owner or a superuser` },
  { test: /sudo: (a password is required|[^\n]{0,200}is not allowed to execute)/, say: () => "cannot run the client tools as connection.os_user: sudo -n refuses (give the login user passwordless sudo to that user, e.g. `steward ALL=(postgres) NOPASSWD: ALL`)" },
  { test: /sudo: unknown user:? ?([^\n]{0,40})/, say: (m) => `the OS user ${m[1]?.trim() ?? ""} does not exist on the host; check connection.os_user` },
  { test /* one of the scripts' own refusals */: /steward: ([^\n]{1,300})/, say: (m) => m[1] ?? "" },
  { test: /(psql|pg_dump|pg_restore|sh): [^\n]*not found/, say: () => "the PostgreSQL client tools (psql, pg_dump, pg_restore) are not installed on the host (Debian: postgresql-client)" },
];

/** One line saying why a database script failed, from its stderr and exit code. */
export function failureReason(stderr: string, exitCode: number | null, where: { database: string; role: string }): string {
  for (const c of CASES) {
    const m = stderr.match(c.test);
    if (m) return plainLine(c.say(m, where));
  }
  const line = lastLine(stderr);
  return plainLine(line !== "" ? `${line.slice(0, 300)} (exit ${exitCode ?? "signal"})` : `the script exited with ${exitCode ?? "a signal"} and printed no error`);
}
