import { pointerOf } from "../core/diagnostic.ts";
import type { SecretRef } from "./types.ts";

/** Keys whose literal string values are almost certainly credentials. */
const SECRET_KEY = /(^|_)(pass(word|wd|phrase)?|secret|token|api_?key|private_?key|credentials?)$/i;

/** Values that are credentials whatever key holds them. */
const SECRET_VALUE: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  [/\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{30,}/, "a GitHub token"],
  [/\bAKIA[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/, "a Slack token"],
];

export interface InlineSecret {
  /** Pointer relative to the start of the scanned value. */
  pointer: string;
  reason: string;
}

/** A variable value `{ env: NAME }`: a secret read from the environment at run time. */
export function isSecretRef(value: unknown): value is SecretRef {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && "env" in value;
}

/**
 * Finds credentials written inline in a variables block. A key like `db_password` must
 * hold `{ env: NAME }` (or a template that refers elsewhere); values that look like keys
 * or tokens are refused under any key.
 */
export function findInlineSecrets(value: unknown, path: Array<string | number> = []): InlineSecret[] {
  if (isSecretRef(value)) return [];
  if (typeof value === "string") {
    for (const [pattern, what] of SECRET_VALUE) if (pattern.test(value)) return [{ pointer: pointerOf(path), reason: `the value looks like ${what}` }];
    const key = path.at(-1);
    if (typeof key === "string" && SECRET_KEY.test(key) && value !== "" && !value.includes("{{")) {
      return [{ pointer: pointerOf(path), reason: `\`${key}\` holds a literal value` }];
    }
    return [];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => findInlineSecrets(item, [...path, i]));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => findInlineSecrets(v, [...path, k]));
  }
  return [];
}
