import type { Diagnostic } from "../../core/diagnostic.ts";
import { diagnosticAt, type YamlSource } from "../../load/yaml-source.ts";
import { findInlineSecrets } from "../../model/secrets.ts";

/**
 * Credentials written inline anywhere in a file, and malformed `{ env: NAME }`
 * references. Runs on every file that parsed, whether or not it passed its schema:
 * a leaked token is a leak even in a file with a typo.
 */
export function checkSecrets(source: YamlSource): Diagnostic[] {
  const fromEnv = source.file.startsWith("runbooks/") ? "`{ env: NAME }` in vars, used as `{{vars.NAME}}`" : "`{ env: NAME }`, and set NAME from your CI secret store";
  return findInlineSecrets(source.value).map((found) =>
    diagnosticAt(source, found.pointer, found.rule, found.rule === "secrets/inline" ? `a secret is written inline: ${found.reason}` : found.reason, {
      hint: found.hint ?? `reference it from the environment instead: ${fromEnv}`,
      ...(found.index === undefined ? {} : { index: found.index }),
    }),
  );
}
