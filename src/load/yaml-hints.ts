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
