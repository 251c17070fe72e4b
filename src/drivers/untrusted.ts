import { UnparsableError } from "../facts/parsers.ts";

/**
 * Host values are untrusted: a package name or version a host reports ends up in a
 * root command (`apt-get install NAME=VERSION`), so before anything is planned from it
 * each one is checked against its package manager's grammar (./<manager>/grammar.ts).
 * A value that fails is never dropped or repaired: the whole section fails, and with it
 * the host's facts, as `unparsable` with the section, the line and the rule broken.
 */

/** A package manager's grammar for the values its listings contain. */
export interface PackageGrammar {
  /** A package name as the manager prints it (no architecture qualifier). */
  validName(name: string): boolean;
  /** A version as the manager prints it (dpkg: `[epoch:]upstream[-revision]`). */
  validVersion(version: string): boolean;
  /** An architecture (`amd64`, `x86_64`, `noarch`). */
  validArch(arch: string): boolean;
  /** A repository, suite or tag a version comes from (`bookworm-security`, `updates`, `@edge`). */
  validSource(source: string): boolean;
  /** Each rule in words, for error messages: what a valid value looks like. */
  readonly rules: Readonly<Record<HostValueKind, string>>;
}

export type HostValueKind = "name" | "version" | "arch" | "source";

/** Longest name or version taken from a host; real ones are far shorter (dpkg's longest names are under 100). */
export const MAX_VALUE_LENGTH = 256;

/**
 * A value as error messages show it: JSON-quoted with every character outside printable
 * ASCII escaped (control characters, bidirectional overrides), cut to about 80 characters.
 */
export function shown(value: string): string {
  const cut = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(cut).replace(/[^\x20-\x7e]/g, (c) => (c === "…" ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

/**
 * A host reported a value that breaks its package manager's grammar, or output with
 * control characters. An `UnparsableError`, so gathering reports the host's facts as
 * `unparsable` and the plan skips the host with this message as the reason.
 * The message is `section: line N: what`, with the value shown escaped (see `shown`).
 */
export class UntrustedValueError extends UnparsableError {
  constructor(
    section: string,
    /** 1-based line of the section's output; undefined when the value is not from a listing. */
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(section, `${line !== undefined ? `line ${line}: ` : ""}${reason}`);
    this.name = "UntrustedValueError";
  }
}

// C0 controls but tab and newline, DEL and the C1 controls.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * Refuses output holding a control character (tab and newline are the listings' own
 * separators); returns the text's lines otherwise. Every parser of host output starts here.
 */
export function hostLines(section: string, text: string): string[] {
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const at = CONTROL.exec(line);
    if (at) throw new UntrustedValueError(section, i + 1, `control character ${shown(at[0])} in ${shown(line)}; the host's package facts are not trusted`);
  });
  return lines;
}

/** Checks values of one section against a grammar, naming the line of each refusal. */
export class HostValues {
  constructor(
    private readonly grammar: PackageGrammar,
    private readonly manager: string,
    readonly section: string,
    /** Appended to every refusal: what the refusal means for the caller. */
    private readonly suffix = "; the host's package facts are not trusted",
  ) {}

  /** `value` when the grammar accepts it as a `kind`; throws UntrustedValueError otherwise. */
  check(kind: HostValueKind, value: string, line: number | undefined): string {
    const rule = value.length > MAX_VALUE_LENGTH ? `longer than ${MAX_VALUE_LENGTH} characters` : this.test(kind, value) ? undefined : this.grammar.rules[kind];
    if (rule !== undefined) throw new UntrustedValueError(this.section, line, `${this.manager} package ${kind} ${shown(value)} is not valid (${rule})${this.suffix}`);
    return value;
  }

  name = (value: string, line?: number): string => this.check("name", value, line);
  version = (value: string, line?: number): string => this.check("version", value, line);
  arch = (value: string, line?: number): string => this.check("arch", value, line);
  source = (value: string, line?: number): string => this.check("source", value, line);

  /** Throws UntrustedValueError for a line whose shape the parser does not know. */
  unexpected(line: number, text: string, expected: string): never {
    throw new UntrustedValueError(this.section, line, `unexpected line ${shown(text)}, expected ${expected}${this.suffix}`);
  }

  private test(kind: HostValueKind, value: string): boolean {
    switch (kind) {
      case "name":
        return this.grammar.validName(value);
      case "version":
        return this.grammar.validVersion(value);
      case "arch":
        return this.grammar.validArch(value);
      case "source":
        return this.grammar.validSource(value);
    }
  }
}

/**
 * Checks the packages a command is built for: a name or version the grammar refuses
 * never reaches a command line, whatever path it came by (facts, a runbook, a plan file).
 */
export function checkRequests(grammar: PackageGrammar, manager: string, command: string, packages: ReadonlyArray<{ name: string; version?: string; arch?: string }>): void {
  const values = new HostValues(grammar, manager, command, "; the command is not built");
  for (const p of packages) {
    values.name(p.name);
    if (p.version !== undefined) values.version(p.version);
    if (p.arch !== undefined) values.arch(p.arch);
  }
}
