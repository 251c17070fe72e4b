import jsYaml from "js-yaml";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import type { Diagnostic } from "../core/diagnostic.ts";
import { segmentsOf } from "../core/diagnostic.ts";

/** Files larger than this are refused before parsing: no inventory needs more, and it bounds memory. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** Alias expansions allowed per document; stops billion-laughs documents before they expand. */
export const MAX_ALIAS_COUNT = 1000;

/** A parsed YAML file; source positions are worked out when a diagnostic needs one. */
export interface YamlSource {
  /** Repository-relative path with forward slashes. */
  file: string;
  text: string;
  /** The plain JavaScript value (null for an empty file). */
  value: unknown;
  /** The document with node positions, parsed on first use and kept. */
  positions: () => { doc: Document.Parsed; lines: LineCounter };
}

/**
 * Values are read with js-yaml (about fifteen times faster on large inventories) and,
 * only for files that need a diagnostic or might hold an alias bomb, with the `yaml`
 * library, whose documents keep every node's position and whose errors are precise.
 * Both read YAML 1.2's core schema, so they agree on what a value means.
 */
const MAYBE_ALIAS = /(?:^|[\s[{,:-])\*[A-Za-z0-9_-]/m;

function fastValue(text: string): { ok: true; value: unknown } | { ok: false } {
  if (MAYBE_ALIAS.test(text)) return { ok: false };
  try {
    return { ok: true, value: jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA }) ?? null };
  } catch {
    return { ok: false };
  }
}

function positionsOf(text: string): () => { doc: Document.Parsed; lines: LineCounter } {
  let cached: { doc: Document.Parsed; lines: LineCounter } | undefined;
  return () => {
    if (!cached) {
      const lines = new LineCounter();
      const doc = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, version: "1.2", logLevel: "silent" });
      cached = { doc: (Array.isArray(doc) ? doc[0] : undefined) ?? (parseAllDocuments("")[0] as Document.Parsed), lines };
    }
    return cached;
  };
}

export interface Position {
  line: number;
  column: number;
}

const friendly: Record<string, (raw: string) => { message: string; hint?: string }> = {
  DUPLICATE_KEY: () => ({
    message: "the same key appears twice in one mapping",
    hint: "YAML keeps only one of them; delete or rename the duplicate",
  }),
  TAB_AS_INDENT: () => ({
    message: "a tab is used for indentation; YAML allows only spaces",
    hint: "replace the tab with spaces (configure your editor to insert spaces in YAML files)",
  }),
  BAD_INDENT: (raw) => ({ message: raw, hint: "align the key with its siblings, using spaces" }),
  MISSING_CHAR: (raw) => ({ message: raw, hint: "a quote, bracket or brace is not closed" }),
  BLOCK_AS_IMPLICIT_KEY: (raw) => ({ message: raw, hint: "a ':' after a value starts a new key; quote the value if the ':' belongs to it" }),
  MULTILINE_IMPLICIT_KEY: (raw) => ({ message: raw, hint: "check for a missing ':' after the key on the line above, or an unclosed quote" }),
};

function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
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
  const fast = fastValue(text);
  if (fast.ok) return { source: { file, text, value: fast.value, positions: positionsOf(text) }, diagnostics: [] };
  const lines = new LineCounter();
  // YAML 1.2 core schema: `no`, `on` and `yes` stay strings (no "Norway problem").
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true, version: "1.2", logLevel: "silent" });
  const list = Array.isArray(docs) ? docs : [];
  const diagnostics: Diagnostic[] = [];
  for (const doc of list) {
    for (const error of doc.errors) {
      const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
      const raw = firstLine(error.message);
      const known = friendly[error.code]?.(raw);
      diagnostics.push(at(pos.line, pos.col, `yaml/${error.code.toLowerCase().replace(/_/g, "-")}`, known?.message ?? raw, known?.hint));
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
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const anchor = /alias/i.test(message);
    return {
      diagnostics: [
        at(
          1,
          1,
          anchor ? "yaml/alias-bomb" : "yaml/invalid",
          anchor ? `aliases expand to more than ${MAX_ALIAS_COUNT} nodes; this looks like an alias bomb` : firstLine(message),
          anchor ? "use fewer nested aliases (*name), or write the values out" : undefined,
        ),
      ],
    };
  }
  return { source: { file, text, value, positions: () => ({ doc, lines }) }, diagnostics };
}

/** The YAML node at a JSON pointer, or the deepest ancestor that exists. */
function walk(source: YamlSource, pointer: string, wantKey: boolean): Node | null {
  let node: unknown = source.positions().doc.contents;
  const segments = segmentsOf(pointer);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === segment);
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
 * Position of a character inside a scalar's value (e.g. a bad token in a selector):
 * accounts for the opening quote of quoted scalars. Falls back to the scalar's start.
 */
export function locateInScalar(source: YamlSource, pointer: string, index: number): Position {
  const node = walk(source, pointer, false);
  if (!isScalar(node) || !node.range) return locate(source, pointer);
  const quoted = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE";
  const plainSingleLine = node.type === "PLAIN" || quoted;
  if (!plainSingleLine) return locate(source, pointer);
  const pos = source.positions().lines.linePos(node.range[0] + (quoted ? 1 : 0) + index);
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

/**
 * Position of a (1-based) line and column inside a template held by a scalar: block
 * scalars (`|`, `>`) start their text on the line after the indicator.
 */
export function locateInTemplate(source: YamlSource, pointer: string, line: number, column: number): Position {
  const node = walk(source, pointer, false);
  if (!isScalar(node) || !node.range) return locate(source, pointer);
  if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") {
    const header = source.positions().lines.linePos(node.range[0]).line;
    const target = header + line;
    const text = source.text.split("\n", target)[target - 1] ?? "";
    const indent = /^ */.exec(text)?.[0].length ?? 0;
    return { line: target, column: indent + column };
  }
  if (line === 1) return locateInScalar(source, pointer, column - 1);
  return locate(source, pointer);
}
