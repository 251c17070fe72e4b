import { isMap, visit, type Document } from "yaml";

/**
 * Plain words for the YAML mistakes whose parser message does not say what to do:
 * a value that starts with `*` or `!` or `{{`, and a no-break space after a colon.
 * Each finding says what YAML read and how to write what was meant (usually: quote it).
 */
export interface YamlHint {
  line: number;
  column: number;
  rule: string;
  message: string;
  hint: string;
}

/** `key: value` or `- value` on one line: the value's text and its 0-based column. */
function valueOf(lineText: string): { key: string | undefined; value: string; column: number } | undefined {
  const m = /^(\s*(?:-\s+)*)(?:([^\s#'"][^:#]*?):[ \t]+)?(\S.*?)\s*(?:\s#.*)?$/.exec(lineText);
  if (!m) return undefined;
  return { key: m[2], value: m[3]!, column: m[1]!.length + (m[2] === undefined ? 0 : lineText.slice(m[1]!.length).indexOf(m[3]!, m[2].length + 1)) };
}

const quoteIt = (key: string | undefined, value: string): string => `quote it: ${key === undefined ? "- " : `${key}: `}${JSON.stringify(value)}`;

/** A value starting with `*` that YAML read as an alias (an empty one, or one followed by more text). */
export function aliasHint(lineText: string): { message: string; hint: string } | undefined {
  const v = valueOf(lineText);
  if (!v || !v.value.startsWith("*")) return undefined;
  const cron = /^\S+(\s+\S+){4}$/.test(v.value);
  return {
    message: `${v.value === "*" ? "a lone `*`" : `\`${v.value}\``} starts with '*', which YAML reads as an alias (a reference to an &anchor)${cron ? "; this looks like a cron schedule" : ""}`,
    hint: quoteIt(v.key, v.value),
  };
}

/** A value starting with `!` that YAML read as a tag (e.g. a selector `!group:x`). */
export function tagHint(lineText: string): { message: string; hint: string } | undefined {
  const v = valueOf(lineText);
  if (!v || !v.value.startsWith("!")) return undefined;
  return { message: `\`${v.value}\` starts with '!', which YAML reads as a tag, so the value is lost`, hint: quoteIt(v.key, v.value) };
}

/** A value starting with '@' or '`', which YAML reserves (YAML 1.2 §5.3, c-reserved). */
export function reservedHint(lineText: string): { message: string; hint: string } | undefined {
  const v = valueOf(lineText);
  if (!v || !/^[@`]/.test(v.value)) return undefined;
  return { message: `\`${v.value}\` starts with '${v.value[0]}', which YAML reserves`, hint: quoteIt(v.key, v.value) };
}

/** U+00A0 right after a ':' (common when YAML is pasted from a web page or chat): YAML sees no separating space. */
export function noBreakSpaces(text: string): YamlHint[] {
  if (!text.includes("\u00a0")) return [];
  const out: YamlHint[] = [];
  text.split("\n").forEach((lineText, i) => {
    const at = lineText.search(/:\u00a0/);
    if (at >= 0 && !/^\s*#/.test(lineText)) {
      out.push({ line: i + 1, column: at + 2, rule: "yaml/no-break-space", message: "a no-break space (U+00A0) follows the ':'; YAML needs an ordinary space there, so the key and its value run together", hint: "replace it with a normal space (it often comes from copying out of a web page)" });
    }
  });
  return out;
}

/**
 * How steward's templates say what a template written for Ansible or Jinja means
 * (`{{ x | default('y') }}`, `{{inventory_hostname}}`, `{{ansible_host}}`), or "" when
 * the text shows neither. Also meant for template errors inside quoted values.
 */
export function templateSpelling(inner: string): string {
  if (/\|\s*default\s*\(/.test(inner)) return `steward templates are Handlebars, not Jinja: write {{default vars.x "y"}} instead of {{ x | default('y') }}`;
  if (/\|/.test(inner)) return "steward templates are Handlebars, not Jinja: filters are helpers written before the value, e.g. {{default vars.x \"y\"}}";
  if (/\binventory_hostname\b/.test(inner)) return "in steward, the host's name is {{host.name}} (Ansible's inventory_hostname)";
  if (/\bansible_host\b/.test(inner)) return "in steward, the host's address is {{host.address}} (Ansible's ansible_host)";
  return "";
}

const UNQUOTED_TEMPLATE = /(?:^|[:,[\-?])[ \t]*\{\{/m;

/**
 * Values written as `{{…}}` without quotes: YAML reads them as a mapping inside a
 * mapping, so the template is lost. Only called when the text has such a value.
 */
export function templateMappings(text: string, doc: Document.Parsed, lines: { linePos(offset: number): { line: number; col: number } }): YamlHint[] {
  if (!UNQUOTED_TEMPLATE.test(text)) return [];
  const out: YamlHint[] = [];
  visit(doc, {
    Map: (_key, node) => {
      const start = node.range?.[0];
      if (!isMap(node) || !node.flow || start === undefined || !text.startsWith("{{", start)) return undefined;
      const end = text.indexOf("}}", start);
      const written = text.slice(start, end < 0 ? start + 40 : end + 2);
      const spelling = templateSpelling(written);
      const pos = lines.linePos(start);
      out.push({ line: pos.line, column: pos.col, rule: "yaml/unquoted-template", message: `\`${written}\` is not quoted, so YAML reads it as a mapping, not as a template`, hint: `quote the whole value, e.g. "${written}"${spelling ? `; ${spelling}` : ""}` });
      return visit.SKIP;
    },
  });
  return out;
}

/** Deepest nesting of mappings and lists read; no steward file needs more, and deeper input exhausts the parser's stack. */
export const MAX_NESTING = 64;

/**
 * Where a text nests deeper than MAX_NESTING levels, counting block levels by
 * indentation (and `- ` item markers) and flow levels by `[`/`{` outside quotes. An
 * estimate made before parsing, so that a 790-level document gets one plain error
 * instead of "Maximum call stack size exceeded" at every level.
 */
export function tooDeep(text: string): YamlHint | undefined {
  const indents: number[] = [];
  let flow = 0;
  const lines = text.split("\n");
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l]!;
    const content = /^([ ]*)((?:-[ ]+)*)(\S)?/.exec(line)!;
    if (flow === 0 && content[3] !== undefined && content[3] !== "#") {
      const indent = content[1]!.length;
      while (indents.length > 0 && indents.at(-1)! >= indent) indents.pop();
      indents.push(indent);
      // Each `- ` opens a list level of its own.
      for (let i = 0; i < content[2]!.length; i += 2) indents.push(indent + i + 1);
    }
    let quote: string | undefined;
    for (let c = 0; c < line.length; c++) {
      const ch = line[c]!;
      if (quote) {
        if (ch === quote) quote = undefined;
      } else if (ch === "'" || ch === '"') quote = ch;
      else if (ch === "#" && (c === 0 || line[c - 1] === " ")) break;
      else if (ch === "[" || ch === "{") {
        flow++;
        if (indents.length + flow > MAX_NESTING) return nestingHint(l + 1, c + 1);
      } else if ((ch === "]" || ch === "}") && flow > 0) flow--;
    }
    if (indents.length + flow > MAX_NESTING) return nestingHint(l + 1, (content[1]?.length ?? 0) + 1);
  }
  return undefined;
}

function nestingHint(line: number, column: number): YamlHint {
  return { line, column, rule: "yaml/too-deep", message: `the file nests mappings and lists deeper than ${MAX_NESTING} levels`, hint: "steward files need only a few levels; flatten the structure (this is usually generated or damaged input)" };
}

/**
 * Values with an explicit YAML tag (`!!binary aGk=`, `!!str 12`, `!custom x`). Steward
 * reads plain YAML values only: a tag changes what a value is (a `!!binary` value is
 * bytes, not text) in ways the schema then reports as a wrong type, far from the cause.
 */
export function explicitTags(text: string, doc: Document.Parsed, lines: { linePos(offset: number): { line: number; col: number } }): YamlHint[] {
  if (!text.includes("!")) return [];
  const out: YamlHint[] = [];
  visit(doc, {
    Node: (_key, node) => {
      const start = node.range?.[0];
      if (node.tag === undefined || start === undefined) return;
      // The tag is written before the value's range: find its '!' and the token it begins.
      const bang = text.lastIndexOf("!", start);
      if (bang < 0) return;
      let from = bang;
      while (from > 0 && text[from - 1] === "!") from--;
      const written = /^\S+/.exec(text.slice(from))?.[0] ?? "!";
      const pos = lines.linePos(from);
      out.push({ line: pos.line, column: pos.col, rule: "yaml/tag", message: `\`${written}\` is a YAML tag; steward files use no tags`, hint: "remove the tag and write the value as plain text (quote a value that starts with '!')" });
    },
  });
  return out;
}
