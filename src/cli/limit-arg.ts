import { UsageError } from "../core/errors.ts";
import { parseSelector, SelectorSyntaxError, type Selector } from "../model/selector.ts";

/**
 * `--limit SELECTOR` as plan and run read it: undefined when absent; a syntax error is
 * a usage error (exit 2) naming the character, counted from 1.
 */
export function limitArg(value: string | undefined): Selector | undefined {
  if (value === undefined) return undefined;
  try {
    return parseSelector(value);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw new UsageError(`--limit: ${error.message} (at character ${error.index + 1})`);
    throw error;
  }
}
