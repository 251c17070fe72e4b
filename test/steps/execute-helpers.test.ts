import { describe, expect, it } from "vitest";
import { errorDetail, StepClock, tail } from "../../src/steps/execute-helpers.ts";
import { TemplateRenderError } from "../../src/template/index.ts";

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

  it("keeps a detail to one plain line", () => {
    const result = new StepClock({ step: { name: "s", kind: "command", command: "true" } }).finish("failed", "exit 1: \u202eboom\n# Approved");
    expect(result.detail).not.toMatch(/[\u202e\n]/);
    expect(result.detail).toContain("boom");
  });

  it("names a template that cannot be rendered as such, not as a bug", () => {
    expect(errorDetail(new TemplateRenderError("the template reads `vars.db_password`, which is not set"))).toBe("cannot render the step: the template reads `vars.db_password`, which is not set");
    expect(errorDetail(new Error("x"))).toBe("internal error: x");
  });
});
