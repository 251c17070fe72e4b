/**
 * Where each `{{value}}` of a shell template lands, by lexing the template's literal
 * text the way POSIX sh (XCU 2.2–2.7) would. A value is shell-quoted as one word, which
 * is safe only where the shell reads a plain word:
 *
 * - inside `'…'` or `$'…'` the quoting is nested in other quoting and breaks out;
 * - inside `"…"`, a here-document body, `${…}` or `$((…))` the shell still expands
 *   `$(…)` and backticks in the value's text (or re-parses it as arithmetic);
 * - inside backticks the text is parsed twice, so the quoting is undone;
 * - after a `\` or a `$` the first quote of the value is escaped or made `$'…'`;
 * - inside a `#` comment a line break in the value ends the comment.
 *
 * These are "unsafe" placements: `steward validate` refuses them and so does the
 * renderer. `$(…)` is not one of them: its text is parsed as a command of its own, so
 * `x=$(cat {{vars.f}})` passes the value as one word, as at the top level.
 *
 * A value at the start of a word, where a command reads options, and with no literal
 * `--` word earlier in the same command, is "option position": the renderer refuses a
 * value starting with `-` there (see compileTemplate).
 *
 * Blocks (`{{#if}}`, `{{#each}}`) must leave the quoting as they found it, on every
 * branch; otherwise whether a later value is quoted would depend on data.
 * The lexer does not follow `case … in pat)` inside `$(…)`; a `)` there closes `$(`.
 */
import type {} from "handlebars";

/** An unsafe place for a value, with the words used in messages. */
export type ShellContext = "single-quote" | "ansi-c-quote" | "double-quote" | "heredoc" | "backtick" | "parameter-expansion" | "arithmetic" | "comment" | "after-backslash" | "after-dollar";

export const CONTEXT_WORDS: Readonly<Record<ShellContext, string>> = {
  "single-quote": "inside single quotes",
  "ansi-c-quote": "inside $'…' quotes",
  "double-quote": "inside double quotes",
  heredoc: "inside a here-document",
  backtick: "inside backticks",
  "parameter-expansion": "inside ${…}",
  arithmetic: "inside $((…))",
  comment: "inside a # comment",
  "after-backslash": "right after a backslash",
  "after-dollar": "right after a $",
};

/** Where one mustache lands. */
export interface Placement {
  /** Set when the place is unsafe for any value. */
  unsafe?: ShellContext;
  /** True when a value starting with `-` would be read as an option. */
  optionPosition: boolean;
}

/** A block whose branches leave the shell's quoting in different states. */
export interface UnbalancedBlock {
  node: hbs.AST.BlockStatement;
  /** What the branch did, e.g. "ends inside double quotes". */
  inside: string;
}

type Frame =
  | { k: "cmd"; sub: boolean; parens: number }
  | { k: "squote" }
  | { k: "ansi" }
  | { k: "dquote" }
  | { k: "backtick" }
  | { k: "param"; braces: number }
  | { k: "arith"; parens: number }
  | { k: "comment" }
  | { k: "heredoc"; delimiter: string; stripTabs: boolean; line: string };

interface State {
  stack: Frame[];
  /** At the start of a word in the innermost command. */
  wordStart: boolean;
  /** The literal text of the current word, to recognise `--`; null once a value is part of it. */
  word: string | null;
  /** A `--` word was seen in the current command. */
  endOfOptions: boolean;
  /** The current or next word is a redirection target, not an argument. */
  redirect: boolean;
  /** The last character was an unquoted `\` or `$` whose meaning depends on what follows. */
  pending: "" | "\\" | "$";
  /** Here-documents whose bodies start at the next line. */
  heredocs: Array<{ delimiter: string; stripTabs: boolean }>;
}

/** `$$`, `$!`, `$#`, `$?`, `$-`, `$@`, `$*`, `$0`…`$9` (XCU 2.5.2): the character after `$` is taken with it. */
const SPECIAL_PARAMETER = /^[$!#?\-@*0-9]$/;
const HEREDOC = /^<<(-?)[ \t]*(?:'([^'\n]*)'|"([^"\n]*)"|\\?([^\s;&|<>()'"`$\\]+))/;

const top = (s: State): Frame => s.stack[s.stack.length - 1]!;

/** Ends the current word: a literal `--` (not a redirection target) ends the options. */
function endWord(s: State): void {
  if (!s.wordStart) {
    if (s.word === "--" && !s.redirect) s.endOfOptions = true;
    if (s.redirect && s.word !== "") s.redirect = false;
  }
  s.wordStart = true;
  s.word = "";
}

/** A command separator: the next word starts a new command with its own options. */
function endCommand(s: State): void {
  endWord(s);
  s.endOfOptions = false;
  s.redirect = false;
}

function newline(s: State): void {
  endCommand(s);
  // Here-document bodies start on the line after their operator, in the order written.
  for (const h of s.heredocs.reverse()) s.stack.push({ k: "heredoc", delimiter: h.delimiter, stripTabs: h.stripTabs, line: "" });
  s.heredocs = [];
}

/** Feeds literal template text to the lexer. */
function feed(s: State, text: string): void {
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const f = top(s);
    if (s.pending === "\\") {
      s.pending = "";
      if (f.k === "cmd" && c !== "\n") {
        s.wordStart = false;
        s.word = s.word === null ? null : s.word + c;
      }
      i++;
      continue;
    }
    if (s.pending === "$") {
      s.pending = "";
      const two = text.slice(i, i + 2);
      if (c === "'") s.stack.push({ k: "ansi" }), i++;
      else if (SPECIAL_PARAMETER.test(c)) (s.word = s.word === null ? null : s.word + c), i++;
      else if (two === "((") s.stack.push({ k: "arith", parens: 0 }), (i += 2);
      else if (c === "(") s.stack.push({ k: "cmd", sub: true, parens: 0 }), (s.wordStart = true), (s.word = ""), i++;
      else if (c === "{") s.stack.push({ k: "param", braces: 0 }), i++;
      continue;
    }
    switch (f.k) {
      case "squote":
        if (c === "'") s.stack.pop();
        i++;
        break;
      case "ansi":
      case "backtick":
        if (c === "\\") i++;
        else if ((f.k === "ansi" && c === "'") || (f.k === "backtick" && c === "`")) s.stack.pop();
        i++;
        break;
      case "dquote":
      case "param":
      case "arith":
        if (c === "\\") i += 2;
        else if (c === "`") s.stack.push({ k: "backtick" }), i++;
        else if (c === "$") {
          const two = text.slice(i + 1, i + 3);
          if (two === "((") s.stack.push({ k: "arith", parens: 0 }), (i += 3);
          else if (text[i + 1] === "(") s.stack.push({ k: "cmd", sub: true, parens: 0 }), (s.wordStart = true), (s.word = ""), (i += 2);
          else if (text[i + 1] === "{") s.stack.push({ k: "param", braces: 0 }), (i += 2);
          else i += SPECIAL_PARAMETER.test(text[i + 1] ?? "") ? 2 : 1;
        } else {
          if (f.k === "dquote" && c === '"') s.stack.pop();
          else if (f.k === "param" && c === "{") f.braces++;
          else if (f.k === "param" && c === "}") f.braces-- === 0 && s.stack.pop();
          else if (f.k === "param" && c === "'") s.stack.push({ k: "squote" });
          else if (f.k === "param" && c === '"') s.stack.push({ k: "dquote" });
          else if (f.k === "arith" && c === "(") f.parens++;
          else if (f.k === "arith" && c === ")") {
            if (f.parens > 0) f.parens--;
            else if (text[i + 1] === ")") s.stack.pop(), i++;
          }
          i++;
        }
        break;
      case "comment":
        if (c === "\n") s.stack.pop();
        else i++;
        break;
      case "heredoc":
        if (c === "\n") {
          const line = f.stripTabs ? f.line.replace(/^\t+/, "") : f.line;
          if (line === f.delimiter) s.stack.pop();
          else f.line = "";
        } else f.line += c;
        i++;
        break;
      case "cmd":
        i = lexCommand(s, f, text, i);
        break;
    }
  }
}

/** One step of unquoted command text; returns the next index. */
function lexCommand(s: State, f: Extract<Frame, { k: "cmd" }>, text: string, i: number): number {
  const c = text[i]!;
  const word = (ch: string): void => {
    s.wordStart = false;
    s.word = s.word === null ? null : s.word + ch;
  };
  if (c === "\\") {
    s.pending = "\\";
    return i + 1;
  }
  if (c === "$") {
    // What follows decides: `$'`, `$(`, `$((`, `${`, or a value placed right after it.
    word("$");
    s.pending = "$";
    return i + 1;
  }
  if (c === "'") return word("'"), s.stack.push({ k: "squote" }), i + 1;
  if (c === '"') return word('"'), s.stack.push({ k: "dquote" }), i + 1;
  if (c === "`") return word("`"), s.stack.push({ k: "backtick" }), i + 1;
  if (c === "#" && s.wordStart) return s.stack.push({ k: "comment" }), i + 1;
  if (c === " " || c === "\t") return endWord(s), i + 1;
  if (c === "\n") return newline(s), i + 1;
  if (c === ";" || c === "&" || c === "|") return endCommand(s), i + 1;
  if (c === "(") return f.parens++, endCommand(s), i + 1;
  if (c === ")") {
    endCommand(s);
    if (f.parens > 0) f.parens--;
    else if (f.sub) s.stack.pop(), (s.wordStart = false), (s.word = null);
    return i + 1;
  }
  if (c === "<" || c === ">") {
    const heredoc = c === "<" && text[i + 1] === "<" && text[i + 2] !== "<" ? HEREDOC.exec(text.slice(i)) : null;
    endWord(s);
    if (heredoc) {
      const delimiter = heredoc[2] ?? heredoc[3] ?? heredoc[4] ?? "";
      s.heredocs.push({ delimiter, stripTabs: heredoc[1] === "-" });
      return i + heredoc[0].length;
    }
    s.redirect = true;
    let j = i + 1;
    while (j < text.length && /[<>&|-]/.test(text[j]!)) j++;
    return j;
  }
  word(c);
  return i + 1;
}

/** Where a value placed now would land. */
function placementNow(s: State): Placement {
  const f = top(s);
  const unsafe: ShellContext | undefined =
    s.pending === "\\" ? "after-backslash"
    : s.pending === "$" ? "after-dollar"
    : f.k === "squote" ? "single-quote"
    : f.k === "ansi" ? "ansi-c-quote"
    : f.k === "dquote" ? "double-quote"
    : f.k === "heredoc" ? "heredoc"
    : f.k === "backtick" ? "backtick"
    : f.k === "param" ? "parameter-expansion"
    : f.k === "arith" ? "arithmetic"
    : f.k === "comment" ? "comment"
    : undefined;
  return { ...(unsafe ? { unsafe } : {}), optionPosition: unsafe === undefined && s.wordStart && !s.endOfOptions && !s.redirect };
}

/** The quoting structure of a state, which every branch of a block must preserve. */
const shape = (s: State): string => s.stack.map((f) => f.k).join(">") + (s.pending ? `+${s.pending}` : "") + (s.heredocs.length ? `+heredoc${s.heredocs.length}` : "");

const clone = (s: State): State => structuredClone(s);

/** Merges branch ends conservatively: a later value is in option position if it is on any branch. */
function merge(states: State[]): State {
  const out = clone(states[0]!);
  out.wordStart = states.some((x) => x.wordStart);
  out.endOfOptions = states.every((x) => x.endOfOptions);
  out.redirect = states.every((x) => x.redirect);
  out.word = states.every((x) => x.word === out.word) ? out.word : null;
  return out;
}

/**
 * Lexes a parsed template: the placement of every escaped mustache (raw ones insert
 * shell text on purpose and are warned about elsewhere) and the blocks whose branches
 * change the quoting.
 */
export function shellPlacements(program: hbs.AST.Program): { placements: Map<hbs.AST.MustacheStatement, Placement>; unbalanced: UnbalancedBlock[] } {
  const placements = new Map<hbs.AST.MustacheStatement, Placement>();
  const unbalanced: UnbalancedBlock[] = [];
  const record = (m: hbs.AST.MustacheStatement, p: Placement): void => {
    const known = placements.get(m);
    if (!known) return void placements.set(m, p);
    // A body lexed twice (loops) keeps the stricter of its placements.
    const unsafe = known.unsafe ?? p.unsafe;
    placements.set(m, { ...(unsafe ? { unsafe } : {}), optionPosition: known.optionPosition || p.optionPosition });
  };
  const walk = (body: hbs.AST.Statement[], start: State): State => {
    let s = start;
    for (const statement of body) {
      if (statement.type === "ContentStatement") {
        feed(s, (statement as hbs.AST.ContentStatement).value);
      } else if (statement.type === "MustacheStatement") {
        const m = statement as hbs.AST.MustacheStatement;
        if (m.escaped) record(m, placementNow(s));
        s.pending = "";
        s.wordStart = false;
        s.word = null;
      } else if (statement.type === "BlockStatement") {
        const b = statement as hbs.AST.BlockStatement;
        const name = b.path.type === "PathExpression" ? (b.path as hbs.AST.PathExpression).original : "";
        let program = walk(b.program?.body ?? [], clone(s));
        // A loop body runs again from where it ended.
        if (name === "each" && shape(program) === shape(s)) program = walk(b.program?.body ?? [], merge([program, s]));
        const inverse = walk(b.inverse?.body ?? [], clone(s));
        const ends = [program, inverse];
        if (ends.some((e) => shape(e) !== shape(s))) {
          const bad = ends.find((e) => shape(e) !== shape(s))!;
          const f = top(bad);
          unbalanced.push({ node: b, inside: f.k === "cmd" ? "closes a quote or substitution opened before it" : `ends ${CONTEXT_WORDS[contextOf(f)]}` });
          s = clone(s);
        } else {
          s = merge(ends);
        }
      }
    }
    return s;
  };
  walk(program.body, { stack: [{ k: "cmd", sub: false, parens: 0 }], wordStart: true, word: "", endOfOptions: false, redirect: false, pending: "", heredocs: [] });
  return { placements, unbalanced };
}

function contextOf(f: Frame): ShellContext {
  switch (f.k) {
    case "squote":
      return "single-quote";
    case "ansi":
      return "ansi-c-quote";
    case "dquote":
      return "double-quote";
    case "heredoc":
      return "heredoc";
    case "backtick":
      return "backtick";
    case "param":
      return "parameter-expansion";
    case "arith":
      return "arithmetic";
    default:
      return "comment";
  }
}
