import { describe, expect, it } from "vitest";
import { ansibleEquivalent, jinjaTags } from "../../src/template/jinja.ts";
import { parse, TemplateSyntaxError } from "../../src/template/parse.ts";

describe("jinjaTags", () => {
  it("finds statements and comments with their position and the Handlebars spelling", () => {
    const tags = jinjaTags("{% if ready %}echo\n  {% for h in hosts %}{{h}}{% endfor %}{# note #}{% endif %}");
    expect(tags.map((t) => [t.text, t.line, t.column])).toEqual([
      ["{% if ready %}", 1, 1],
      ["{% for h in hosts %}", 2, 3],
      ["{% endfor %}", 2, 28],
      ["{# note #}", 2, 40],
      ["{% endif %}", 2, 50],
    ]);
    expect(tags[0]!.hint).toContain("{{#if vars.ready}}…{{else}}…{{/if}}");
    expect(tags[1]!.hint).toContain("{{#each vars.hosts}}");
    expect(tags[3]!.hint).toContain("{{!-- note --}}");
  });

  it("leaves shell syntax that only looks similar alone", () => {
    expect(jinjaTags('n=${#list[@]}; printf "{%s}\\n" x; echo ${#a} ${#b}')).toEqual([]);
  });
});

describe("ansibleEquivalent", () => {
  it.each([
    [["inventory_hostname"], "{{host.name}}"],
    [["ansible_host"], "{{host.address}}"],
    [["ansible_user"], "{{host.user}}"],
    [["ansible_port"], "{{host.port}}"],
    [["hostvars", "web-01", "x"], "sees only the host it runs for"],
    [["groups", "web"], "{{host.groups}}"],
  ])("%j → %s", (path, expected) => expect(ansibleEquivalent(path)).toContain(expected));

  it("says nothing for steward's own names", () => expect(ansibleEquivalent(["vars", "x"])).toBeUndefined());
});

describe("parse on a Jinja filter", () => {
  it("says it is a Jinja filter and how to write it, at the {{", () => {
    let error: unknown;
    try {
      parse("echo a\necho {{ x | default('y') }}");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateSyntaxError);
    expect(error).toMatchObject({ line: 2, column: 6, message: expect.stringContaining('write {{default vars.x "y"}}') });
  });

  it("still parses block parameters, Handlebars' own use of '|'", () => {
    expect(() => parse("{{#each vars.list as |item|}}{{item}}{{/each}}")).not.toThrow();
  });
});

describe("parse on Ansible's hostvars[…] and groups[…]", () => {
  it.each([
    ["echo {{hostvars['web-01'].x}}", "sees only the host it runs for"],
    ["echo {{ groups['web'][0] }}", "{{host.groups}}"],
  ])("%s says what steward has instead", (template, expected) => {
    expect(() => parse(template)).toThrow(expect.objectContaining({ line: 1, column: 6, message: expect.stringContaining(expected) }));
  });
});
