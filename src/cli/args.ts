/**
 * The one flag parser of every command: node:util's parseArgs (strict, so an unknown
 * flag is a usage error), plus the rule it lacks: a flag that takes one value is given
 * once. parseArgs keeps the last of `--since 90d --since 30d` without a word, so a
 * script that appends a flag to a command line that already has it would silently
 * change what it asked for; steward refuses it instead, naming the flag and both values.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../core/errors.ts";
import { jsonQuoted } from "../core/text.ts";

/**
 * `parseArgs(config)`, refusing a single-value flag (`type: "string"` without
 * `multiple`) that appears more than once, whatever the spelling (`--out a --out=b`).
 * A repeated boolean flag changes nothing and is let be.
 * @throws UsageError (exit 2) naming the repeated flag and its values; parseArgs' own
 *   errors (unknown flag, missing value) as parseArgs throws them.
 */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const { tokens } = parseArgs({ ...config, tokens: true });
  const seen = new Map<string, string>();
  for (const token of tokens ?? []) {
    if (token.kind !== "option") continue;
    const option = config.options?.[token.name];
    if (option === undefined || option.type !== "string" || option.multiple === true) continue;
    const value = token.value ?? "";
    const first = seen.get(token.name);
    if (first !== undefined) {
      const shown = (v: string): string => jsonQuoted(v.slice(0, 80));
      throw new UsageError(`--${token.name} is given twice (${shown(first)}, then ${shown(value)}): a flag that takes one value takes it once`, `keep one --${token.name}`);
    }
    seen.set(token.name, value);
  }
  return parseArgs(config);
}
