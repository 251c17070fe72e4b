import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { analyzeTemplate, compileTemplate, markdownEscape, shellQuote, TemplateRenderError, TemplateSyntaxError } from "../../src/template/index.ts";

const sh = (command: string): string => execFileSync("sh", ["-c", command], { encoding: "utf8" });

describe("shell templates", () => {
  it("quotes every value so the shell sees it as one word", () => {
    const hostile = `a'b"c $(touch /tmp/steward-pwned) \`id\` ; rm -rf / \n next`;
    const render = compileTemplate("printf '%s' {{vars.x}}", "shell");
    expect(sh(render({ vars: { x: hostile } }))).toBe(hostile);
  });

  it("quotes helper results too", () => {
    const render = compileTemplate("printf '%s|' {{default vars.missing 'two words'}} {{upper vars.y}}", "shell");
    expect(sh(render({ vars: { y: "a;b" } }))).toBe("two words|A;B|");
  });

  it("leaves simple words unquoted and quotes the empty string", () => {
    expect(shellQuote("/srv/backup-1.tar.gz")).toBe("/srv/backup-1.tar.gz");
    expect(shellQuote("")).toBe("''");
  });

  it("fails on a missing variable instead of rendering an empty string", () => {
    const render = compileTemplate("pg_dump {{vars.db_name}}", "shell");
    expect(() => render({ vars: {} })).toThrow(TemplateRenderError);
    expect(() => render({ vars: {} })).toThrow(/db_name/);
  });
});

describe("markdown templates", () => {
  it("escapes Markdown control characters", () => {
    const render = compileTemplate("host {{host.name}}", "markdown");
    expect(render({ host: { name: "*web*_[x](y) a-b.c" } })).toBe("host \\*web\\*\\_\\[x\\]\\(y) a-b.c");
    expect(markdownEscape("a|b")).toBe("a\\|b");
  });
});

describe("template analysis", () => {
  it("lists variables, marks optional and raw ones, and skips block-scoped paths", () => {
    const a = analyzeTemplate("{{vars.a}} {{{vars.b}}} {{#if vars.c}}{{/if}} {{#each vars.list}}{{name}}{{@root.vars.d}}{{/each}}");
    expect(a.references.map((r) => [r.path.join("."), r.raw, r.optional])).toEqual([
      ["vars.a", false, false],
      ["vars.b", true, false],
      ["vars.c", false, true],
      ["vars.list", false, true],
      ["vars.d", false, false],
    ]);
  });

  it("reports unknown helpers with their position", () => {
    expect(analyzeTemplate("x {{quote vars.a}}").unknownHelpers).toEqual([{ name: "quote", line: 1, column: 5 }]);
  });

  it("reports syntax errors with line and column", () => {
    expect(() => analyzeTemplate("echo {{vars.x")).toThrow(TemplateSyntaxError);
    try {
      analyzeTemplate("a\n{{#if x}}b{{/each}}");
    } catch (error) {
      expect(error).toMatchObject({ line: 2 });
      expect((error as Error).message).toContain("{{/each}} closes {{#if}}");
    }
  });
});
