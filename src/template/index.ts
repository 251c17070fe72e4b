import Handlebars from "handlebars";
import { markdownText } from "../core/text.ts";
import { parse, TemplateSyntaxError } from "./parse.ts";
import { CONTEXT_WORDS, shellPlacements, type Placement, type ShellContext } from "./shell-context.ts";

export { TemplateSyntaxError } from "./parse.ts";

/**
 * The one place Handlebars is used. Templates are parsed when files are validated (a
 * bad template is a validation error), rendered in strict mode (a missing variable is
 * an error, not an empty string), and escaped for where the text goes:
 *
 * - `shell`: every `{{value}}` is shell-quoted as one word, and a template may place a
 *   value only where the shell reads a plain word (not inside quotes, backticks, a
 *   here-document, … — see shell-context.ts), so values can never inject commands. A
 *   value at the start of a word with no `--` earlier in its command may not start
 *   with `-`. `{{{raw}}}` opts out and is reported by `steward validate` as a warning.
 * - `markdown`: every `{{value}}` is Markdown-escaped, for reports and pull requests.
 * - `text`: no escaping.
 *
 * HTML escaping, Handlebars' default, is right for none of these.
 */
export type TemplateMode = "shell" | "markdown" | "text";

/**
 * Quotes a value for POSIX sh as one word: `'…'` with each `'` written `'\''`; words of
 * only safe characters stay bare. Safe where the shell reads a plain word, which is
 * what shell-context.ts checks a template for.
 */
export function shellQuote(value: unknown): string {
  const text = value === undefined || value === null ? "" : String(value);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A value in option position (the start of a word, no `--` earlier in the command),
 * returned unchanged; throws TemplateRenderError when it starts with `-`, which the
 * command would read as an option (`grep -q {{x}}` with x = `-f/etc/shadow`).
 */
function notAnOption(value: unknown, name: string): unknown {
  const text = value === undefined || value === null ? "" : String(value);
  if (!text.startsWith("-")) return value;
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  throw new TemplateRenderError(`\`{{${name}}}\` is ${shown}, which starts with '-' where the command reads options; put \`--\` before it (end of options), attach it to its option (--opt={{${name}}}), or make it a path (./{{${name}}})`);
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
  shellArg: (value: unknown, name: unknown) => shellQuote(notAnOption(value, String(name))),
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
  /**
   * True when the template tolerates a missing value: `{{default x "y"}}`, the
   * condition of `{{#if x}}`, or a read inside a block that renders only when the same
   * path or a prefix of it is truthy (`{{#if vars.proxy}}{{vars.proxy}}{{/if}}`).
   */
  optional: boolean;
  /** True when a helper tolerates the value missing (`default`, a block's condition). */
  tolerant: boolean;
  /**
   * Paths that must all be truthy for the read to happen: the conditions of the
   * enclosing `#if`, `#with`, `#each` and the `{{else}}` of `#unless`.
   */
  guards: string[][];
}

/** A `{{{raw}}}` or `{{& raw}}` output: its text, and where it is. */
export interface RawOutput {
  text: string;
  line: number;
  column: number;
}

export interface TemplateAnalysis {
  references: TemplateReference[];
  unknownHelpers: Array<{ name: string; line: number; column: number }>;
  /** Every unescaped output, inside blocks too. */
  raw: RawOutput[];
}

/** A template that referred to a missing value or a helper failed while rendering. */
export class TemplateRenderError extends Error {}

type Statement = hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression;

/** A mustache's expression as written, for messages: `vars.x`, `default vars.x "y"`. */
export function expressionText(node: hbs.AST.Expression | Statement): string {
  if ("path" in node && node.path !== undefined) {
    const call = node as Statement;
    const args = [...call.params.map((p) => expressionText(p)), ...(call.hash?.pairs ?? []).map((p) => `${p.key}=${expressionText(p.value)}`)];
    const text = [expressionText(call.path), ...args].join(" ");
    return node.type === "SubExpression" ? `(${text})` : text;
  }
  if (node.type === "StringLiteral") return JSON.stringify((node as hbs.AST.StringLiteral).value);
  return String((node as { original?: unknown }).original ?? "");
}

const isPrefix = (guard: readonly string[], path: readonly string[]): boolean => guard.length <= path.length && guard.every((part, i) => part === path[i]);

/** The variable path a block's condition tests, when it is a plain path. */
function conditionPath(node: hbs.AST.Expression | undefined): string[] | undefined {
  if (node?.type !== "PathExpression") return undefined;
  const p = node as hbs.AST.PathExpression;
  if (p.data) return p.parts[0] === "root" ? p.parts.slice(1).map(String) : undefined;
  return p.parts.length > 0 ? p.parts.map(String) : undefined;
}

/**
 * Lists the variables and helpers a template uses. Paths inside `{{#each}}`/`{{#with}}`
 * are relative to the block's item and are not listed, except through `@root`; raw
 * outputs are listed wherever they are.
 * Throws TemplateSyntaxError with the template-relative position on bad syntax.
 */
export function analyzeTemplate(source: string): TemplateAnalysis {
  return analyzeProgram(parse(source));
}

function analyzeProgram(program: hbs.AST.Program): TemplateAnalysis {
  const analysis: TemplateAnalysis = { references: [], unknownHelpers: [], raw: [] };
  const reference = (path: string[], node: hbs.AST.PathExpression, raw: boolean, optional: boolean, guards: string[][]): void => {
    analysis.references.push({ path, line: node.loc.start.line, column: node.loc.start.column + 1, raw, optional: optional || guards.some((g) => isPrefix(g, path)), tolerant: optional, guards });
  };
  const visitExpr = (node: hbs.AST.Expression, scoped: boolean, raw: boolean, optional: boolean, guards: string[][]): void => {
    if (node.type === "PathExpression") {
      const path = node as hbs.AST.PathExpression;
      if (path.data) {
        if (path.parts[0] === "root") reference(path.parts.slice(1).map(String), path, raw, optional, guards);
        return;
      }
      if (scoped || path.parts.length === 0 || path.original === "this") return;
      reference(path.parts.map(String), path, raw, optional, guards);
    } else if (node.type === "SubExpression") {
      visitCall(node as hbs.AST.SubExpression, scoped, false, guards);
    }
  };
  const visitCall = (node: Statement, scoped: boolean, raw: boolean, guards: string[][]): void => {
    const isCall = node.params.length > 0 || (node.hash?.pairs.length ?? 0) > 0 || node.type === "BlockStatement" || node.type === "SubExpression";
    let optional = false;
    if (isCall && node.path.type === "PathExpression") {
      const name = (node.path as hbs.AST.PathExpression).original;
      const at = node.path.loc.start;
      if (!HELPER_NAMES.includes(name)) analysis.unknownHelpers.push({ name, line: at.line, column: at.column + 1 });
      optional = TOLERANT_HELPERS.includes(name);
    } else {
      visitExpr(node.path, scoped, raw, false, guards);
    }
    for (const p of node.params) visitExpr(p, scoped, raw, optional, guards);
    for (const pair of node.hash?.pairs ?? []) visitExpr(pair.value, scoped, raw, optional, guards);
  };
  const visitProgram = (body: hbs.AST.Program | undefined, scoped: boolean, guards: string[][]): void => {
    for (const statement of body?.body ?? []) {
      if (statement.type === "PartialStatement" || statement.type === "PartialBlockStatement") {
        // No partials are registered, so rendering would fail on every host.
        const at = statement.loc.start;
        throw new TemplateSyntaxError("templates cannot include partials ({{> name}}); write the text out or use a helper", at.line, at.column + 1);
      }
      if (statement.type === "MustacheStatement") {
        const m = statement as hbs.AST.MustacheStatement;
        if (!m.escaped) analysis.raw.push({ text: expressionText(m), line: m.loc.start.line, column: m.loc.start.column + 1 });
        visitCall(m, scoped, !m.escaped, guards);
      } else if (statement.type === "BlockStatement") {
        const b = statement as hbs.AST.BlockStatement;
        visitCall(b, scoped, false, guards);
        const name = b.path.type === "PathExpression" ? (b.path as hbs.AST.PathExpression).original : "";
        const changesContext = name === "each" || name === "with";
        // The branch that renders only when the condition is truthy guards the reads inside it.
        const condition = !scoped || (b.params[0] as hbs.AST.PathExpression | undefined)?.data ? conditionPath(b.params[0]) : undefined;
        const when = (truthy: boolean): string[][] => (condition && ["if", "with", "each", "unless"].includes(name) && truthy === (name !== "unless") ? [...guards, condition] : guards);
        visitProgram(b.program, scoped || changesContext, when(true));
        visitProgram(b.inverse, scoped, when(false));
      }
    }
  };
  visitProgram(program, false, []);
  return analysis;
}

/** A value in a place the shell does not read as one plain word: see shell-context.ts. */
export interface UnsafePlacement {
  /** The mustache's expression, e.g. `vars.dir`. */
  text: string;
  line: number;
  column: number;
  context: ShellContext;
}

/** What the shell lexer found in a template: see src/template/shell-context.ts. */
export interface ShellAnalysis {
  unsafe: UnsafePlacement[];
  /** Blocks whose branches change the quoting: `{{#if x}}"{{/if}}`. */
  unbalanced: Array<{ name: string; line: number; column: number; inside: string }>;
  /** Values where a leading `-` would be an option; `path` is set for a plain `{{a.b}}`. */
  optionPosition: Array<{ text: string; path?: string[]; line: number; column: number }>;
}

function analyzeShellProgram(program: hbs.AST.Program): { analysis: ShellAnalysis; placements: Map<hbs.AST.MustacheStatement, Placement> } {
  const { placements, unbalanced } = shellPlacements(program);
  const analysis: ShellAnalysis = { unsafe: [], unbalanced: [], optionPosition: [] };
  for (const [m, p] of placements) {
    const at = { text: expressionText(m), line: m.loc.start.line, column: m.loc.start.column + 1 };
    if (p.unsafe) analysis.unsafe.push({ ...at, context: p.unsafe });
    else if (p.optionPosition) {
      const plain = m.params.length === 0 && (m.hash?.pairs.length ?? 0) === 0 ? conditionPath(m.path) : undefined;
      analysis.optionPosition.push({ ...at, ...(plain ? { path: plain } : {}) });
    }
  }
  for (const u of unbalanced) {
    analysis.unbalanced.push({ name: expressionText(u.node.path), line: u.node.loc.start.line, column: u.node.loc.start.column + 1, inside: u.inside });
  }
  return { analysis, placements };
}

/** Where each value of a shell template lands (see shell-context.ts). Throws TemplateSyntaxError on bad syntax. */
export function analyzeShellTemplate(source: string): ShellAnalysis {
  return analyzeShellProgram(parse(source)).analysis;
}

/** The message for an unsafe placement, and how to fix it. */
export function unsafePlacementMessage(u: UnsafePlacement): { message: string; hint: string } {
  const value = `{{${u.text}}}`;
  const message = `\`${value}\` is ${CONTEXT_WORDS[u.context]}, where the shell would still interpret the value's text`;
  const hints: Record<ShellContext, string> = {
    "single-quote": `the value is quoted for you: write ${value} without the surrounding quotes`,
    "ansi-c-quote": `the value is quoted for you: write ${value} without the surrounding quotes`,
    "double-quote": `the value is quoted for you: write ${value} without the surrounding quotes`,
    backtick: `use $(…) instead of backticks; the value is quoted for you: $(cmd ${value})`,
    heredoc: `pass the value as an argument instead, e.g. printf '%s\\n' ${value} | cmd`,
    "parameter-expansion": `for a fallback use {{default ${u.text} "…"}} instead of \${…:-…}`,
    arithmetic: "arithmetic re-reads its operands as expressions; do the arithmetic outside the shell or check the value is a number first",
    comment: "remove the value from the comment: a line break in it would end the comment",
    "after-backslash": `remove the backslash before ${value}`,
    "after-dollar": `remove the $ before ${value}; to read a shell variable write \${name}`,
  };
  return { message, hint: hints[u.context] };
}

/**
 * Wraps each escaped `{{expr}}` in the mode's escaping helper, so escaping cannot be
 * forgotten. In shell mode a value in option position gets `shellArg`, which also
 * refuses a leading `-`; it is told the expression so its error can name it.
 */
function wrapEscapes(program: hbs.AST.Program, helper: string, optionPosition?: ReadonlySet<hbs.AST.MustacheStatement>): void {
  for (const statement of program.body) {
    if (statement.type === "MustacheStatement") {
      const m = statement as hbs.AST.MustacheStatement & { path: hbs.AST.Expression; params: hbs.AST.Expression[]; hash: hbs.AST.Hash | undefined };
      if (!m.escaped) continue;
      const guarded = optionPosition?.has(m) ?? false;
      const name = guarded ? expressionText(m) : "";
      const inner: hbs.AST.Expression =
        m.params.length > 0 || (m.hash?.pairs.length ?? 0) > 0
          ? ({ type: "SubExpression", path: m.path, params: m.params, hash: m.hash, loc: m.loc } as hbs.AST.SubExpression)
          : m.path;
      const use = guarded ? "shellArg" : helper;
      m.path = { type: "PathExpression", data: false, depth: 0, parts: [use], original: use, loc: m.loc } as hbs.AST.PathExpression;
      m.params = guarded ? [inner, { type: "StringLiteral", value: name, original: name, loc: m.loc } as hbs.AST.StringLiteral] : [inner];
      m.hash = { type: "Hash", pairs: [], loc: m.loc } as hbs.AST.Hash;
    } else if (statement.type === "BlockStatement") {
      const b = statement as hbs.AST.BlockStatement;
      if (b.program) wrapEscapes(b.program, helper, optionPosition);
      if (b.inverse) wrapEscapes(b.inverse, helper, optionPosition);
    }
  }
}

export type RenderFn = (context: Record<string, unknown>) => string;

/** The value at a path, or undefined when any part is missing. */
function valueAt(context: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = context;
  for (const part of path) {
    if (value === null || typeof value !== "object" || !(part in value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Handlebars' truthiness for `#if`: false, 0, "", null, undefined and [] are falsy. */
const truthy = (value: unknown): boolean => Boolean(value) && !(Array.isArray(value) && value.length === 0);

/**
 * Compiles a template for a destination; rendering throws TemplateRenderError when a
 * variable it needs is missing. The check is ours, not Handlebars' strict mode: once a
 * value is wrapped in the escaping helper, Handlebars no longer checks it. A read inside
 * `{{#if x}}` is needed only when x is truthy, so it is checked only then.
 *
 * In shell mode, a template that places a value where the shell would interpret it
 * (inside quotes, backticks, a here-document, …; see shell-context.ts) throws
 * TemplateSyntaxError, and a value in option position that starts with `-` throws
 * TemplateRenderError when rendered: put a literal `--` before it or attach it to its
 * option (`--file={{x}}`).
 */
export function compileTemplate(source: string, mode: TemplateMode): RenderFn {
  const ast = parse(source);
  const required = analyzeProgram(ast).references.filter((r) => !r.tolerant);
  let optionPosition: Set<hbs.AST.MustacheStatement> | undefined;
  if (mode === "shell") {
    const { analysis, placements } = analyzeShellProgram(ast);
    const unsafe = analysis.unsafe[0];
    if (unsafe) {
      const { message, hint } = unsafePlacementMessage(unsafe);
      throw new TemplateSyntaxError(`${message}; ${hint}`, unsafe.line, unsafe.column);
    }
    const block = analysis.unbalanced[0];
    if (block) throw new TemplateSyntaxError(unbalancedMessage(block), block.line, block.column);
    optionPosition = new Set([...placements].filter(([, p]) => p.optionPosition).map(([m]) => m));
  }
  if (mode !== "text") wrapEscapes(ast, mode === "shell" ? "shell" : "md", optionPosition);
  const template = env.compile(ast, { strict: true, noEscape: true });
  return (context) => {
    const missing = required.find((r) => r.guards.every((g) => truthy(valueAt(context, g))) && valueAt(context, r.path) === undefined);
    if (missing) throw new TemplateRenderError(`the template reads \`${missing.path.join(".")}\`, which is not set (template line ${missing.line}, column ${missing.column})`);
    try {
      return template(context);
    } catch (error) {
      if (error instanceof TemplateRenderError) throw error;
      throw new TemplateRenderError(`the template failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}

/** The message for a block whose branches change the shell's quoting. */
export function unbalancedMessage(block: ShellAnalysis["unbalanced"][number]): string {
  return `a branch of {{#${block.name}}} ${block.inside}; open and close quotes inside the same branch, or leave them outside the block`;
}
