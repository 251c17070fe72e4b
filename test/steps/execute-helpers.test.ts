import { describe, expect, it } from "vitest";
import { errorDetail, StepClock, tail } from "../../src/steps/execute-helpers.ts";
import { TemplateRenderError } from "../../src/template/index.ts";

describe("what a step result keeps of a host's output", () => {
  it("drops control and bidi characters from tails, keeping lines and tabs", () => {
    expect(tail("ok\u202e evil\u200b\n\tnext\u001b[2J\u0007")).toBe("ok evil\n\tnext[2J");
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
