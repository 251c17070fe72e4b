/**
 * Extracts from GitHub's published REST description (the @octokit/openapi package,
 * generated/api.github.com.json, OpenAPI 3.0.3) only the operations steward's GitHub
 * publisher calls, with every component they reference, into
 * test/github-fake/openapi-extract.json. The GitHub fake validates each request it
 * receives and each response it sends against that extract, so a test fails when the
 * publisher or the fake strays from what GitHub documents.
 *
 *   node --import tsx scripts/openapi-extract.ts [output.json]
 *
 * Run it again after upgrading @octokit/openapi, or when the publisher starts calling
 * another endpoint (add its operationId to OPERATIONS). Descriptions, examples and
 * GitHub's `x-github` metadata are dropped: they are documentation, not contract.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** GitHub's operationIds of every endpoint the publisher (and the fake's merge button) uses; `/user` and `/app` name who steward publishes as. */
const OPERATIONS = [
  "apps/create-installation-access-token",
  "apps/get-authenticated",
  "users/get-authenticated",
  "repos/get",
  "git/get-ref",
  "git/create-ref",
  "git/update-ref",
  "git/create-blob",
  "git/create-tree",
  "git/get-commit",
  "git/create-commit",
  "pulls/list",
  "pulls/get",
  "pulls/create",
  "pulls/update",
  "pulls/merge",
  "issues/list-for-repo",
  "issues/get",
  "issues/create",
  "issues/update",
  "issues/list-comments",
  "issues/create-comment",
  "issues/update-comment",
  "issues/add-labels",
  "issues/get-label",
  "issues/create-label",
].sort();

/** Keys that document rather than constrain. */
const DROPPED_KEYS = new Set(["description", "example", "examples", "x-github", "externalDocs", "x-multi-segment"]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const require = createRequire(import.meta.url);
const packageJson = require.resolve("@octokit/openapi/package.json");
const sourceFile = join(dirname(packageJson), "generated", "api.github.com.json");
const version = (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;
const spec = JSON.parse(readFileSync(sourceFile, "utf8")) as {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string } & Record<string, Json>>>;
  components: Record<string, Record<string, Json>>;
};

const operations: Record<string, Json> = {};
const wanted = new Set(OPERATIONS);
for (const [path, methods] of Object.entries(spec.paths)) {
  for (const [method, operation] of Object.entries(methods)) {
    const id = operation.operationId;
    if (id === undefined || !wanted.has(id)) continue;
    wanted.delete(id);
    const { parameters, requestBody, responses } = operation;
    operations[id] = strip({ method: method.toUpperCase(), path, parameters: parameters ?? [], requestBody: requestBody ?? null, responses: responses ?? {} });
  }
}
if (wanted.size > 0) throw new Error(`operations not in ${sourceFile}: ${[...wanted].join(", ")}`);

// Copy every component the operations reach, following $refs transitively.
const components: Record<string, Record<string, Json>> = {};
const pending: string[] = [];
const seen = new Set<string>();
collectRefs(operations, pending);
while (pending.length > 0) {
  const ref = pending.pop()!;
  if (seen.has(ref)) continue;
  seen.add(ref);
  const match = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
  if (match === null) throw new Error(`unsupported $ref ${ref}`);
  const [, kind, name] = match as unknown as [string, string, string];
  const value = spec.components[kind]?.[name];
  if (value === undefined) throw new Error(`dangling $ref ${ref}`);
  const stripped = strip(value);
  (components[kind] ??= {})[name] = stripped;
  collectRefs(stripped, pending);
}
for (const kind of Object.keys(components)) components[kind] = sortKeys(components[kind]!) as Record<string, Json>;

const out = { source: { package: "@octokit/openapi", version, file: "generated/api.github.com.json", openapi: spec.openapi }, operations: sortKeys(operations), components: sortKeys(components) };
const target = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "..", "test", "github-fake", "openapi-extract.json");
writeFileSync(target, `${JSON.stringify(out, null, 1)}\n`);
process.stdout.write(`${OPERATIONS.length} operations, ${seen.size} components -> ${target}\n`);

function strip(value: Json): Json {
  if (Array.isArray(value)) return value.map(strip);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, Json> = {};
  for (const [key, item] of Object.entries(value)) {
    // `properties` maps names to schemas: a property may be called "description".
    if (DROPPED_KEYS.has(key)) continue;
    out[key] = key === "properties" ? mapValues(item, strip) : strip(item);
  }
  return out;
}

function mapValues(value: Json, fn: (item: Json) => Json): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fn(item)]));
}

function collectRefs(value: Json, into: string[]): void {
  if (Array.isArray(value)) for (const item of value) collectRefs(item, into);
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key === "$ref" && typeof item === "string") into.push(item);
      else collectRefs(item, into);
    }
  }
}

function sortKeys(value: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
