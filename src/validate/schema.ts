import { readFileSync } from "node:fs";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { Diagnostic } from "../core/diagnostic.ts";
import { pointerOf, segmentsOf } from "../core/diagnostic.ts";
import { durationHint, parseDuration } from "../core/duration.ts";
import { didYouMean } from "../core/suggest.ts";
import { clip } from "../core/visible.ts";
import { locate, type YamlSource } from "../load/yaml-source.ts";
import { cronError } from "./cron.ts";

type SchemaNode = Record<string, unknown>;
export type SchemaName = "inventory" | "runbook" | "plan";

const schemaDir = new URL("../../schemas/", import.meta.url);
const readSchema = (name: string): SchemaNode =>
  JSON.parse(readFileSync(new URL(`${name}.schema.json`, schemaDir), "utf8")) as SchemaNode;

// ajv-formats ships CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

let compiled: Map<SchemaName, { validate: ValidateFunction; root: SchemaNode }> | undefined;

function compile(): Map<SchemaName, { validate: ValidateFunction; root: SchemaNode }> {
  if (compiled) return compiled;
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, discriminator: true, verbose: true });
  addFormats(ajv);
  // Human wording for a pattern or a oneOf, shown instead of ajv's generic text.
  ajv.addVocabulary(["x-message"]);
  // Checks the schema's pattern cannot: a duration's size, a cron field's range. Also marks
  // values with a dedicated hint, e.g. "duration" suggests `3h` for `3 hours`.
  ajv.addKeyword({
    keyword: "x-format",
    type: "string",
    schemaType: "string",
    errors: true,
    validate: function check(format: string, data: string): boolean {
      const message = formatError(format, data);
      if (message === undefined) return true;
      (check as { errors?: Partial<ErrorObject>[] }).errors = [{ keyword: "x-format", message, params: { format } }];
      return false;
    },
  });
  const inventory = readSchema("inventory");
  const runbook = readSchema("runbook");
  ajv.addSchema(inventory, "inventory.schema.json");
  ajv.addSchema(runbook, "runbook.schema.json");
  compiled = new Map([
    ["inventory", { validate: ajv.getSchema("inventory.schema.json")!, root: inventory }],
    ["runbook", { validate: ajv.getSchema("runbook.schema.json")!, root: runbook }],
  ]);
  return compiled;
}

/** Longest duration accepted anywhere: a year and a day. Longer ones are typos, and overflow date arithmetic. */
export const MAX_DURATION_MS = 366 * 86_400_000;

/** Why a string of an `x-format` can never work; undefined when it can (or when the pattern already refuses it). */
function formatError(format: string, data: string): string | undefined {
  if (format === "duration") {
    const ms = parseDuration(data);
    return ms !== undefined && ms > MAX_DURATION_MS ? "is longer than 366 days; durations are capped there" : undefined;
  }
  if (format === "cron") return /^([^\s]+\s+){4}[^\s]+$|^@/.test(data) ? cronError(data) : undefined;
  return undefined;
}

/** Keys of an Ansible play (docs.ansible.com, "Playbook Keywords"), none of which a steward file has. */
const ANSIBLE_PLAY = new Set(["hosts", "tasks", "roles", "pre_tasks", "post_tasks", "handlers", "gather_facts", "become", "vars_files", "import_playbook"]);

/** What to write instead of a list at the top of a file; an Ansible playbook is named as such. */
function listHint(items: unknown[], root: SchemaNode): string {
  const runbook = root === compile().get("runbook")?.root;
  const play = items.some((item) => typeof item === "object" && item !== null && Object.keys(item).some((k) => ANSIBLE_PLAY.has(k)));
  const shape = runbook ? "a steward runbook is one mapping: `name:`, `targets:` (a selector such as group:web) and `steps:` (a list of `{ kind, name, … }`, e.g. kind: command, kind: packages)" : "an inventory file is one mapping: `hosts:` (NAME: { address, groups }), `groups:` and `defaults:`";
  return play ? `this looks like an Ansible playbook (a list of plays with hosts: and tasks:); ${shape}` : shape;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

const article: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  null: "empty",
};

function label(pointer: string): string {
  const segments = segmentsOf(pointer);
  const last = segments.at(-1);
  if (last === undefined) return "the file";
  if (/^\d+$/.test(last)) return `item ${Number(last) + 1} of \`${segments.at(-2) ?? ""}\``;
  return `\`${clip(last)}\``;
}

/** The lower-case spelling of a name refused only for its capitals. */
function lowerCaseHint(name: string, parent: SchemaNode | undefined): string | undefined {
  const pattern = parent?.pattern;
  const lower = name.toLowerCase();
  if (lower === name || typeof pattern !== "string" || !new RegExp(pattern, "u").test(lower)) return undefined;
  return `did you mean \`${lower}\`?`;
}

/** Keys a schema object allows, following `allOf` and local `$ref`s. */
function allowedKeys(schema: SchemaNode | undefined, root: SchemaNode): string[] {
  if (!schema) return [];
  const keys = new Set<string>(Object.keys((schema.properties as SchemaNode | undefined) ?? {}));
  const ref = schema.$ref;
  if (typeof ref === "string" && ref.startsWith("#/")) {
    const target = segmentsOf(ref.slice(1)).reduce<unknown>((node, s) => (node as SchemaNode | undefined)?.[s], root);
    for (const k of allowedKeys(target as SchemaNode, root)) keys.add(k);
  }
  for (const part of (schema.allOf as SchemaNode[] | undefined) ?? []) for (const k of allowedKeys(part, root)) keys.add(k);
  return [...keys].sort();
}

/** True when a schema accepts true/false, directly or as one of its forms. */
function acceptsBoolean(schema: SchemaNode | undefined): boolean {
  if (!schema) return false;
  const type = schema.type;
  if (type === "boolean" || (Array.isArray(type) && type.includes("boolean"))) return true;
  return [...((schema.oneOf as SchemaNode[] | undefined) ?? []), ...((schema.anyOf as SchemaNode[] | undefined) ?? [])].some(acceptsBoolean);
}

/** A hint for a value of the wrong type or form, when the likely intent is clear. */
function valueHint(data: unknown, parent: SchemaNode | undefined): string | undefined {
  if (typeof data === "string" && acceptsBoolean(parent)) {
    // YAML 1.1 read these as booleans; steward reads YAML 1.2, where they are strings.
    if (/^(yes|y|on|true)$/i.test(data)) return `write \`true\` (YAML 1.2 reads \`${data}\` as a string)`;
    if (/^(no|n|off|false)$/i.test(data)) return `write \`false\` (YAML 1.2 reads \`${data}\` as a string)`;
  }
  if (parent?.["x-format"] === "duration") return durationHint(data);
  return undefined;
}

function describe(error: ErrorObject, root: SchemaNode): { pointer: string; key: boolean; rule: string; message: string; hint?: string } | null {
  const pointer = error.instancePath;
  const params = error.params as Record<string, unknown>;
  const parent = error.parentSchema as SchemaNode | undefined;
  const custom = typeof parent?.["x-message"] === "string" ? (parent["x-message"] as string) : undefined;
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    return {
      pointer: `${pointer}${pointerOf([propertyName])}`,
      key: true,
      rule: "schema/invalid-name",
      message: `the name \`${clip(propertyName)}\` is not valid: ${custom ?? error.message ?? "wrong form"}`,
      hint: lowerCaseHint(propertyName, parent),
    };
  }
  switch (error.keyword) {
    case "additionalProperties":
    case "unevaluatedProperties": {
      const key = String(params.additionalProperty ?? params.unevaluatedProperty);
      const allowed = allowedKeys(parent, root);
      return {
        pointer: `${pointer}${pointerOf([key])}`,
        key: true,
        rule: "schema/unknown-key",
        message: `unknown key \`${clip(key)}\`${pointer ? ` in ${label(pointer)}` : ""}`,
        hint: didYouMean(key, allowed) ?? (allowed.length ? `allowed keys: ${allowed.join(", ")}` : undefined),
      };
    }
    case "required":
      return { pointer, key: true, rule: "schema/missing-key", message: `${label(pointer)} is missing the required key \`${String(params.missingProperty)}\`` };
    case "type": {
      if (pointer === "" && error.data === null) {
        return { pointer, key: false, rule: "schema/wrong-type", message: "the file is empty; it must be a mapping", hint: "delete the file if it has nothing to declare" };
      }
      if (pointer === "" && Array.isArray(error.data)) return { pointer, key: false, rule: "schema/wrong-type", message: "the file must be a mapping, not a list", hint: listHint(error.data, root) };
      const want = String(params.type).split(",").map((t) => article[t] ?? t).join(" or ");
      return { pointer, key: false, rule: "schema/wrong-type", message: `${label(pointer)} must be ${want}, not ${typeName(error.data)}${custom ? ` (${custom})` : ""}`, hint: valueHint(error.data, parent) };
    }
    case "enum": {
      const values = (params.allowedValues as unknown[]).map(String);
      return {
        pointer,
        key: false,
        rule: "schema/not-allowed",
        message: `${label(pointer)} is ${typeName(error.data)}; it must be one of: ${values.join(", ")}`,
        hint: typeof error.data === "string" ? didYouMean(error.data, values) : undefined,
      };
    }
    case "const":
      return { pointer, key: false, rule: "schema/not-allowed", message: `${label(pointer)} must be ${JSON.stringify(params.allowedValue)}` };
    case "pattern":
      return { pointer, key: false, rule: "schema/bad-format", message: `${label(pointer)} is ${typeName(error.data)}: ${custom ?? `it must match ${String(params.pattern)}`}`, hint: valueHint(error.data, parent) };
    case "format":
      return { pointer, key: false, rule: "schema/bad-format", message: `${label(pointer)} is ${typeName(error.data)}: it must be a valid ${String(params.format)}${params.format === "date" ? " (YYYY-MM-DD)" : ""}` };
    case "minLength":
      return { pointer, key: false, rule: "schema/empty", message: `${label(pointer)} must not be empty` };
    case "minItems":
      return { pointer, key: false, rule: "schema/too-few", message: `${label(pointer)} must have at least ${String(params.limit)} item${params.limit === 1 ? "" : "s"}` };
    case "minProperties":
      return { pointer, key: false, rule: "schema/too-few", message: `${label(pointer)} must set at least ${String(params.limit)} key${params.limit === 1 ? "" : "s"}` };
    case "uniqueItems":
      return { pointer: `${pointer}/${String(params.i)}`, key: false, rule: "schema/duplicate-item", message: `${label(pointer)} lists the same value twice (items ${Number(params.j) + 1} and ${Number(params.i) + 1})` };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return { pointer, key: false, rule: "schema/out-of-range", message: `${label(pointer)} is ${String(error.data)}; it ${error.message ?? "is out of range"}` };
    case "oneOf":
    case "anyOf":
      return { pointer, key: false, rule: "schema/wrong-shape", message: `${label(pointer)} is ${typeName(error.data)}: ${custom ?? "it matches none of the allowed forms"}`, hint: valueHint(error.data, parent) };
    case "x-format":
      return { pointer, key: false, rule: params.format === "cron" ? "schema/bad-cron" : "schema/out-of-range", message: `${label(pointer)} is ${typeName(error.data)}: ${params.format === "cron" ? "" : "it "}${error.message ?? "is invalid"}` };
    case "discriminator":
    case "propertyNames":
      // Restate errors already reported precisely (the bad tag value, the bad name).
      return null;
    default:
      return { pointer, key: false, rule: `schema/${error.keyword}`, message: `${label(pointer)} ${error.message ?? "is invalid"}` };
  }
}

/** Drops errors that only restate another: branch errors under a explained oneOf, discriminator noise. */
function prune(errors: ErrorObject[]): ErrorObject[] {
  const explained = errors.filter((e) => (e.keyword === "oneOf" || e.keyword === "anyOf") && typeof (e.parentSchema as SchemaNode | undefined)?.["x-message"] === "string");
  const explainedBranch = (e: ErrorObject): boolean =>
    explained.some((o) => o !== e && e.instancePath.startsWith(o.instancePath) && e.schemaPath.startsWith(`${o.schemaPath}/`));
  const unexplainedOneOf = (e: ErrorObject): boolean =>
    (e.keyword === "oneOf" || e.keyword === "anyOf") && !explained.includes(e) && errors.some((x) => x !== e && x.instancePath.startsWith(e.instancePath) && x.schemaPath.startsWith(`${e.schemaPath}/`));
  return errors.filter((e) => !explainedBranch(e) && !unexplainedOneOf(e));
}

/** Validates one parsed file against a schema; each error is placed at its line and column. */
export function validateAgainstSchema(source: YamlSource, schema: SchemaName): Diagnostic[] {
  const entry = compile().get(schema);
  if (!entry) throw new Error(`no schema named ${schema}`);
  if (entry.validate(source.value)) return [];
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const error of prune(entry.validate.errors ?? [])) {
    const d = describe(error, entry.root);
    if (!d) continue;
    const id = `${d.pointer}\0${d.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const pos = locate(source, d.pointer, { key: d.key });
    out.push({
      severity: "error",
      rule: d.rule,
      file: source.file,
      line: pos.line,
      column: pos.column,
      pointer: d.pointer,
      message: d.message,
      ...(d.hint === undefined ? {} : { hint: d.hint }),
    });
  }
  return out;
}
