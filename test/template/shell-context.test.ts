import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { analyzeShellTemplate, analyzeTemplate, compileTemplate, TemplateRenderError, TemplateSyntaxError } from "../../src/template/index.ts";

const sh = (command: string, cwd?: string): string => execFileSync("sh", ["-c", command], { encoding: "utf8", ...(cwd ? { cwd } : {}) });
const contexts = (source: string): string[] => analyzeShellTemplate(source).unsafe.map((u) => `${u.text}@${u.column}:${u.context}`);
const work = mkdtempSync(join(tmpdir(), "steward-tpl-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("shell context of template values", () => {
  it.each([
    [`cat "/opt/{{vars.dir}}/V"`, "vars.dir@11:double-quote"],
    [`echo '{{x}}'`, "x@7:single-quote"],
    [`echo $'a{{x}}'`, "x@9:ansi-c-quote"],
    ["echo `cat {{x}}`", "x@11:backtick"],
    [`echo "$(cat "{{x}}")"`, "x@14:double-quote"],
    ["cat <<EOF\nhello {{x}}\nEOF\n", "x@7:heredoc"],
    ["cat <<-'EOF'\n\t{{x}}\n\tEOF\necho done", "x@2:heredoc"],
    [`echo \${A:-{{x}} }`, "x@11:parameter-expansion"],
    [`echo $(( {{x}} + 1 ))`, "x@10:arithmetic"],
    [`ls # about {{x}}`, "x@12:comment"],
    [`echo \\\\{{x}}`, "x@8:after-backslash"],
    [`echo \${{x}}`, "x@7:after-dollar"],
  ])("refuses %j", (source, expected) => {
    expect(contexts(source)).toEqual([expected]);
    expect(() => compileTemplate(source, "shell")).toThrow(TemplateSyntaxError);
  });

  it.each([
    `x=$(cat {{vars.f}}) && echo "$x"`,
    `echo "$(cat {{x}})"`,
    `printf '%s' {{x}} 'after'`,
    "cat <<EOF\nliteral\nEOF\necho {{x}}",
    `echo "a" {{x}} 'b' # comment`,
    `echo a#{{x}}`,
    `test -n "\${HOME}" && echo {{x}}`,
    "for f in a b; do echo {{x}}; done",
    `echo "it's" {{x}}`,
  ])("accepts %j, and the value stays one word", (source) => {
    expect(contexts(source)).toEqual([]);
    expect(analyzeShellTemplate(source).unbalanced).toEqual([]);
  });

  it("a value with $(…) in double quotes would run it: the refusal is the right call", () => {
    // The kind: shell-quoting a value and then placing it inside quotes re-opens it.
    const marker = join(work, "pwned");
    const hostile = `$(touch ${marker})`;
    const quoted = `'${hostile}'`;
    sh(`echo "/opt/${quoted}/V" >/dev/null`);
    expect(readdirSync(work)).toContain("pwned");
    rmSync(marker);
    const render = compileTemplate(`echo /opt/{{vars.dir}}/V`, "shell");
    expect(sh(render({ vars: { dir: hostile } }))).toBe(`/opt/${hostile}/V\n`);
    expect(readdirSync(work)).not.toContain("pwned");
  });

  it("$(…) around a value is safe: the value is one word of the inner command", () => {
    const render = compileTemplate(`x=$(printf '%s' {{vars.f}}) && printf '%s' "$x"`, "shell");
    const hostile = `a b; $(id) \`id\` '"`;
    expect(sh(render({ vars: { f: hostile } }))).toBe(hostile);
  });

  it("refuses a block whose branches open or close a quote", () => {
    const a = analyzeShellTemplate(`echo {{#if vars.q}}"{{/if}}{{vars.x}}`);
    expect(a.unbalanced).toEqual([{ name: "if", line: 1, column: 6, inside: "ends inside double quotes" }]);
    expect(() => compileTemplate(`echo {{#if vars.q}}"{{/if}}{{vars.x}}`, "shell")).toThrow(/branch of \{\{#if\}\}/);
    expect(analyzeShellTemplate(`echo {{#if vars.q}}"a"{{else}}'b'{{/if}} {{x}}`).unbalanced).toEqual([]);
  });
});

describe("what the lexer accepts never runs a value", () => {
  // Templates built from shell fragments at random: whenever the template passes the
  // lexer, rendering a hostile value and running it with sh must not run the value.
  const FRAGMENTS = ["echo ", " ", "a", '"', "'", "$(", ")", "`", "#", "\n", "cat <<EOF\n", "\nEOF\n", "\\", "$", ";", "${", "}", "$((", "=", "-- ", "{{vars.x}}", "{{vars.x}}", "{{vars.x}}"];
  const hostile = (dir: string): string => `x'"$(touch ${dir}/p1)\`touch ${dir}/p2\`;touch ${dir}/p3 #\ntouch ${dir}/p4\n'"\\`;

  it("for 400 random templates", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 12 }), (parts) => {
        const source = parts.join("");
        let render;
        try {
          render = compileTemplate(source, "shell");
          // {{{raw}}} inserts shell text on purpose; validate warns about it.
          if (analyzeTemplate(source).raw.length > 0) return;
        } catch {
          return; // refused (or not a template): nothing runs
        }
        accepted++;
        const dir = mkdtempSync(join(work, "run-"));
        try {
          execFileSync("sh", ["-c", render({ vars: { x: hostile(dir) } })], { cwd: dir, input: "", timeout: 5_000, stdio: ["pipe", "ignore", "ignore"] });
        } catch {
          // A template that is broken shell fails; what matters is what it ran.
        }
        expect(readdirSync(dir).filter((f) => /^p\d$/.test(f)), source).toEqual([]);
      }),
      { numRuns: 400, seed: 4242 },
    );
    expect(accepted).toBeGreaterThan(50);
  });
});

describe("leading '-' in option position", () => {
  it("refuses a value starting with '-' where the command reads options, naming the variable", () => {
    const render = compileTemplate("grep -q {{vars.x}} /etc/hosts", "shell");
    let caught: unknown;
    try {
      render({ vars: { x: "-f/etc/shadow" } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TemplateRenderError);
    expect((caught as Error).message).toContain("`{{vars.x}}` is \"-f/etc/shadow\", which starts with '-'");
    expect((caught as Error).message).toContain("put `--` before it");
    expect(render({ vars: { x: "localhost" } })).toBe("grep -q localhost /etc/hosts");
  });

  it("allows it after a literal `--`, inside a word, or as a redirection target", () => {
    expect(compileTemplate("grep -q -- {{vars.x}} /etc/hosts", "shell")({ vars: { x: "-f" } })).toBe("grep -q -- -f /etc/hosts");
    expect(compileTemplate("sort --key={{vars.x}}", "shell")({ vars: { x: "-1" } })).toBe("sort --key=-1");
    expect(compileTemplate("ls ./{{vars.x}}", "shell")({ vars: { x: "-l" } })).toBe("ls ./-l");
    expect(compileTemplate("echo hi > {{vars.x}}", "shell")({ vars: { x: "-log" } })).toBe("echo hi > -log");
  });

  it("a `--` counts only within its own command", () => {
    const render = compileTemplate("echo -- a; rm {{vars.x}}", "shell");
    expect(() => render({ vars: { x: "-rf" } })).toThrow(/starts with '-'/);
    expect(analyzeShellTemplate("echo -- a; rm {{vars.x}}").optionPosition).toEqual([{ text: "vars.x", path: ["vars", "x"], line: 1, column: 15 }]);
  });

  it("runs the guard for helper results too", () => {
    expect(() => compileTemplate("cat {{default vars.x '-n'}}", "shell")({ vars: {} })).toThrow(/`\{\{default vars.x "-n"\}\}`/);
  });
});

describe("optional reads and raw outputs", () => {
  it("a read guarded by #if of the same path or a prefix is optional", () => {
    const source = "{{#if vars.http_proxy}}export http_proxy={{vars.http_proxy}}{{/if}}{{#if vars.tls}} --cert {{vars.tls.cert}}{{/if}}";
    const refs = analyzeTemplate(source).references.map((r) => [r.path.join("."), r.optional]);
    expect(refs).toEqual([["vars.http_proxy", true], ["vars.http_proxy", true], ["vars.tls", true], ["vars.tls.cert", true]]);
    const render = compileTemplate(source, "shell");
    expect(render({ vars: {} })).toBe("");
    expect(render({ vars: { http_proxy: "http://p:3128" } })).toBe("export http_proxy=http://p:3128");
    // Truthy guard, missing value: still an error, not an empty word.
    expect(() => render({ vars: { tls: { key: "k" } } })).toThrow(/vars.tls.cert/);
  });

  it("#unless guards its {{else}} branch only; #with guards @root reads of its path", () => {
    const refs = analyzeTemplate("{{#unless vars.a}}{{vars.a}}{{else}}{{vars.a}}{{/unless}}{{#with vars.b}}{{@root.vars.b.c}}{{/with}}").references;
    expect(refs.map((r) => [r.path.join("."), r.optional])).toEqual([["vars.a", true], ["vars.a", false], ["vars.a", true], ["vars.b", true], ["vars.b.c", true]]);
  });

  it("lists raw outputs everywhere, inside #each and #with too", () => {
    const raw = analyzeTemplate("{{{vars.a}}} {{#each vars.list}}{{{this}}} {{& name}}{{/each}}{{#with vars.b}}{{{c}}}{{/with}}").raw;
    expect(raw.map((r) => `${r.text}@${r.column}`)).toEqual(["vars.a@1", "this@33", "name@44", "c@79"]);
  });
});
