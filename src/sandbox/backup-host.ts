/**
 * A backup host for the sandbox fleet: the realistic layout, where hosts send restic
 * backups over SFTP to another machine. Set up inside the hosts (not in steward's
 * product code, which only runs restic):
 *   - on each client host, root gets a key of its own (/root/.ssh/id_backup) and an ssh
 *     client configuration naming the backup host `backup`, with its host key pinned
 *     (StrictHostKeyChecking yes, BatchMode yes): restic's sftp backend runs `ssh`, so a
 *     repository is simply `sftp:backup:/srv/restic/<host>`;
 *   - on the backup host, each client key may only run the SFTP server
 *     (`restrict,command="/usr/lib/openssh/sftp-server"` in steward's authorized_keys),
 *     and /srv/restic belongs to steward.
 */
import { EnvironmentError } from "../core/errors.ts";
import { execInHost } from "./faults.ts";
import type { FleetState } from "./types.ts";

/** Where client hosts keep their repositories on the backup host. */
export const BACKUP_ROOT = "/srv/restic";
/** The ssh alias of the backup host inside client hosts. */
export const BACKUP_ALIAS = "backup";

async function must(state: FleetState, host: string, script: string, what: string): Promise<string> {
  const r = await execInHost(state, host, ["sh", "-c", script]);
  if (r.code !== 0) throw new EnvironmentError(`sandbox backup host: ${what} on ${host} failed: ${r.stderr.trim().slice(0, 300)}`);
  return r.stdout;
}

/**
 * Makes `backupHost` the backup host of `clients`: see the module comment. Safe to repeat
 * (a client's key is made once). Runs as root inside the hosts (nsenter), not over SSH.
 * @throws EnvironmentError naming the host and the step that failed.
 */
export async function setupBackupHost(state: FleetState, backupHost: string, clients: readonly string[]): Promise<void> {
  const server = state.hosts.find((h) => h.name === backupHost);
  if (server === undefined) throw new EnvironmentError(`sandbox backup host: no host ${backupHost} in the fleet`);
  await must(state, backupHost, `set -e; mkdir -p ${BACKUP_ROOT}; chown steward:steward ${BACKUP_ROOT}; chmod 700 ${BACKUP_ROOT}`, "the repository folder");
  const keys: string[] = [];
  for (const client of clients) {
    const config = [
      `Host ${BACKUP_ALIAS}`,
      `  HostName ${server.address}`,
      `  Port ${server.port}`,
      "  User steward",
      "  IdentityFile /root/.ssh/id_backup",
      "  IdentitiesOnly yes",
      "  UserKnownHostsFile /root/.ssh/known_hosts_backup",
      "  GlobalKnownHostsFile /dev/null",
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      "  ConnectTimeout 10",
      "",
    ].join("\n");
    const knownHosts = `[${server.address}]:${server.port} ${server.hostKey}\n`;
    const pub = await must(
      state,
      client,
      [
        "set -e",
        "umask 077",
        "mkdir -p /root/.ssh",
        "test -f /root/.ssh/id_backup || ssh-keygen -q -t ed25519 -N '' -C root@$(uname -n) -f /root/.ssh/id_backup",
        `printf '%s' '${config}' > /root/.ssh/config`,
        `printf '%s' '${knownHosts}' > /root/.ssh/known_hosts_backup`,
        "cat /root/.ssh/id_backup.pub",
      ].join("\n"),
      "the ssh client key",
    );
    keys.push(`restrict,command="/usr/lib/openssh/sftp-server" ${pub.trim()}`);
  }
  const lines = keys.map((k) => `${k}\n`).join("");
  await must(state, backupHost, `set -e; f=/home/steward/.ssh/authorized_keys; printf '%s' '${lines}' | while IFS= read -r line; do grep -qxF "$line" "$f" || printf '%s\\n' "$line" >> "$f"; done`, "authorized_keys");
}
