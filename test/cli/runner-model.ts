/**
 * How the GitHub Actions runner finds workflow commands in a step's output, modelled on
 * actions/runner (src/Runner.Common/ActionCommand.cs TryParseV2 and TryParse,
 * src/Runner.Sdk/ProcessInvoker.cs reading with StreamReader.ReadLine), with every
 * command name taken as registered (the runner adds a stop-commands token to its list,
 * so any name can become one).
 */

/** Lines as StreamReader.ReadLine splits them: at \n, \r or \r\n. */
export function runnerLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** .NET Char.IsWhiteSpace: Unicode Zs, Zl, Zp, U+0009–U+000D, U+0085. */
const TRIM = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** The command the runner would execute for `line`, or undefined. */
export function runnerCommand(line: string): string | undefined {
  const trimmed = line.replace(TRIM, "");
  if (trimmed.startsWith("::")) {
    const end = trimmed.indexOf("::", 2);
    if (end >= 0) {
      const name = trimmed.slice(2, end).split(" ")[0]!;
      if (name !== "") return name.toLowerCase();
    }
  }
  const prefix = line.indexOf("##[");
  if (prefix >= 0) {
    const rb = line.indexOf("]", prefix);
    if (rb >= 0) {
      const name = line.slice(prefix + 3, rb).split(" ")[0]!;
      if (name !== "") return name.toLowerCase();
    }
  }
  return undefined;
}

/** Every command the runner would execute in `text`, line by line. */
export function runnerCommands(text: string): string[] {
  return runnerLines(text).flatMap((l) => {
    const c = runnerCommand(l);
    return c === undefined ? [] : [c];
  });
}
