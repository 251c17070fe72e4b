import jsYaml from "js-yaml";
import { isMap, isPair, isScalar, isSeq, parseAllDocuments, parseDocument, visit, type Document, type Node, type Pair, type YAMLMap } from "yaml";
import type { Diagnostic } from "../core/diagnostic.ts";
import { segmentsOf } from "../core/diagnostic.ts";
import { invisibleCharacters } from "./invisible.ts";
import { checkAliases, duplicateKeys, errorPosition, firstLine, friendly, MAX_ALIAS_COUNT, unclosedFlow } from "./yaml-errors.ts";
import { LineIndex, valueOffsets } from "./yaml-positions.ts";
import { aliasHint, explicitTags, noBreakSpaces, reservedHint, tagHint, templateMappings, tooDeep, type YamlHint } from "./yaml-hints.ts";

/** Files larger than this are refused before parsing: no inventory needs more, and it bounds memory. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
export { MAX_ALIAS_COUNT } from "./yaml-errors.ts";

/** A parsed YAML file; source positions are worked out when a diagnostic needs one. */
export interface YamlSource {
  /** Repository-relative path with forward slashes. */
  file: string;
  text: string;
  /** The plain JavaScript value (null for an empty file). */
  value: unknown;
  /** The document with node positions, parsed on first use and kept. */
  positions: () => { doc: Document.Parsed; lines: LineIndex };
}

/**
 * Values are read with js-yaml (about fifteen times faster on large inventories) and,
 * only for files that need a diagnostic or might hold an alias bomb, with the `yaml`
 * library, whose documents keep every node's position and whose errors are precise.
 * Both read YAML 1.2's core schema, so they agree on what a value means.
 */
/**
 * True when some mapping or list is reached twice: js-yaml shares one object per alias
 * instead of copying it, so later walks would expand an alias bomb. Judged by the
 * structure of the value, not by how anchor names look (`&a.b`, `&.x` are names too).
 */
function sharesCollections(value: unknown): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) continue;
    if (seen.has(node)) return true;
    seen.add(node);
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push(child);
  }
  return false;
}

/**
 * YAML 1.2's core schema plus merge keys (`<<: *defaults`, from YAML 1.1): common in
 * hand-written YAML to share settings between hosts or steps, and read the same way by
 * both parsers (js-yaml's merge type, the yaml library's `merge: true`).
 */
const SCHEMA = jsYaml.CORE_SCHEMA.extend({
  // js-yaml's own merge type (lib/type/merge.js), which its typings do not export.
  implicit: [new jsYaml.Type("tag:yaml.org,2002:merge", { kind: "scalar", resolve: (data: unknown) => data === "<<" || data === null })],
});

function fastValue(text: string): { ok: true; value: unknown } | { ok: false } {
  let value: unknown;
  try {
    value = jsYaml.load(text, { schema: SCHEMA }) ?? null;
  } catch {
    return { ok: false };
  }
  // Aliased collections take the slow path, where expansions are counted before anything walks them.
  return sharesCollections(value) ? { ok: false } : { ok: true, value };
}

function positionsOf(text: string): () => { doc: Document.Parsed; lines: LineIndex } {
  let cached: { doc: Document.Parsed; lines: LineIndex } | undefined;
  return () => {
    if (!cached) {
      // js-yaml has already refused duplicate keys; the yaml library's own check is quadratic.
      const doc = parseAllDocuments(text, { uniqueKeys: false, merge: true, version: "1.2", logLevel: "silent" });
      // An empty file (or one of only comments) holds no document; an empty one puts positions at 1:1.
      cached = { doc: (Array.isArray(doc) ? doc[0] : undefined) ?? parseDocument(""), lines: new LineIndex(text) };
    }
    return cached;
  };
}

export interface Position {
  line: number;
  column: number;
}



/**
 * Parses one YAML file. Never throws on bad input: syntax errors, duplicate keys, tabs,
 * several documents, oversized files and alias bombs all become diagnostics with a
 * position. Returns no source when the file cannot be used at all.
 */
export function parseYaml(file: string, text: string): { source?: YamlSource; diagnostics: Diagnostic[] } {
  const at = (line: number, column: number, rule: string, message: string, hint?: string): Diagnostic => ({
    severity: "error",
    rule,
    file,
    line,
    column,
    pointer: "",
    message,
    ...(hint === undefined ? {} : { hint }),
  });
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_FILE_BYTES) {
    return {
      diagnostics: [
        at(1, 1, "yaml/too-large", `file is ${(bytes / 1048576).toFixed(1)} MiB; the limit is ${MAX_FILE_BYTES / 1048576} MiB`, "split it into several files in the same folder; they are merged"),
      ],
    };
  }
  const hinted = (list: YamlHint[]): Diagnostic[] => list.map((h) => at(h.line, h.column, h.rule, h.message, h.hint));
  const nbsp = noBreakSpaces(text);
  if (nbsp.length > 0) return { diagnostics: hinted(nbsp) };
  const invisible = invisibleCharacters(text);
  if (invisible.length > 0) return { diagnostics: hinted(invisible) };
  const deep = tooDeep(text);
  if (deep) return { diagnostics: hinted([deep]) };
  const fast = fastValue(text);
  if (fast.ok) {
    const positions = positionsOf(text);
    const templates = /\{\{/.test(text) ? templateMappings(text, positions().doc, positions().lines) : [];
    if (templates.length > 0) return { diagnostics: hinted(templates) };
    const tags = text.includes("!") ? explicitTags(text, positions().doc, positions().lines) : [];
    if (tags.length > 0) return { diagnostics: hinted(tags) };
    return { source: { file, text, value: fast.value, positions }, diagnostics: [] };
  }
  const lines = new LineIndex(text);
  // YAML 1.2 core schema: `no`, `on` and `yes` stay strings (no "Norway problem").
  // Duplicate keys are found by duplicateKeys (linear); the parser's check compares each key with all before it.
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: false, merge: true, version: "1.2", logLevel: "silent" });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) doc.errors.push(...duplicateKeys(doc));
  const diagnostics: Diagnostic[] = [];
  const textLines = text.split("\n");
  const hintedLines = new Set<number>();
  const reportedLines = new Set<number>();
  for (const doc of list) {
    // A tab or a bad indent moves keys into the wrong mapping: "duplicate" keys then are its echo.
    const structural = doc.errors.some((e) => e.code === "TAB_AS_INDENT" || e.code === "BAD_INDENT");
    for (const error of doc.errors) {
      if (structural && error.code === "DUPLICATE_KEY") continue;
      const pos = errorPosition(error, doc, text, lines);
      // The first error of a line is the cause; the parser's later ones on that line restate it.
      if (reportedLines.has(pos.line)) continue;
      reportedLines.add(pos.line);
      const unclosed = unclosedFlow(error, text, lines);
      if (unclosed) {
        diagnostics.push(at(unclosed.line, unclosed.col, "yaml/unclosed-bracket", `this ${unclosed.bracket} is never closed`, `add the closing ${unclosed.bracket === "[" ? "]" : "}"} where the list ends (on one line, or indented under its key)`));
        continue;
      }
      const lineText = textLines[pos.line - 1] ?? "";
      // A value starting with '*' gives one cryptic error per '*'; say once, plainly, what happened.
      const alias = error.code === "BAD_ALIAS" || (error.code === "UNEXPECTED_TOKEN" && /alias/i.test(error.message)) ? aliasHint(lineText) : undefined;
      if (alias) {
        if (!hintedLines.has(pos.line)) diagnostics.push(at(pos.line, (/\S/.exec(lineText.slice(lineText.indexOf(":") + 1))?.index ?? 0) + lineText.indexOf(":") + 2, "yaml/unquoted-star", alias.message, alias.hint));
        hintedLines.add(pos.line);
        continue;
      }
      const raw = firstLine(error.message);
      const known = error.code === "BAD_SCALAR_START" ? (reservedHint(lineText) ?? friendly[error.code]?.(raw)) : friendly[error.code]?.(raw);
      diagnostics.push(at(pos.line, pos.col, `yaml/${error.code.toLowerCase().replace(/_/g, "-")}`, known?.message ?? raw, known?.hint));
    }
    for (const warning of doc.warnings) {
      if (warning.code !== "TAG_RESOLVE_FAILED") continue;
      const pos = lines.linePos(warning.pos[0]);
      const tag = tagHint(textLines[pos.line - 1] ?? "");
      diagnostics.push(at(pos.line, pos.col, "yaml/unknown-tag", tag?.message ?? firstLine(warning.message), tag?.hint ?? "steward files use no YAML tags; quote a value that starts with '!'"));
    }
  }
  if (list.length > 1) {
    const second = list[1]!;
    const pos = lines.linePos(second.range[0]);
    diagnostics.push(at(pos.line, pos.col, "yaml/multiple-documents", "the file holds more than one YAML document ('---')", "keep one document per file; put the others in files of their own"));
  }
  if (diagnostics.length > 0) return { diagnostics };
  const doc = list[0];
  if (!doc) return { source: { file, text, value: null, positions: positionsOf(text) }, diagnostics };
  const aliases = checkAliases(doc);
  if (aliases.unresolved) {
    const pos = lines.linePos(aliases.unresolved.range?.[0] ?? 0);
    const text2 = aliasHint(text.split("\n")[pos.line - 1] ?? "");
    return { diagnostics: [at(pos.line, pos.col, "yaml/unknown-alias", `the alias \`*${aliases.unresolved.source}\` refers to no anchor before it`, `define \`&${aliases.unresolved.source}\` on a value above this line, or write the value out${text2 ? `; if the '*' is part of the text, ${text2.hint}` : ""}`)] };
  }
  const bomb = aliases.overflow;
  if (bomb) {
    const pos = lines.linePos(bomb.range?.[0] ?? 0);
    return { diagnostics: [at(pos.line, pos.col, "yaml/alias-bomb", `aliases expand more than ${MAX_ALIAS_COUNT} times by this one; this looks like an alias bomb`, "use fewer nested aliases (*name), or write the values out")] };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const anchor = /alias/i.test(message);
    let first: Node | undefined;
    visit(doc, { Alias: (_key, node) => (first ??= node, visit.BREAK) });
    const pos = anchor && first?.range ? lines.linePos(first.range[0]) : { line: 1, col: 1 };
    return {
      diagnostics: [
        at(
          pos.line,
          pos.col,
          anchor ? "yaml/alias-bomb" : "yaml/invalid",
          anchor ? `aliases expand to more than ${MAX_ALIAS_COUNT} nodes; this looks like an alias bomb` : firstLine(message),
          anchor ? "use fewer nested aliases (*name), or write the values out" : undefined,
        ),
      ],
    };
  }
  const templates = templateMappings(text, doc, lines);
  if (templates.length > 0) return { diagnostics: hinted(templates) };
  const tags = explicitTags(text, doc, lines);
  if (tags.length > 0) return { diagnostics: hinted(tags) };
  return { source: { file, text, value, positions: () => ({ doc, lines }) }, diagnostics };
}

/** Each mapping's pairs by key text, built on first lookup: locating N keys stays linear. */
const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
    pairIndex.set(map, index);
  }
  return index.get(key);
}

/** The YAML node at a JSON pointer, or the deepest ancestor that exists. */
function walk(source: YamlSource, pointer: string, wantKey: boolean): Node | null {
  let node: unknown = source.positions().doc.contents;
  const segments = segmentsOf(pointer);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (isMap(node)) {
      const pair = pairOf(node, segment);
      if (!pair) return node;
      if (last && wantKey) return pair.key as Node;
      node = pair.value ?? pair.key;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)];
      if (item === undefined) return node;
      node = item;
    } else {
      return (node as Node | null) ?? null;
    }
  }
  return (node as Node | null) ?? null;
}

/** Position of the value (or, with `key`, the key) a JSON pointer names in a file. */
export function locate(source: YamlSource, pointer: string, options: { key?: boolean } = {}): Position {
  const node = walk(source, pointer, options.key ?? false);
  const offset = node?.range?.[0] ?? 0;
  const pos = source.positions().lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/**
 * Position of a character inside a scalar's value (e.g. a bad token in a selector or a
 * template): quoted, plain and block scalars, on any of their lines. Falls back to the
 * scalar's start.
 */
export function locateInScalar(source: YamlSource, pointer: string, index: number): Position {
  const node = walk(source, pointer, false);
  if (!isScalar(node) || !node.range) return locate(source, pointer);
  const offsets = valueOffsets(source.text, node);
  const offset = offsets?.[Math.max(0, Math.min(index, offsets.length - 1))];
  if (offset === undefined) return locate(source, pointer);
  const pos = source.positions().lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** A diagnostic placed at the value (or key) a JSON pointer names in a file. */
export function diagnosticAt(
  source: YamlSource,
  pointer: string,
  rule: string,
  message: string,
  options: { hint?: string; key?: boolean; severity?: Diagnostic["severity"]; index?: number } = {},
): Diagnostic {
  const pos = options.index === undefined ? locate(source, pointer, { key: options.key ?? false }) : locateInScalar(source, pointer, options.index);
  return {
    severity: options.severity ?? "error",
    rule,
    file: source.file,
    line: pos.line,
    column: pos.column,
    pointer,
    message,
    ...(options.hint === undefined ? {} : { hint: options.hint }),
  };
}

/** Position of a (1-based) line and column inside the value of a scalar, e.g. where a template error is. */
export function locateInTemplate(source: YamlSource, pointer: string, line: number, column: number): Position {
  const node = walk(source, pointer, false);
  if (!isScalar(node)) return locate(source, pointer);
  const lines = String(node.value).split("\n");
  let index = 0;
  for (let l = 0; l < line - 1 && l < lines.length; l++) index += lines[l]!.length + 1;
  return locateInScalar(source, pointer, index + column - 1);
}
