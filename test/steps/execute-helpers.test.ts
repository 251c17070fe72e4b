import { describe, expect, it } from "vitest";
import { errorDetail, redactAcrossRemoved, StepClock, tail } from "../../src/steps/execute-helpers.ts";
import { RunSecrets } from "../../src/core/secrets.ts";
import { TemplateRenderError } from "../../src/template/index.ts";
import { UnparsableError } from "../../src/facts/parsers.ts";

describe("what a step result keeps of a host's output", () => {
  it("drops control and bidi characters from tails, keeping lines and tabs, and marks where it did", () => {
    expect(tail("ok\u202e evil\u200b\n\tnext\u001b[2J\u0007")).toBe("[7 control or format character(s) removed, each run shown as \uFFFD]\nok\uFFFD evil\uFFFD\n\tnext\uFFFD");
    // Escape sequences go whole: no "[0m" left behind; a title-setting OSC too.
    expect(tail("\u001b[1;31mE:\u001b[0m held\u001b]0;pwned\u0007")).toBe("[21 control or format character(s) removed, each run shown as \uFFFD]\n\uFFFDE:\uFFFD held\uFFFD");
    expect(tail("line 1\r\nline 2\rline 3")).toBe("line 1\nline 2\nline 3");
    expect(tail("clean output\n")).toBe("clean output\n");
  });

  it("keeps the last characters, and says so when something was removed before them", () => {
    const long = `${"x".repeat(3000)}\u0007end`;
    const t = tail(long);
    expect(t.startsWith("[1 control or format character(s) removed")).toBe(true);
    expect(t.endsWith("\uFFFDend")).toBe(true);
  });

  it("redacts a secret a host split with removed characters, and leaves other tails as they are", () => {
    const secrets = new RunSecrets({ TOKEN: "hunter2-correct" });
    const redact = (t: string) => secrets.redact(t);
    for (const split of ["hunter2\u001b[0m-correct", "hun\u200bter2-cor\u202erect", "h\u0007unter2-correct\u001b]0;x\u0007"]) {
      const t = redactAcrossRemoved(tail(`before ${split} after`), redact);
      expect(t.replaceAll("\uFFFD", "")).not.toContain("hunter2-correct");
      expect(t).toContain("before *** after");
      expect(t).toMatch(/^\[\d+ control or format character\(s\) removed, marks dropped where a secret was\]\n/);
    }
    const plain = tail("ok\u001b[0m done");
    expect(redactAcrossRemoved(plain, redact)).toBe(plain);
    expect(redactAcrossRemoved("no marks", redact)).toBe("no marks");
  });

  it("keeps a detail to one plain line", () => {
    const result = new StepClock({ step: { name: "s", kind: "command", command: "true" } }).finish("failed", "exit 1: \u202eboom\n# Approved");
    expect(result.detail).not.toMatch(/[\u202e\n]/);
    expect(result.detail).toContain("boom");
  });

  it("names a template that cannot be rendered as such, not as a bug", () => {
    expect(errorDetail(new TemplateRenderError("the template reads `vars.db_password`, which is not set"))).toBe("cannot render the step: the template reads `vars.db_password`, which is not set");
    expect(errorDetail(new UnparsableError("simulation", 'line 5: control character "\\u001b"'))).toBe('the host\'s output is not trusted: simulation: line 5: control character "\\u001b"');
    expect(errorDetail(new Error("x"))).toBe("internal error: x");
  });
});
