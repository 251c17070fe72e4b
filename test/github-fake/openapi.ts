/**
 * GitHub's contract, as the fake enforces it: routes, parameters, request bodies and
 * response bodies of the operations in openapi-extract.json (made from GitHub's
 * published description by scripts/openapi-extract.ts), checked with ajv.
 *
 * The description is OpenAPI 3.0.3: its schemas say `nullable: true`, which is turned
 * into JSON Schema's `null` type on load (ajv's own `nullable` support refuses it
 * beside `allOf` and `anyOf`, which GitHub uses), and use a few GitHub formats
 * (`repo.nwo`, `int64`, …) that only annotate; those are accepted.
 */
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS: its function is the default export's default under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

const EXTRACT_ID = "https://github-fake.test/openapi-extract.json";

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema: Record<string, unknown>;
}

interface Extract {
  operations: Record<string, { method: string; path: string; parameters: Array<Parameter | { $ref: string }>; requestBody: { required?: boolean; content: Record<string, { schema: unknown }> } | null; responses: Record<string, unknown> }>;
  components: { parameters: Record<string, Parameter>; responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
}

/** One documented operation: how to route to it and how to check it. */
export interface Operation {
  id: string;
  method: string;
  /** The path template, `/repos/{owner}/{repo}/pulls/{pull_number}`. */
  template: string;
  pattern: RegExp;
  names: string[];
  parameters: Parameter[];
}

/** A request or response that strays from GitHub's description. */
export interface Violation {
  operation: string;
  where: "params" | "query" | "body" | `response ${number}`;
  errors: string[];
}

export class OpenApiContract {
  private static instance: OpenApiContract | undefined;

  /** One contract per process: compiling GitHub's schemas takes seconds, so fakes share it. */
  static shared(): OpenApiContract {
    return (OpenApiContract.instance ??= new OpenApiContract());
  }

  readonly operations: Operation[];
  private readonly ajv: Ajv;
  private readonly coercing: Ajv;
  private readonly extract: Extract;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(file = new URL("./openapi-extract.json", import.meta.url)) {
    this.extract = denullable(JSON.parse(readFileSync(file, "utf8"))) as Extract;
    this.ajv = makeAjv(false);
    this.coercing = makeAjv(true);
    for (const ajv of [this.ajv, this.coercing]) ajv.addSchema({ $id: EXTRACT_ID, ...this.extract } as object);
    this.operations = Object.entries(this.extract.operations).map(([id, op]) => {
      const names: string[] = [];
      // `{ref}` may hold slashes when a client sends it unencoded (heads/steward/plan/x).
      const source = op.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
        names.push(name);
        return name === "ref" ? "(.+)" : "([^/]+)";
      });
      const parameters = op.parameters.map((p) => ("$ref" in p ? this.extract.components.parameters[p.$ref.split("/").pop()!]! : p));
      return { id, method: op.method, template: op.path, pattern: new RegExp(`^${source}$`), names, parameters };
    });
  }

  /** The operation a method and path reach, with its path parameters decoded. */
  route(method: string, path: string): { operation: Operation; params: Record<string, string> } | undefined {
    for (const operation of this.operations) {
      if (operation.method !== method) continue;
      const match = operation.pattern.exec(path);
      if (match === null) continue;
      const params: Record<string, string> = {};
      operation.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1]!)));
      return { operation, params };
    }
    return undefined;
  }

  /** Checks path and query parameters; query values are coerced from strings as GitHub does. */
  checkParameters(operation: Operation, params: Record<string, string>, query: URLSearchParams): Violation[] {
    const out: Violation[] = [];
    for (const where of ["path", "query"] as const) {
      const declared = operation.parameters.filter((p) => p.in === where);
      const values: Record<string, unknown> = {};
      if (where === "path") Object.assign(values, params);
      else for (const [key, value] of query) values[key] = value;
      const unknown = Object.keys(values).filter((key) => !declared.some((p) => p.name === key));
      const schema = { type: "object", properties: Object.fromEntries(declared.map((p) => [p.name, p.schema])), required: declared.filter((p) => p.required).map((p) => p.name) };
      const validate = this.compile(`${operation.id} ${where}`, schema, true);
      const errors = validate(values) ? [] : describe(validate.errors);
      if (unknown.length > 0) errors.push(`undocumented ${where} parameter(s): ${unknown.join(", ")}`);
      if (errors.length > 0) out.push({ operation: operation.id, where: where === "path" ? "params" : "query", errors });
    }
    return out;
  }

  /** Checks a JSON request body (undefined when none was sent). */
  checkBody(operation: Operation, body: unknown): Violation[] {
    const declared = this.extract.operations[operation.id]!.requestBody;
    if (declared === null) return body === undefined ? [] : [{ operation: operation.id, where: "body", errors: ["a body was sent to an operation that takes none"] }];
    if (body === undefined) return declared.required ? [{ operation: operation.id, where: "body", errors: ["the required body is missing"] }] : [];
    const schema = declared.content["application/json"]?.schema;
    if (schema === undefined) return [{ operation: operation.id, where: "body", errors: ["the operation takes no JSON body"] }];
    const validate = this.compile(`${operation.id} body`, schema, false);
    return validate(body) ? [] : [{ operation: operation.id, where: "body", errors: describe(validate.errors) }];
  }

  /** Checks a response the fake is about to send: the status must be documented and the body match. */
  checkResponse(operation: Operation, status: number, body: unknown): Violation[] {
    const where = `response ${status}` as const;
    // Rate limits and server errors can answer any operation; GitHub documents them globally.
    if (status === 429 || status >= 500 || status === 401) return [];
    let response = this.extract.operations[operation.id]!.responses[String(status)] as { $ref?: string; content?: Record<string, { schema: unknown }> } | undefined;
    if (response === undefined && status === 403) response = this.extract.components.responses["forbidden"];
    if (response === undefined) return [{ operation: operation.id, where, errors: [`status ${status} is not documented for this operation`] }];
    if (response.$ref !== undefined) response = this.extract.components.responses[response.$ref.split("/").pop()!];
    const schema = response?.content?.["application/json"]?.schema;
    if (schema === undefined) return body === undefined ? [] : [{ operation: operation.id, where, errors: ["a body was sent where none is documented"] }];
    const validate = this.compile(`${operation.id} ${status}`, schema, false);
    return validate(body) ? [] : [{ operation: operation.id, where, errors: describe(validate.errors) }];
  }

  private compile(key: string, schema: unknown, coerce: boolean): ValidateFunction {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    // Inline schemas refer to "#/components/…" of the extract: resolve them against it.
    const validate = (coerce ? this.coercing : this.ajv).compile({ $id: `https://github-fake.test/checks/${encodeURIComponent(key)}.json`, ...rebase(schema) });
    this.cache.set(key, validate);
    return validate;
  }
}

function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, coerceTypes });
  addFormats(ajv);
  for (const format of ["int64", "int32", "double", "repo.nwo", "binary", "timestamp", "uri-template"]) ajv.addFormat(format, true);
  return ajv;
}

/** OpenAPI 3.0's `nullable: true`, written as JSON Schema: `null` added to `type` (and `enum`), or `anyOf`. */
function denullable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(denullable);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = key === "properties" ? Object.fromEntries(Object.entries(item as object).map(([k, v]) => [k, denullable(v)])) : denullable(item);
  if (out["nullable"] !== true) return out;
  delete out["nullable"];
  if (typeof out["type"] === "string") {
    out["type"] = [out["type"], "null"];
    if (Array.isArray(out["enum"])) out["enum"] = [...out["enum"], null];
    return out;
  }
  return { anyOf: [out, { type: "null" }] };
}

/** Points the "#/components/…" refs of an inline schema at the extract document. */
function rebase(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, `"$ref":"${EXTRACT_ID}#/`)) as Record<string, unknown>;
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).slice(0, 10).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}${e.params && Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : ""}`);
}
