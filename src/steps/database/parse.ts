/**
 * Reading what a database script printed. Only `@@<nonce> <key> <value>` lines count;
 * every value is checked strictly before it is believed: counts are decimal integers
 * within JavaScript's safe range, digests are 64 hex digits, JSON is parsed with a
 * size and depth bound and each member's type checked, and every name a server sends
 * (a table, a database, a user) is made one plain line of at most 256 characters,
 * since a quoted identifier may hold any character. A value that breaks these fails
 * the step as unreadable, naming the key, never quoting more than a short prefix.
 */
import { scanJsonShape } from "../../core/json-shape.ts";
import { plainLine } from "../../core/text.ts";

/** A value a host sent that steward will not believe. */
export class UnreadableOutputError extends Error {}

/** The result lines of one script, by key, in the order printed. */
export type Framed = ReadonlyMap<string, readonly string[]>;

/** Picks the `@@<nonce> key value` lines out of `stdout`; other lines (tool chatter) are ignored. */
export function framedLines(stdout: string, nonce: string): Framed {
  const out = new Map<string, string[]>();
  const prefix = `@@${nonce} `;
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const rest = line.slice(prefix.length);
    const space = rest.indexOf(" ");
    const key = space < 0 ? rest : rest.slice(0, space);
    const value = space < 0 ? "" : rest.slice(space + 1);
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

const short = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

/** The one value of `key`; undefined when absent. @throws UnreadableOutputError when it was printed more than once. */
export function single(framed: Framed, key: string): string | undefined {
  const values = framed.get(key);
  if (values === undefined) return undefined;
  if (values.length !== 1) throw new UnreadableOutputError(`${key} was reported ${values.length} times`);
  return values[0];
}

/** A count: a non-negative decimal integer within Number.MAX_SAFE_INTEGER. @throws UnreadableOutputError. */
export function count(value: string, key: string): number {
  if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UnreadableOutputError(`${key} is not a count: ${short(value)}`);
  return Number(value);
}

/** The one count of `key`. @throws UnreadableOutputError when it is missing or malformed. */
export function requiredCount(framed: Framed, key: string): number {
  const value = single(framed, key);
  if (value === undefined) throw new UnreadableOutputError(`no ${key} was reported`);
  return count(value, key);
}

/** A sha256 digest in lower-case hex. @throws UnreadableOutputError. */
export function sha256(value: string | undefined): string {
  if (value === undefined || !/^[0-9a-f]{64}$/.test(value)) throw new UnreadableOutputError(`sha256 is not 64 hex digits: ${short(value ?? "")}`);
  return value;
}

/** At most this many bytes of one JSON value are read. */
export const MAX_JSON_CHARS = 16 * 1024 * 1024;

/** JSON text parsed, bounded in size (16 MiB) and depth (8), without repeated keys. @throws UnreadableOutputError. */
export function json(value: string | undefined, key: string): unknown {
  if (value === undefined) throw new UnreadableOutputError(`no ${key} was reported`);
  if (value.length > MAX_JSON_CHARS) throw new UnreadableOutputError(`${key} is larger than ${MAX_JSON_CHARS} characters`);
  const shape = scanJsonShape(value, 8);
  if (shape.tooDeep || shape.duplicate !== undefined) throw new UnreadableOutputError(`${key} is not the JSON expected (${shape.tooDeep ? "nested too deep" : `repeated key at ${shape.duplicate}`})`);
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new UnreadableOutputError(`${key} is not JSON: ${short(value)}`);
  }
}

type Field = "name" | "count" | "number" | "hex32?";

/**
 * Each element of a JSON array checked against `fields` and copied with exactly those
 * members: `name` a string made one plain line (≤ 256 characters), `count` a safe
 * non-negative integer, `number` a finite non-negative number, `hex32?` an md5 in hex
 * or "". @throws UnreadableOutputError naming the key and the element.
 */
export function records<K extends string>(value: unknown, key: string, fields: Readonly<Record<K, Field>>): Array<Record<K, string | number>> {
  if (!Array.isArray(value)) throw new UnreadableOutputError(`${key} is not a list`);
  return value.map((item, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) throw new UnreadableOutputError(`${key}[${i}] is not an object`);
    const out = {} as Record<K, string | number>;
    for (const [name, type] of Object.entries(fields) as Array<[K, Field]>) {
      const v = (item as Record<string, unknown>)[name];
      out[name] = checkField(v, type, `${key}[${i}].${name}`);
    }
    return out;
  });
}

function checkField(v: unknown, type: Field, where: string): string | number {
  switch (type) {
    case "name":
      if (typeof v !== "string") throw new UnreadableOutputError(`${where} is not a string`);
      return plainLine(v).slice(0, 256);
    case "count":
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new UnreadableOutputError(`${where} is not a count`);
      return v;
    case "number":
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new UnreadableOutputError(`${where} is not a non-negative number`);
      return v;
    case "hex32?":
      if (typeof v !== "string" || !/^([0-9a-f]{32})?$/.test(v)) throw new UnreadableOutputError(`${where} is not an md5 digest`);
      return v;
  }
}

/** A list of plain names (invalid indexes). @throws UnreadableOutputError. */
export function names(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) throw new UnreadableOutputError(`${key} is not a list of names`);
  return value.map((v) => plainLine(v).slice(0, 256));
}
