import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

/**
 * schemas/facts.schema.json as a check, compiled once per process. Facts come from
 * hosts and from cache files anyone may have edited: both are checked before the
 * planner trusts them. Validation stops at the first error (allErrors off): a file of a
 * million bad entries must not cost a million error objects. Messages name where and what (`facts/installed/3/version: must
 * match the token pattern`), never the offending value, which may be anything.
 */

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled === undefined) {
    const schema = JSON.parse(readFileSync(new URL("../../schemas/facts.schema.json", import.meta.url), "utf8")) as object;
    compiled = addFormats(new Ajv2020({ allErrors: false, strict: true })).compile(schema);
  }
  return compiled;
}

/** Refs whose pattern is best named by what it means rather than by the regex. */
const PATTERN_NAMES: ReadonlyArray<[string, string]> = [
  ["#/$defs/token", "must be a single word: no leading '-', whitespace, control or format characters"],
  ["#/$defs/text", "must not contain control or format characters (such as bidi controls)"],
  ["#/$defs/message", "must not contain control characters other than line breaks, or format characters (such as bidi controls)"],
  ["#/$defs/hostName", "must be a host name: no whitespace, '/', control or format characters"],
];

/**
 * Problems of `value` as a FactsResult, one line each (at most `limit`), or [] when it is
 * one. Each line is `<path>: <what is wrong>`, the path relative to the result.
 */
export function factsResultProblems(value: unknown, limit = 5): string[] {
  const validate = validator();
  if (validate(value)) return [];
  const lines = (validate.errors ?? [])
    // "must match then/else" repeats what the branch's own errors say.
    .filter((e) => e.keyword !== "if")
    .map((e) => {
      const path = e.instancePath === "" ? "(top)" : e.instancePath.slice(1);
      const named = e.keyword === "pattern" ? PATTERN_NAMES.find(([ref]) => e.schemaPath.startsWith(ref))?.[1] : undefined;
      const message = named ?? (e.keyword === "additionalProperties" ? "has a key the schema does not allow" : (e.message ?? "is invalid"));
      return `${path}: ${message}`;
    });
  const unique = [...new Set(lines)];
  return unique.length > limit ? [...unique.slice(0, limit), `… and ${unique.length - limit} more`] : unique;
}
