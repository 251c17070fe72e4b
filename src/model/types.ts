/**
 * The repository's data model: what inventory/ and runbooks/ mean once loaded, merged
 * and checked. Runbook types mirror schemas/runbook.schema.json key for key, so the YAML
 * an engineer writes and the value the planner reads never drift apart.
 */

export type Criticality = "low" | "medium" | "high" | "critical";
export const CRITICALITIES: readonly Criticality[] = ["low", "medium", "high", "critical"];

/** A secret named by the environment variable that holds it; the value never sits in YAML. */
export interface SecretRef {
  env: string;
}

export type Become = false | { method: "sudo"; user: string };

/** Where a value was written: used to point error messages at the YAML. */
export interface Origin {
  file: string;
  pointer: string;
}

export interface Host {
  name: string;
  address: string;
  port: number;
  user: string;
  become: Become;
  criticality: Criticality;
  transport: "ssh" | "local";
  /** Groups the host names directly. */
  groups: string[];
  /** Direct groups and all their ancestors, sorted by name. */
  memberOf: string[];
  tags: string[];
  via?: string;
  /** Keys pinned in the inventory, in known_hosts key form ("ssh-ed25519 AAAA…"). */
  hostKeys: string[];
  identityFile?: string;
  identityPassphraseEnv?: string;
  connectTimeoutMs: number;
  /** Variables after precedence: defaults < parent group < child group < host. */
  vars: Record<string, unknown>;
  origin: Origin;
}

export interface Group {
  name: string;
  description?: string;
  children: string[];
  vars: Record<string, unknown>;
  /** Every place the group is declared (groups may be declared in several files). */
  origins: Origin[];
}

export interface Inventory {
  hosts: Map<string, Host>;
  groups: Map<string, Group>;
  /** known_hosts file path relative to the repository root, when the inventory names one. */
  knownHosts?: string;
}

export type Percent = `${number}%`;
export type CountOrPercent = number | Percent;
export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

export interface Window {
  timezone: string;
  days: Weekday[];
  start: string;
  duration: string;
  not_before?: string;
  not_after?: string;
}

export interface Expectation {
  exit_code?: number;
  stdout_contains?: string;
  stdout_matches?: string;
  stderr_empty?: boolean;
}

export type Check = { name?: string } & (
  | { type: "disk"; mount: string; max_used: Percent }
  | { type: "memory"; max_used: Percent }
  | { type: "load"; max_per_cpu: number }
  | { type: "service"; service: string; state?: "running" | "stopped" }
  | { type: "endpoint"; url: string; expect_status?: number; timeout?: string }
  | { type: "certificate"; path: string; min_days_left: number }
  | { type: "command"; command: string; expect?: Expectation }
  | { type: "reboot-required"; allowed?: boolean }
);

export type ComplianceCheck =
  | { type: "file"; path: string; exists?: boolean; mode?: string; owner?: string; contains?: string }
  | { type: "package"; package: string; installed?: boolean; version?: string }
  | { type: "service"; service: string; state?: "running" | "stopped"; enabled?: boolean }
  | { type: "sshd"; setting: string; value: string }
  | { type: "sysctl"; key: string; value: string }
  | { type: "command"; command: string; expect: Expectation }
  | { type: "authorized-keys"; allowed?: AllowedKey[]; shared?: boolean }
  | { type: "listening-ports"; allowed: string[] }
  | { type: "security-updates"; max_age?: string }
  | { type: "sudoers"; allowed?: string[] };

/**
 * A key an `authorized-keys` rule allows: its SHA256 fingerprint as `ssh-keygen -lf`
 * prints it, alone or with who owns it and which accounts may hold it.
 */
export type AllowedKey = string | { fingerprint: string; owner?: string; users?: string[] };

export interface ComplianceRule {
  id: string;
  description?: string;
  severity?: Criticality;
  check: ComplianceCheck;
}

/** What a `database` step does (src/steps/database/). */
export type DatabaseOperation = "dump" | "restore-test" | "vacuum-analyze" | "reindex" | "purge" | "health";
export const DATABASE_OPERATIONS: readonly DatabaseOperation[] = ["dump", "restore-test", "vacuum-analyze", "reindex", "purge", "health"];

/**
 * How a `database` step reaches PostgreSQL: as `os_user` through `sudo -n -u` (peer
 * authentication), or as the login user with `role` and a `password` from the
 * environment; `host` is a socket folder or a host name, as libpq's PGHOST.
 */
export interface DatabaseConnection {
  os_user?: string;
  role?: string;
  password?: SecretRef;
  host?: string;
  port?: number;
}

/** The fields of a `database` step; which ones an operation takes is checked by the kind's rules. */
export interface DatabaseStepFields {
  operation: DatabaseOperation;
  database: string;
  connection?: DatabaseConnection;
  /** dump: where the custom-format archive is written. */
  path?: string;
  /** restore-test: the archive to restore. */
  dump?: string;
  scratch_database?: string;
  compare?: "checksums" | "counts";
  /** vacuum-analyze, reindex: `table` or `schema.table`; the whole database when absent. */
  tables?: string[];
  /** purge: `table` or `schema.table`, its timestamp column, the age, the batch bounds. */
  table?: string;
  column?: string;
  older_than?: string;
  batch_size?: number;
  max_batches?: number;
  dry_run?: boolean;
}

export type PackageSpec = string | { name: string; version?: string };

interface StepBase {
  name: string;
  timeout?: string;
  become?: boolean;
  on_failure?: "halt" | "continue";
  hosts?: string;
}

export type Step = StepBase &
  (
    | { kind: "check"; checks: Check[] }
    | { kind: "packages"; action: "upgrade" | "install" | "remove"; packages?: PackageSpec[]; autoremove?: boolean; repair?: boolean; lock_timeout?: number }
    | { kind: "app-upgrade"; app: string; version: string; current_version: string; available_versions?: string; install: string }
    | { kind: "command"; command: string; stdin?: string; creates?: string; unless?: string; expect?: Expectation }
    | { kind: "service"; service: string; action: "start" | "stop" | "restart" | "reload" | "enable" | "disable" }
    | { kind: "reboot"; when?: "required" | "always"; reason?: string; wait?: string }
    | {
        kind: "backup";
        tool: "restic" | "tar";
        repository: string;
        paths: string[];
        pre_command?: string;
        password?: SecretRef;
        /** restic: create the repository when it does not exist yet. */
        init?: boolean;
        retention?: Partial<Record<"keep_last" | "keep_daily" | "keep_weekly" | "keep_monthly", number>>;
        tags?: string[];
      }
    | {
        kind: "verify-backup";
        backup: string;
        read_data_subset?: Percent;
        test_restore?: { scratch: string; paths?: string[]; compare?: "checksums" | "sizes" };
      }
    | {
        kind: "restore";
        tool: "restic";
        repository: string;
        password: SecretRef;
        /** `latest`, `verified` (the last snapshot a verify-backup test-restored on the host) or a restic snapshot id. */
        snapshot: string;
        paths?: string[];
        target: string;
      }
    | { kind: "compliance"; rules: ComplianceRule[] }
    | ({ kind: "database" } & DatabaseStepFields)
  );

export type StepKind = Step["kind"];

export interface Rollout {
  waves?: CountOrPercent[];
  failure_budget?: CountOrPercent;
  order?: string[];
  serial_within_group?: boolean;
  concurrency?: CountOrPercent;
  group_concurrency?: Record<string, number>;
  gate?: { checks?: Check[]; pause?: string };
}

export interface Policy {
  allow?: string[];
  deny?: string[];
  update_types?: Array<"patch" | "minor" | "major">;
  security_only?: boolean;
  holds?: string[];
  approvals?: Array<{ package: string; to: string; approved_by: string; reference?: string }>;
}

export interface Runbook {
  name: string;
  description?: string;
  targets: string;
  schedule?: string;
  window?: Window;
  rollout?: Rollout;
  policy?: Policy;
  vars?: Record<string, unknown>;
  steps: Step[];
  /** Repository-relative file the runbook was read from. */
  file: string;
}
