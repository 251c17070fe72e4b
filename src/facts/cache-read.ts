import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { StewardError } from "../core/errors.ts";
import { scanJsonShape } from "../core/json-shape.ts";
import { factsResultProblems } from "./schema.ts";
import type { FactsResult } from "./types.ts";

/**
 * Reading one cached facts file as untrusted input: anyone with write access to the
 * cache folder (or a bad checkout) may have put anything there. The file is opened
 * without following a symbolic link, must be a regular file of bounded size, UTF-8,
 * JSON nested at most {@link MAX_FACTS_DEPTH} deep without a repeated key, and a
 * FactsResult by schemas/facts.schema.json for the host it is named after.
 * Errors name the file and what is wrong with it, and never quote its contents: a link
 * to /etc/shadow must not print a password hash.
 */

/**
 * Largest cached facts file read, and written (src/facts/cache.ts writes a failure in
 * place of facts whose JSON is larger, so steward never writes a file it would then
 * refuse). Compact JSON of what fits the facts script's 32 MiB output budget is at most
 * about twice its size: each package line gains its member names.
 */
export const MAX_FACTS_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Deepest nesting of a cached facts file: facts are about 6 levels deep. The bound is
 * checked by a scan before JSON.parse, whose time and memory grow with the depth.
 */
export const MAX_FACTS_DEPTH = 32;

const HINT = "delete the file or gather facts again with `steward facts`";

/** The cached result of `host` at `path`; undefined when there is no such file. Throws StewardError "invalid-input". */
export function readFactsFile(path: string, host: string): FactsResult | undefined {
  const bad = (what: string, hint = HINT): StewardError => new StewardError("invalid-input", `${path}: ${what}`, hint);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO planted in the cache must not hang the planner.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw bad("is a symbolic link; cached facts are never read through links", "replace the link with the facts file itself, or gather facts again");
    throw bad(`cannot be opened (${code ?? "error"})`);
  }
  let bytes: Buffer;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw bad("not a regular file");
    if (stat.size > MAX_FACTS_FILE_BYTES) throw bad(`larger than ${MAX_FACTS_FILE_BYTES} bytes`);
    bytes = Buffer.alloc(stat.size);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, read);
      if (n === 0) break;
      read += n;
    }
    bytes = bytes.subarray(0, read);
  } finally {
    closeSync(fd);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw bad("not UTF-8 text");
  }
  const shape = scanJsonShape(text, MAX_FACTS_DEPTH);
  if (shape.tooDeep) throw bad(`nested more than ${MAX_FACTS_DEPTH} levels deep, so not a facts result`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad(`not JSON${jsonErrorPlace(error, text)}`);
  }
  if (shape.duplicate !== undefined) throw bad(`has the key ${shape.duplicate} twice; a reader could see one value and steward the other`);
  const problems = factsResultProblems(value);
  if (problems.length > 0) throw bad(`not a facts result: ${problems.join("; ")}`);
  const result = value as FactsResult;
  if (result.host !== host) throw bad(`holds the facts of another host, not '${host}'`, `gather facts again, or name the file after the host it holds`);
  return result;
}

/** " at line L col C" from V8's JSON.parse message when it gives a position; the message itself may quote the text. */
function jsonErrorPlace(error: unknown, text: string): string {
  const match = error instanceof Error ? /at position (\d+)/.exec(error.message) : null;
  if (!match) return "";
  const position = Math.min(Number(match[1]), text.length);
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  const col = position - before.lastIndexOf("\n");
  return ` at line ${line} col ${col}`;
}
