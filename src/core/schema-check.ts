/**
 * One of the repository's own JSON Schemas (schemas/*.schema.json, draft 2020-12) as a
 * check of a file steward writes, compiled on first use and once per process (ajv,
 * ajv-formats, strict mode). For files steward itself writes and reads back (results,
 * run summaries): every error is listed, as `<path>: <what>` lines.
 */
import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

/**
 * A check against `schemas/<file>`: returns the problems of a value, one
 * `<instance path>: <message>` line each (`(top)` for the value itself), [] when valid.
 * @throws Error (a bug in steward) when the schema file is missing or does not compile, at the first call.
 */
export function schemaCheck(file: string): (value: unknown) => string[] {
  let compiled: ValidateFunction | undefined;
  return (value) => {
    if (compiled === undefined) {
      const schema = JSON.parse(readFileSync(new URL(`../../schemas/${file}`, import.meta.url), "utf8")) as object;
      compiled = addFormats(new Ajv2020({ allErrors: true, strict: true })).compile(schema);
    }
    if (compiled(value)) return [];
    return (compiled.errors ?? []).map((e) => `${e.instancePath === "" ? "(top)" : e.instancePath.slice(1)}: ${e.message ?? "is invalid"}`);
  };
}
