import { isSecretRef } from "../model/secrets.ts";
import type { Inventory, Runbook } from "../model/types.ts";
import { StewardError } from "./errors.ts";
import { Redactor, secretForms } from "./redact.ts";

/**
 * The run's secrets: one instance per command, created from the environment before
 * anything is read or printed. It resolves every `{ env: NAME }` the repository names
 * (inventory and runbook variables, backup passwords, identity passphrases), registers
 * each value with one Redactor, and hands that Redactor to every output path: the
 * transport (host output is redacted as it arrives), error messages, and the CLI's
 * stdout and stderr. In GitHub Actions it also asks the runner to mask every form.
 *
 * ```ts
 * const secrets = new RunSecrets(process.env);
 * secrets.registerRepository(inventory, runbooks);   // throws SecretError on short values
 * const transport = createTransport({ redactor: secrets.redactor, env });
 * print(secrets.takeMasks() + secrets.redact(text));
 * ```
 */

/** Shorter values are refused: redacting them would blank ordinary words in every log. */
export const MIN_SECRET_LENGTH = 8;

/**
 * Variables in the environment that hold credentials whatever the repository says
 * (GITHUB_TOKEN, NPM_TOKEN, DB_PASSWORD, …). They are redacted too: a command on the
 * control machine could still read them from its parent process.
 */
const AMBIENT_SECRET_NAME = /(^|_)(TOKEN|PASSWORD|PASSWD|PASSPHRASE|SECRET|SECRET_(ACCESS_)?KEY|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;

/** A secret that cannot be used: too short to redact safely. Exit category `environment`. */
export class SecretError extends StewardError {
  constructor(message: string, hint: string) {
    super("environment", message, hint);
  }
}

/** Why a `{ env: NAME }` has no value, worded for the place that needed it. */
export interface MissingSecret {
  /** The variable's key where it is used (`registry_token`). */
  key: string;
  /** The environment variable that is not set (`REGISTRY_TOKEN`). */
  variable: string;
}

export class RunSecrets {
  /** Every registered secret, in all its forms; pass it to `createTransport`. */
  readonly redactor = new Redactor();
  private readonly env: NodeJS.ProcessEnv;
  private readonly githubActions: boolean;
  private readonly masked = new Set<string>();
  private pendingMasks: string[] = [];

  /**
   * `env` is the command's environment: where `{ env: NAME }` values are read, and
   * `GITHUB_ACTIONS=true` turns on `::add-mask::` output. Credentials already in the
   * environment under secret-like names (GITHUB_TOKEN, *_PASSWORD) are registered at
   * once; those shorter than {@link MIN_SECRET_LENGTH} are skipped, since nobody declared them.
   */
  constructor(env: NodeJS.ProcessEnv) {
    this.env = env;
    this.githubActions = env["GITHUB_ACTIONS"] === "true";
    for (const [name, value] of Object.entries(env)) {
      if (AMBIENT_SECRET_NAME.test(name) && value !== undefined && value.length >= MIN_SECRET_LENGTH) this.register(value);
    }
  }

  /**
   * Reads every secret the inventory and runbooks name and registers it, before any
   * command runs, so redaction covers the first byte of output: variables of the
   * defaults, groups, hosts and runbooks (at any depth), step fields such as a backup's
   * `password`, and each host's `identity_passphrase_env`. A variable that is not set
   * is not an error here: only the command that reads it fails, naming it.
   * @throws SecretError listing every value shorter than {@link MIN_SECRET_LENGTH}.
   */
  registerRepository(inventory: Inventory, runbooks: readonly Runbook[]): void {
    const uses = new Map<string, string[]>();
    const note = (variable: string, where: string): void => {
      uses.set(variable, [...(uses.get(variable) ?? []), where]);
    };
    for (const host of inventory.hosts.values()) {
      for (const { path, variable } of secretRefs(host.vars)) note(variable, `vars.${path} of host ${host.name}`);
      if (host.identityPassphraseEnv !== undefined) note(host.identityPassphraseEnv, `identity_passphrase_env of host ${host.name}`);
    }
    for (const group of inventory.groups.values()) {
      for (const { path, variable } of secretRefs(group.vars)) note(variable, `vars.${path} of group ${group.name}`);
    }
    for (const runbook of runbooks) {
      for (const { path, variable } of secretRefs(runbook)) note(variable, `${path} in ${runbook.file}`);
    }
    const short: string[] = [];
    for (const [variable, where] of [...uses].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const value = this.env[variable];
      if (value === undefined || value === "") continue;
      if (value.length < MIN_SECRET_LENGTH) short.push(`${variable} (${describeUses(where)}) is ${value.length} characters long`);
      else this.register(value);
    }
    if (short.length > 0) throw shortSecretError(short);
  }

  /**
   * A variables record with every `{ env: NAME }` replaced by its value (at any depth).
   * Unset variables are left out, so `{{#if vars.x}}` still works, and listed in
   * `missing` for the caller to name when a template needs one.
   * @throws SecretError when a value is shorter than {@link MIN_SECRET_LENGTH}.
   */
  resolveVars(vars: Readonly<Record<string, unknown>>): { vars: Record<string, unknown>; missing: MissingSecret[] } {
    const missing: MissingSecret[] = [];
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(vars)) {
      const resolved = this.resolveValue(value, key, missing);
      if (resolved !== undefined) out[key] = resolved;
    }
    return { vars: out, missing };
  }

  /** `text` with every registered secret form replaced by `***`. */
  redact(text: string): string {
    return this.redactor.redact(text);
  }

  /**
   * The `::add-mask::` workflow commands for forms registered since the last call, one
   * per line, to print on stdout before anything else; "" outside GitHub Actions.
   * Workflow-command data escapes `%`, CR and LF; a multi-line form is masked line by
   * line, since the runner matches masks within a log line.
   */
  takeMasks(): string {
    const lines = this.pendingMasks;
    this.pendingMasks = [];
    return lines.map((line) => `::add-mask::${line.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}\n`).join("");
  }

  /**
   * The value of a step's `{ env: NAME }` field (a backup or database password) from
   * this run's environment, registered for redaction; undefined when unset or empty.
   * @throws SecretError when the value is too short to redact safely.
   */
  envSecret(variable: string): string | undefined {
    const value = this.resolveVars({ secret: { env: variable } }).vars["secret"];
    return typeof value === "string" && value !== "" ? value : undefined;
  }

  private register(value: string): void {
    this.redactor.add(value);
    if (!this.githubActions) return;
    for (const form of secretForms(value)) {
      for (const line of form.includes("\n") ? form.split(/\r?\n/).filter((l) => l.length >= MIN_SECRET_LENGTH) : [form]) {
        if (this.masked.has(line)) continue;
        this.masked.add(line);
        this.pendingMasks.push(line);
      }
    }
  }

  private resolveValue(value: unknown, path: string, missing: MissingSecret[]): unknown {
    if (isSecretRef(value)) {
      const secret = this.env[value.env];
      if (secret === undefined || secret === "") {
        missing.push({ key: path, variable: value.env });
        return undefined;
      }
      if (secret.length < MIN_SECRET_LENGTH) throw shortSecretError([`${value.env} (vars.${path}) is ${secret.length} characters long`]);
      this.register(secret);
      return secret;
    }
    if (Array.isArray(value)) return value.map((item, i) => this.resolveValue(item, `${path}.${i}`, missing));
    if (typeof value === "object" && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const resolved = this.resolveValue(item, `${path}.${key}`, missing);
        if (resolved !== undefined) out[key] = resolved;
      }
      return out;
    }
    return value;
  }
}

/** The message for an unset secret a command needs: which variable, and where it is used. */
export function missingSecretMessage(missing: MissingSecret, usedBy: string): string {
  return `${usedBy} reads \`vars.${missing.key}\`, which is { env: ${missing.variable} }, but ${missing.variable} is not set in the environment`;
}

/** Every `{ env: NAME }` inside a value, with its dotted path. */
function secretRefs(value: unknown, path = ""): Array<{ path: string; variable: string }> {
  if (isSecretRef(value)) return [{ path, variable: value.env }];
  const join = (key: string | number): string => (path === "" ? String(key) : `${path}.${key}`);
  if (Array.isArray(value)) return value.flatMap((item, i) => secretRefs(item, join(i)));
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([key, item]) => secretRefs(item, join(key)));
  return [];
}

function describeUses(where: readonly string[]): string {
  return where.length === 1 ? `used as ${where[0]}` : `used as ${where[0]} and ${where.length - 1} more`;
}

function shortSecretError(problems: readonly string[]): SecretError {
  return new SecretError(
    `secret too short to redact: ${problems.join("; ")}; a secret must have at least ${MIN_SECRET_LENGTH} characters, since every occurrence of its value is blanked from every log, plan and report, and a short value would blank ordinary text`,
    "use a longer credential (a generated token or password); if the value is not secret, write it in the YAML instead of { env: NAME }",
  );
}
