/**
 * Templates written for Ansible or Jinja, recognised so validation can say what they
 * mean in steward's Handlebars templates. Handlebars does not know `{% … %}` or
 * `{# … #}`: it would pass them to the shell as literal text. And Ansible's variables
 * (`inventory_hostname`, `ansible_host`, `hostvars[…]`) have steward names of their own.
 */

/** A Jinja statement or comment found in a template, with its 1-based position. */
export interface JinjaTag {
  /** The tag as written, e.g. `{% if x %}`. */
  text: string;
  line: number;
  column: number;
  /** The Handlebars way to write it. */
  hint: string;
}

/**
 * `{% … %}` statements and `{# … #}` comments (Jinja's delimiters, jinja.palletsprojects.com
 * "Template Designer Documentation"). A comment needs its closing `#}` and must not
 * follow `$`, so the shell's `${#array[@]}` is not one.
 */
const JINJA_TAG = /\{%-?\s*([\s\S]*?)\s*-?%\}|(?<!\$)\{#([\s\S]*?)#\}/g;

/** The Handlebars spelling of one Jinja statement, by its keyword. */
function statementHint(body: string): string {
  const [keyword = "", ...rest] = body.split(/\s+/);
  const words = rest.join(" ");
  switch (keyword) {
    case "if":
    case "elif":
      return `write {{#if vars.${/^[A-Za-z_][\w.]*$/.test(words) ? words : "x"}}}…{{else}}…{{/if}}`;
    case "else":
      return "write {{else}} inside {{#if …}}…{{/if}}";
    case "endif":
      return "write {{/if}} to end an {{#if …}}";
    case "for": {
      const list = /\bin\s+([A-Za-z_][\w.]*)/.exec(words)?.[1] ?? "list";
      return `write {{#each vars.${list}}}…{{this}}…{{/each}}`;
    }
    case "endfor":
      return "write {{/each}} to end an {{#each …}}";
    case "set":
      return "set variables in the runbook's `vars` (or the inventory) instead; templates cannot assign";
    default:
      return "steward templates are Handlebars: {{vars.x}}, {{#if vars.x}}…{{/if}}, {{#each vars.list}}…{{/each}}";
  }
}

/** Every Jinja statement and comment in a template, in order. */
export function jinjaTags(source: string): JinjaTag[] {
  const out: JinjaTag[] = [];
  for (const m of source.matchAll(JINJA_TAG)) {
    const before = source.slice(0, m.index);
    const line = before.split("\n").length;
    const column = m.index - before.lastIndexOf("\n");
    const hint = m[2] !== undefined ? `write a Handlebars comment: {{!-- ${m[2].trim()} --}}` : statementHint(m[1]!);
    out.push({ text: m[0], line, column, hint: `steward templates are Handlebars, not Jinja: ${hint}` });
  }
  return out;
}

/** Ansible variables and the steward template that says the same. */
const ANSIBLE_NAMES: Record<string, string> = {
  inventory_hostname: "{{host.name}}",
  inventory_hostname_short: "{{host.name}}",
  ansible_host: "{{host.address}}",
  ansible_hostname: "{{host.name}}",
  ansible_user: "{{host.user}}",
  ansible_port: "{{host.port}}",
  group_names: "{{host.groups}} (with {{#each host.groups}}…{{/each}})",
};

/**
 * How to write what an Ansible variable means, for a template that reads `path`
 * (`inventory_hostname`, `ansible_host`, `hostvars.web.x`, `groups.web`); undefined
 * when the first name is not Ansible's.
 */
export function ansibleEquivalent(path: readonly string[]): string | undefined {
  const [root] = path;
  if (root === undefined) return undefined;
  const same = ANSIBLE_NAMES[root];
  if (same) return `${root} is Ansible's; in steward write ${same}`;
  if (root === "hostvars") return "hostvars is Ansible's; a steward template sees only the host it runs for: {{host.name}}, {{host.address}} and {{vars.x}}";
  if (root === "groups") return "groups is Ansible's; a steward template sees the current host's groups as {{host.groups}}, and runbook targets select hosts by group (targets: group:web)";
  return undefined;
}
