import { pointerOf } from "../core/diagnostic.ts";
import type { SecretRef } from "./types.ts";

/**
 * Names that hold credentials, after camelCase and kebab-case are folded into
 * snake_case: `dbPassword`, `db-password`, `DB_PASSWORD`, `PGPASSWORD`, `MYSQL_PWD`,
 * `aws_secret_access_key`, `client_secret`, `api-key`, `db_pw`.
 */
const SECRET_NAME = /(^|_)([a-z]*(password|passwd|passphrase)|pass|pwd|pw|secret|token|api_?key|secret_?key|access_?key|private_?key|credentials?)$/;

/** `dbPassword` → `db_password`, `api-key` → `api_key`, `PGPASSWORD` → `pgpassword`. */
function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_");
}

/** True for a variable, key or environment name that by convention holds a credential. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(snake(name));
}

/** Values that are credentials whatever key holds them. */
const SECRET_VALUE: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  [/\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{30,}/, "a GitHub token"],
  [/\bAKIA[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/, "a Slack token"],
  [/\bglpat-[A-Za-z0-9_-]{20,}/, "a GitLab token"],
  [/\bsk_live_[A-Za-z0-9]{16,}/, "a Stripe secret key"],
];

/** A value made only of `{{…}}` expressions: it names where the secret comes from, it is not one. */
const ONLY_TEMPLATES = /^\s*(?:\{\{[^{}]*\}\}\s*)+$/;
/** A password in a URL's userinfo (RFC 3986 §3.2.1 deprecates it for this reason). */
const URL_PASSWORD = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:([^\s/@]+)@/gi;
/** `NAME=value`, `export NAME=value`, `--password=value` / `--password value` in a command. */
const ASSIGNMENT = /(?:^|[\s;&|(])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|[^\s;&|]+)/g;
const PASSWORD_FLAG = /(?:^|\s)--?((?:[a-z]+-)*(?:password|passwd|token|secret|api-key))(?:=|\s+)("[^"]*"|'[^']*'|[^\s;&|-][^\s;&|]*)/gi;

/** True when a value written next to a secret name is a literal, not a reference ($VAR, a template). */
function isLiteral(value: string): boolean {
  const bare = value.replace(/^["']|["']$/g, "");
  if (bare === "" || bare.startsWith("$")) return false;
  return !ONLY_TEMPLATES.test(bare);
}

export interface InlineSecret {
  /** Pointer relative to the start of the scanned value. */
  pointer: string;
  reason: string;
  /** Rule that fired: `secrets/inline` for a credential, `secrets/env-ref` for a bad `{ env: NAME }`. */
  rule: "secrets/inline" | "secrets/env-ref";
  hint?: string;
  /** Index in the string value where the secret starts, to point at it inside long or multi-line values. */
  index?: number;
}

/** A variable value `{ env: NAME }`: a secret read from the environment at run time. */
export function isSecretRef(value: unknown): value is SecretRef {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && "env" in value;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** What is wrong with `{ env: … }`, or undefined. Environment names follow POSIX (XBD 8.1) as steward reads them: A-Z, 0-9, '_'. */
function envRefProblem(ref: Record<string, unknown>): { reason: string; hint: string; field?: string } | undefined {
  const name = ref.env;
  const extra = Object.keys(ref).filter((k) => k !== "env");
  if (extra.includes("default")) return { reason: "`{ env: … }` has a `default:`, which writes the secret into YAML after all", hint: "remove `default:` and set the variable wherever steward runs (CI secret store, shell)", field: "default" };
  if (extra.length > 0) return { reason: `\`{ env: … }\` has other keys (${extra.join(", ")})`, hint: "a secret reference is exactly `{ env: NAME }`" };
  if (typeof name !== "string") {
    const shape = Array.isArray(name) ? "a list" : name === null ? "empty" : typeof name === "object" ? "a mapping" : `${typeof name} ${String(name)}`;
    return { reason: `\`env:\` is ${shape}; it must be the name of one environment variable`, hint: "write `{ env: NAME }`, e.g. `{ env: DB_PASSWORD }`; one reference per variable" };
  }
  if (name === "") return { reason: "`env:` is empty", hint: "write `{ env: NAME }`, e.g. `{ env: DB_PASSWORD }`" };
  if (ENV_NAME.test(name)) return undefined;
  const fixed = name.replace(/^\$\{?|\}$/g, "").toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  const why = name.startsWith("$") ? "write the name without `$`" : name !== name.toUpperCase() ? "environment names are upper case" : "environment names use A-Z, 0-9 and '_' and do not start with a digit";
  return { reason: `\`${name}\` is not an environment variable name`, hint: `${why}: \`{ env: ${ENV_NAME.test(fixed) ? fixed : "NAME"} }\`` };
}

/** Why a string is a credential written inline and where in it (index of the offending text), or undefined. `key` is the name holding it, if any. */
function stringProblem(value: string, key: string | undefined): { reason: string; index: number } | undefined {
  for (const [pattern, what] of SECRET_VALUE) {
    const m = pattern.exec(value);
    if (m) return { reason: `the value looks like ${what}`, index: m.index };
  }
  for (const m of value.matchAll(URL_PASSWORD)) if (isLiteral(m[1]!)) return { reason: "the URL holds a password (user:password@)", index: m.index + m[0].lastIndexOf(`:${m[1]}@`) + 1 };
  for (const m of value.matchAll(ASSIGNMENT)) if (isSecretName(m[1]!) && isLiteral(m[2]!)) return { reason: `\`${m[1]}\` is set to a literal value`, index: m.index + m[0].indexOf(m[1]!) };
  for (const m of value.matchAll(PASSWORD_FLAG)) if (isLiteral(m[2]!)) return { reason: `\`--${m[1]}\` is given a literal value`, index: m.index + m[0].indexOf("-") };
  if (key !== undefined && isSecretName(key) && isLiteral(value)) return { reason: `\`${key}\` holds a literal value`, index: 0 };
  return undefined;
}

/**
 * Finds credentials written inline anywhere in a file's value: under a key named like
 * a credential (`db_password`, `apiKey`, `PGPASSWORD`, …) unless the value is only
 * template expressions or a `$VAR`; values that look like keys, tokens or URLs with a
 * password under any key; `NAME=value` assignments and `--password=value` inside
 * commands. Also checks each `{ env: NAME }` reference itself.
 */
export function findInlineSecrets(value: unknown, path: Array<string | number> = []): InlineSecret[] {
  if (typeof value === "string") {
    const key = path.at(-1);
    const found = stringProblem(value, typeof key === "string" ? key : undefined);
    return found ? [{ pointer: pointerOf(path), reason: found.reason, index: found.index, rule: "secrets/inline" }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => findInlineSecrets(item, [...path, i]));
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    // Any mapping with an `env` key is meant as a secret reference: one of another shape
    // (`env: [A]`, `env: { name: A }`) would otherwise pass as a plain variable and
    // reach a template as an object.
    if ("env" in record) {
      const problem = envRefProblem(record);
      if (problem) return [{ pointer: pointerOf([...path, problem.field ?? "env"]), reason: problem.reason, rule: "secrets/env-ref", hint: problem.hint }];
      return [];
    }
    return Object.entries(record).flatMap(([k, v]) => findInlineSecrets(v, [...path, k]));
  }
  return [];
}
