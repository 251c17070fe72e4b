/**
 * A problem found in a repository file. Every stage that reads user files reports
 * these instead of throwing, so a run shows every problem at once.
 */
export interface Diagnostic {
  severity: "error" | "warning";
  /** Stable identifier of the rule that fired, e.g. `schema/unknown-key`, `inventory/group-cycle`. */
  rule: string;
  /** Path relative to the repository root, with forward slashes. */
  file: string;
  /** 1-based line and column of the offending node. */
  line: number;
  column: number;
  /** JSON pointer (RFC 6901) to the offending value inside the file, "" for the whole file. */
  pointer: string;
  /** One line in plain words. */
  message: string;
  /** How to fix it, when there is something useful to say. */
  hint?: string;
}

export function pointerOf(segments: ReadonlyArray<string | number>): string {
  return segments.map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

export function segmentsOf(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Sorts by file, position, then message, so output is stable run to run. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      a.rule.localeCompare(b.rule) ||
      a.message.localeCompare(b.message),
  );
}
