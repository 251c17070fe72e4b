import Handlebars from "handlebars";
import { markdownText } from "../core/text.ts";

/**
 * The one place Handlebars is used. Templates are parsed when files are validated (a
 * bad template is a validation error), rendered in strict mode (a missing variable is
 * an error, not an empty string), and escaped for where the text goes:
 *
 * - `shell`: every `{{value}}` is shell-quoted, so YAML values can never inject commands.
 *   `{{{raw}}}` opts out and is reported by `steward validate` as a warning.
 * - `markdown`: every `{{value}}` is Markdown-escaped, for reports and pull requests.
 * - `text`: no escaping.
 *
 * HTML escaping, Handlebars' default, is right for none of these.
 */
export type TemplateMode = "shell" | "markdown" | "text";

/** Quotes a value for POSIX sh: safe inside any command line. */
export function shellQuote(value: unknown): string {
  const text = value === undefined || value === null ? "" : String(value);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Escapes a value for GitHub-flavoured Markdown so it renders as the text it is, and
 * neutralises mentions and issue references: see markdownText in src/core/text.ts.
 */
export function markdownEscape(value: unknown): string {
  return markdownText(value);
}

/** Helpers available to every template, registered from this one record. */
const helpers: Record<string, Handlebars.HelperDelegate> = {
  shell: (value: unknown) => shellQuote(value),
  md: (value: unknown) => markdownEscape(value),
  default: (value: unknown, fallback: unknown) => (value === undefined || value === null || value === "" ? fallback : value),
  upper: (value: unknown) => String(value).toUpperCase(),
  lower: (value: unknown) => String(value).toLowerCase(),
  join: (list: unknown, separator: unknown) => (Array.isArray(list) ? list.join(typeof separator === "string" ? separator : ", ") : String(list)),
  eq: (a: unknown, b: unknown) => a === b,
};
/** Handlebars' own block helpers, allowed alongside ours. */
const BUILTIN_HELPERS = ["if", "unless", "each", "with", "lookup", "log"];
/** Helpers whose arguments may be missing: that is what they test for. */
const TOLERANT_HELPERS = ["if", "unless", "default", "with", "each"];
export const HELPER_NAMES: readonly string[] = [...Object.keys(helpers), ...BUILTIN_HELPERS].sort();

const env = Handlebars.create();
for (const [name, fn] of Object.entries(helpers)) env.registerHelper(name, fn);

/** A variable path a template reads, with where it appears in the template text. */
export interface TemplateReference {
  path: string[];
  line: number;
  column: number;
  /** True for `{{{x}}}` / `{{& x}}`: inserted without escaping. */
  raw: boolean;
  /** True when the template tolerates a missing value (`{{#if x}}`, `{{default x "y"}}`). */
  optional: boolean;
}

export interface TemplateAnalysis {
  references: TemplateReference[];
  unknownHelpers: Array<{ name: string; line: number; column: number }>;
}

export class TemplateSyntaxError extends Error {
  /** 1-based line and column within the template text. */
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(message);
    this.line = line;
    this.column = column;
  }
}

/** 1-based line and column of a 0-based offset. */
function positionOf(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset);
  return { line: before.split("\n").length, column: offset - before.lastIndexOf("\n") };
}

/** 0-based offset of a 1-based line and 0-based column. */
function offsetOf(source: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = source.indexOf("\n", offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return offset + column;
}

/**
 * The usual causes of a template that ends too early, found by scanning the text: a
 * `{{` without its `}}` (reported at the `{{`), or a `{{#block}}` never closed
 * (reported at the block). The parser itself only says where the text ran out.
 */
function findUnclosed(source: string): TemplateSyntaxError | undefined {
  const blocks: Array<{ name: string; at: number }> = [];
  let from = 0;
  for (;;) {
    const at = source.indexOf("{{", from);
    if (at < 0) break;
    if (at > 0 && source[at - 1] === "\\") {
      from = at + 2;
      continue;
    }
    const comment = source.startsWith("{{!--", at);
    const close = comment ? source.indexOf("--}}", at + 5) : source.indexOf("}}", at + 2);
    const next = source.indexOf("{{", at + 2);
    if (close < 0 || (!comment && next >= 0 && next < close)) {
      const { line, column } = positionOf(source, at);
      return new TemplateSyntaxError("this {{ is never closed; add }} after the expression", line, column);
    }
    const inner = source.slice(at + 2, close);
    const opens = /^[{~]?\s*#\*?>?\s*([^\s}~]+)/.exec(inner);
    const ends = /^~?\s*\/\s*([^\s}~]+)/.exec(inner);
    if (opens) blocks.push({ name: opens[1]!, at });
    else if (ends && blocks.at(-1)?.name === ends[1]) blocks.pop();
    from = close + 2;
  }
  const open = blocks.at(-1);
  if (!open) return undefined;
  const { line, column } = positionOf(source, open.at);
  return new TemplateSyntaxError(`this {{#${open.name}}} is never closed; add {{/${open.name}}}`, line, column);
}

function parse(source: string): hbs.AST.Program {
  try {
    return env.parse(source);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const e = error as { lineNumber?: number; column?: number };
    if (e.lineNumber !== undefined) {
      const closes = /^(\S+) doesn't match (\S+)/.exec(message);
      if (closes) {
        // Handlebars reports the opening block; the mistake is the closing tag that does not match it.
        const text = `{{/${closes[2]}}} closes {{#${closes[1]}}}; close blocks in the order they were opened`;
        const opened = offsetOf(source, e.lineNumber, e.column ?? 0);
        const tag = new RegExp(`\\{\\{~?\\s*/\\s*${closes[2]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?=[\\s}~])`, "g");
        tag.lastIndex = opened;
        const found = tag.exec(source);
        const at = found ? positionOf(source, found.index) : { line: e.lineNumber, column: (e.column ?? 0) + 1 };
        throw new TemplateSyntaxError(text, at.line, at.column);
      }
      throw new TemplateSyntaxError(message.replace(/ - \d+:\d+$/, ""), e.lineNumber, (e.column ?? 0) + 1);
    }
    const unclosed = findUnclosed(source);
    if (unclosed) throw unclosed;
    // Jison's message: "Parse error on line N:", the text around the error, a caret line, "Expecting …, got 'TOKEN'".
    const [head = "", snippet = "", caret = "", expecting = ""] = message.split("\n");
    const line = Number(/line (\d+)/.exec(head)?.[1] ?? 1);
    const lineText = source.split("\n")[line - 1] ?? "";
    const at = caret.indexOf("^");
    const column = !snippet.startsWith("...") && at >= 0 && at <= lineText.length ? at + 1 : 1;
    const got = /got '(\w+)'/.exec(expecting)?.[1];
    const text =
      got === "EOF"
        ? "the template ends before a {{ … }} or a {{#block}} is closed"
        : got === "INVALID"
          ? "unexpected text inside {{ … }}: expected a variable like vars.name or a helper call"
          : `the template cannot be parsed (${expecting || head})`;
    throw new TemplateSyntaxError(text, line, column);
  }
}

/** A template that referred to a missing value or a helper failed while rendering. */
export class TemplateRenderError extends Error {}

type Statement = hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression;

/**
 * Lists the variables and helpers a template uses. Paths inside `{{#each}}`/`{{#with}}`
 * are relative to the block's item and are not listed, except through `@root`.
 * Throws TemplateSyntaxError with the template-relative position on bad syntax.
 */
export function analyzeTemplate(source: string): TemplateAnalysis {
  const analysis: TemplateAnalysis = { references: [], unknownHelpers: [] };
  const visitExpr = (node: hbs.AST.Expression, scoped: boolean, raw: boolean, optional: boolean): void => {
    if (node.type === "PathExpression") {
      const path = node as hbs.AST.PathExpression;
      if (path.data) {
        if (path.parts[0] === "root") {
          analysis.references.push({ path: path.parts.slice(1).map(String), line: path.loc.start.line, column: path.loc.start.column + 1, raw, optional });
        }
        return;
      }
      if (scoped || path.parts.length === 0 || path.original === "this") return;
      analysis.references.push({ path: path.parts.map(String), line: path.loc.start.line, column: path.loc.start.column + 1, raw, optional });
    } else if (node.type === "SubExpression") {
      visitCall(node as hbs.AST.SubExpression, scoped, false);
    }
  };
  const visitCall = (node: Statement, scoped: boolean, raw: boolean): void => {
    const isCall = node.params.length > 0 || (node.hash?.pairs.length ?? 0) > 0 || node.type === "BlockStatement" || node.type === "SubExpression";
    let optional = false;
    if (isCall && node.path.type === "PathExpression") {
      const name = (node.path as hbs.AST.PathExpression).original;
      const at = node.path.loc.start;
      if (!HELPER_NAMES.includes(name)) analysis.unknownHelpers.push({ name, line: at.line, column: at.column + 1 });
      optional = TOLERANT_HELPERS.includes(name);
    } else {
      visitExpr(node.path, scoped, raw, false);
    }
    for (const p of node.params) visitExpr(p, scoped, raw, optional);
    for (const pair of node.hash?.pairs ?? []) visitExpr(pair.value, scoped, raw, optional);
  };
  const visitProgram = (program: hbs.AST.Program | undefined, scoped: boolean): void => {
    for (const statement of program?.body ?? []) {
      if (statement.type === "PartialStatement" || statement.type === "PartialBlockStatement") {
        // No partials are registered, so rendering would fail on every host.
        const at = statement.loc.start;
        throw new TemplateSyntaxError("templates cannot include partials ({{> name}}); write the text out or use a helper", at.line, at.column + 1);
      }
      if (statement.type === "MustacheStatement") {
        const m = statement as hbs.AST.MustacheStatement;
        visitCall(m, scoped, !m.escaped);
      } else if (statement.type === "BlockStatement") {
        const b = statement as hbs.AST.BlockStatement;
        visitCall(b, scoped, false);
        const name = b.path.type === "PathExpression" ? (b.path as hbs.AST.PathExpression).original : "";
        const changesContext = name === "each" || name === "with";
        visitProgram(b.program, scoped || changesContext);
        visitProgram(b.inverse, scoped);
      }
    }
  };
  visitProgram(parse(source), false);
  return analysis;
}

/** Wraps each escaped `{{expr}}` in the mode's escaping helper, so escaping cannot be forgotten. */
function wrapEscapes(program: hbs.AST.Program, helper: string): void {
  for (const statement of program.body) {
    if (statement.type === "MustacheStatement") {
      const m = statement as hbs.AST.MustacheStatement & { path: hbs.AST.Expression; params: hbs.AST.Expression[]; hash: hbs.AST.Hash | undefined };
      if (!m.escaped) continue;
      const inner: hbs.AST.Expression =
        m.params.length > 0 || (m.hash?.pairs.length ?? 0) > 0
          ? ({ type: "SubExpression", path: m.path, params: m.params, hash: m.hash, loc: m.loc } as hbs.AST.SubExpression)
          : m.path;
      m.path = { type: "PathExpression", data: false, depth: 0, parts: [helper], original: helper, loc: m.loc } as hbs.AST.PathExpression;
      m.params = [inner];
      m.hash = { type: "Hash", pairs: [], loc: m.loc } as hbs.AST.Hash;
    } else if (statement.type === "BlockStatement") {
      const b = statement as hbs.AST.BlockStatement;
      if (b.program) wrapEscapes(b.program, helper);
      if (b.inverse) wrapEscapes(b.inverse, helper);
    }
  }
}

export type RenderFn = (context: Record<string, unknown>) => string;

function isSet(context: Record<string, unknown>, path: string[]): boolean {
  let value: unknown = context;
  for (const part of path) {
    if (value === null || typeof value !== "object" || !(part in value)) return false;
    value = (value as Record<string, unknown>)[part];
  }
  return value !== undefined;
}

/**
 * Compiles a template for a destination; rendering throws TemplateRenderError when a
 * variable it needs is missing. The check is ours, not Handlebars' strict mode: once a
 * value is wrapped in the escaping helper, Handlebars no longer checks it.
 */
export function compileTemplate(source: string, mode: TemplateMode): RenderFn {
  const ast = parse(source);
  const required = analyzeTemplate(source).references.filter((r) => !r.optional);
  if (mode !== "text") wrapEscapes(ast, mode === "shell" ? "shell" : "md");
  const template = env.compile(ast, { strict: true, noEscape: true });
  return (context) => {
    const missing = required.find((r) => !isSet(context, r.path));
    if (missing) throw new TemplateRenderError(`the template reads \`${missing.path.join(".")}\`, which is not set (template line ${missing.line}, column ${missing.column})`);
    try {
      return template(context);
    } catch (error) {
      throw new TemplateRenderError(`the template failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}
