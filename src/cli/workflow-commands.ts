/**
 * GitHub Actions reads a step's standard output and error line by line and executes
 * the workflow commands it finds (actions/runner, src/Runner.Common/ActionCommand.cs
 * and src/Runner.Worker/ActionCommandManager.cs):
 *
 * - a line is what .NET's StreamReader.ReadLine returns: text up to `\n`, `\r` or `\r\n`,
 *   so a lone carriage return starts a new line;
 * - `::name props::data` is a command when the line, with its leading white space
 *   trimmed (.NET's Char.IsWhiteSpace), starts with `::` (TryParseV2);
 * - the legacy `##[name props]data` is a command wherever `##[` appears in the line
 *   (TryParse searches with IndexOf);
 * - names are case-insensitive; `add-mask`, `add-matcher`, `error`, `warning`,
 *   `notice`, `group`, `set-output`, `save-state`, `stop-commands`… are registered, and
 *   `::stop-commands::TOKEN` silences every later command until `::TOKEN::`.
 *
 * A managed host that prints `::stop-commands::x` or `##[add-mask]…` into an output
 * tail steward shows would otherwise switch off steward's own annotations, hide words
 * from the log, or set step outputs. So in Actions every line steward prints is made
 * inert here, in the CLI's output layer: a leading `::` becomes `:\:`, and every `##[`
 * becomes `##\[`, text otherwise unchanged. Steward's own workflow commands (the
 * `::add-mask::` lines of its secrets, `validate --format github` annotations) go
 * through {@link trustedCommands}, which passes only well-formed command lines built by
 * steward and makes anything else inert too.
 */

/**
 * Char.IsWhiteSpace of .NET (Unicode Zs, Zl, Zp, U+0009–U+000D, U+0085), plus U+180E and
 * U+FEFF, which older Unicode versions counted: wider than the runner's trim, never narrower.
 */
const WHITE = /^[\t\v\f \u0085\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]$/u;

/**
 * Makes one output stream's text inert for the Actions runner. It keeps where the
 * stream stands between writes (at the start of a line, after leading white space and
 * one `:`, after `#` or `##`), so a command split across two writes is caught too.
 */
export class InertStream {
  /** "lead": only white space so far on this line; "colon": that and one ':'; "text": anything else. */
  private lead: "lead" | "colon" | "text" = "lead";
  /** How many '#' end the line so far (2 means the next '[' would open a legacy command). */
  private hashes = 0;

  /** False once a character other than a line break was written on the current line. */
  private midLine = false;

  /** True when the next character written starts a line. */
  get atLineStart(): boolean {
    return !this.midLine;
  }

  /** `text` with every workflow command the runner would see in it made inert. */
  inert(text: string): string {
    let out = "";
    for (const ch of text) {
      if (ch === "\n" || ch === "\r") {
        this.lead = "lead";
        this.hashes = 0;
        this.midLine = false;
        out += ch;
        continue;
      }
      this.midLine = true;
      if (ch === ":" && this.lead === "colon") {
        out += "\\:";
        this.lead = "text";
      } else if (ch === ":" && this.lead === "lead") {
        out += ch;
        this.lead = "colon";
      } else {
        if (!(this.lead === "lead" && WHITE.test(ch))) this.lead = "text";
        out += ch === "[" && this.hashes >= 2 ? "\\[" : ch;
      }
      this.hashes = ch === "#" ? this.hashes + 1 : 0;
    }
    return out;
  }

  /** Records text written past {@link inert} (trusted commands): where the stream now stands. */
  passed(text: string): void {
    const last = text.at(-1);
    if (last === undefined) return;
    if (last === "\n" || last === "\r") {
      this.lead = "lead";
      this.hashes = 0;
      this.midLine = false;
    } else {
      this.lead = "text";
      this.hashes = 0;
      this.midLine = true;
    }
  }
}

/** A workflow command line as steward builds them: a registered-looking name, properties without line breaks, `::`. */
const COMMAND_LINE = /^::[a-z][a-z-]*(?: [^\r\n]*?)?::[^\r\n]*$/;

/**
 * Steward's own workflow command lines, written to `stream`: each line that is a
 * well-formed command (values escaped by its builder per the runner's rules: `%`, CR,
 * LF in data; also `:` and `,` in properties) passes as it is; any other line is made
 * inert like all output. Starts on a new line when the stream is mid-line, since the
 * runner reads a command only at a line's start.
 * @returns the text to write.
 */
export function trustedCommands(stream: InertStream, text: string): string {
  if (text === "") return "";
  let out = stream.atLineStart ? "" : "\n";
  if (out !== "") stream.passed(out);
  for (const line of text.split(/(?<=\n)/)) {
    const body = line.endsWith("\n") ? line.slice(0, -1) : line;
    if (COMMAND_LINE.test(body)) {
      out += line;
      stream.passed(line);
    } else out += stream.inert(line);
  }
  return out;
}
