import type { Diagnostic } from "../../core/diagnostic.ts";
import { pointerOf } from "../../core/diagnostic.ts";
import { closest, didYouMean } from "../../core/suggest.ts";
import { locateInTemplate, type YamlSource } from "../../load/yaml-source.ts";
import type { Host, Runbook, SecretRef } from "../../model/types.ts";
import { checksTemplatedFields } from "../../steps/check/index.ts";
import { kindOf } from "../../steps/registry.ts";
import { APP_FIELDS, HOST_FIELDS, PROBE_APP_FIELDS, RUN_FIELDS, SCOPE_ROOTS, type TemplateScope } from "../../steps/template-context.ts";
import { isSecretRef } from "../../model/secrets.ts";
import { ansibleEquivalent, jinjaTags } from "../../template/jinja.ts";
import { analyzeShellTemplate, analyzeTemplate, HELPER_NAMES, TemplateSyntaxError, unbalancedMessage, unsafePlacementMessage } from "../../template/index.ts";

/** "did you mean `host.name`?" for a field of one root. */
function fieldHint(root: string, field: string, fields: readonly string[]): string | undefined {
  const match = closest(field, fields);
  return match === undefined ? undefined : `did you mean \`${root}.${match}\`?`;
}

/**
 * Each templated field of a runbook, as [JSON pointer, text, scope], from the steps'
 * kinds (src/steps/<kind>/) and the rollout's gate checks. All of them reach a shell.
 */
export function templatedFields(runbook: Runbook): Array<[string, string, TemplateScope]> {
  const out: Array<[string, string, TemplateScope]> = [];
  runbook.steps.forEach((step, i) => {
    for (const f of kindOf(step).templatedFields(step)) out.push([pointerOf(["steps", i, ...f.path]), f.text, f.scope]);
  });
  for (const f of checksTemplatedFields(runbook.rollout?.gate?.checks ?? [], ["rollout", "gate", "checks"])) out.push([pointerOf(f.path), f.text, f.scope]);
  return out;
}

/**
 * The targeted hosts (or "the runbook") whose value of `vars.<field>` starts with `-`.
 * A host's own value wins over the runbook's.
 */
function leadingDash(field: string, runbook: Runbook, targets: Host[]): string[] {
  const dashed = (value: unknown): boolean => (typeof value === "string" || typeof value === "number") && String(value).startsWith("-");
  const runbookValue = runbook.vars?.[field];
  const hosts = targets.filter((h) => dashed(field in h.vars ? h.vars[field] : runbookValue)).map((h) => h.name);
  if (hosts.length === 0 && targets.length === 0 && dashed(runbookValue)) return ["the runbook's vars"];
  return hosts;
}

/** The secret reference `{ env: NAME }` that `vars.<field>` is, in the runbook's vars or on a targeted host. */
function secretOf(field: string, runbook: Runbook, targets: Host[]): SecretRef | undefined {
  return [runbook.vars?.[field], ...targets.map((h) => h.vars[field])].find(isSecretRef);
}

/**
 * Parses every template of a runbook and checks each variable it reads exists for
 * every targeted host, so a typo fails in the pull request, not at 3 a.m. on host 40.
 */
export function checkTemplates(source: YamlSource, runbook: Runbook, targets: Host[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const runbookVars = Object.keys(runbook.vars ?? {});
  for (const [pointer, text, scope] of templatedFields(runbook)) {
    const roots = SCOPE_ROOTS[scope];
    const rootList = roots.map((r) => `${r}.*`).join(", ");
    let analysis;
    let shell;
    try {
      analysis = analyzeTemplate(text);
      shell = analyzeShellTemplate(text);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      const pos = locateInTemplate(source, pointer, error.line, error.column);
      out.push({ severity: "error", rule: "template/syntax", file: source.file, line: pos.line, column: pos.column, pointer, message: `template error: ${error.message}` });
      continue;
    }
    const at = (line: number, column: number, rule: string, message: string, hint?: string, severity: Diagnostic["severity"] = "error"): void => {
      const pos = locateInTemplate(source, pointer, line, column);
      out.push({ severity, rule, file: source.file, line: pos.line, column: pos.column, pointer, message, ...(hint ? { hint } : {}) });
    };
    // Handlebars passes Jinja's {% … %} and {# … #} through as text: they would reach the shell.
    for (const j of jinjaTags(text)) at(j.line, j.column, "template/jinja", `\`${j.text}\` is Jinja syntax; steward would pass it to the shell as text`, j.hint);
    for (const h of analysis.unknownHelpers) at(h.line, h.column, "template/unknown-helper", `the template calls \`${h.name}\`, which is not a helper`, didYouMean(h.name, HELPER_NAMES) ?? `helpers: ${HELPER_NAMES.join(", ")}`);
    for (const raw of analysis.raw) at(raw.line, raw.column, "template/unquoted", `\`{{{${raw.text}}}}\` reaches the shell without quoting`, `use {{${raw.text}}} so the value is shell-quoted, unless it is meant to be shell syntax`, "warning");
    for (const u of shell.unsafe) {
      const { message, hint } = unsafePlacementMessage(u);
      at(u.line, u.column, "template/quoted-context", message, hint);
    }
    for (const b of shell.unbalanced) at(b.line, b.column, "template/quoted-context", unbalancedMessage(b));
    for (const o of shell.optionPosition) {
      const dashed = o.path?.[0] === "vars" && o.path.length === 2 ? leadingDash(o.path[1]!, runbook, targets) : [];
      if (dashed.length > 0) {
        const names = dashed.slice(0, 3).join(", ") + (dashed.length > 3 ? ` and ${dashed.length - 3} more` : "");
        at(o.line, o.column, "template/leading-dash", `\`{{${o.text}}}\` starts with '-' on ${names}, where the command reads options`, `put \`--\` before it (end of options), attach it to its option (--opt={{${o.text}}}), or make it a path (./{{${o.text}}})`);
      }
    }
    for (const ref of analysis.references) {
      const [root, field] = ref.path;
      const shown = ref.path.join(".");
      if (root === undefined || !roots.includes(root)) {
        const why = scope === "probe" && root === "run" ? "; version probes run when facts are gathered, before any run exists" : "";
        at(ref.line, ref.column, "template/unknown-variable", `the template reads \`${shown}\`; this template reads ${rootList}${why}`, why ? undefined : (ansibleEquivalent(ref.path) ?? didYouMean(root ?? "", roots) ?? (root ? `did you mean \`vars.${root}\`?` : undefined)));
        continue;
      }
      if (field === undefined) continue;
      const appFields = scope === "probe" ? PROBE_APP_FIELDS : APP_FIELDS;
      if (root === "app" && !(appFields as readonly string[]).includes(field)) {
        const why = scope === "probe" && (APP_FIELDS as readonly string[]).includes(field) ? "; the probes find it out, so they cannot read it" : "";
        at(ref.line, ref.column, "template/unknown-variable", `\`app.${field}\` is not available here (${appFields.map((f) => `app.${f}`).join(", ")})${why}`, why ? undefined : fieldHint("app", field, appFields));
        continue;
      }
      if (root === "host" && !(HOST_FIELDS as readonly string[]).includes(field)) {
        at(ref.line, ref.column, "template/unknown-variable", `\`host.${field}\` is not a host field (${HOST_FIELDS.join(", ")})`, fieldHint("host", field, HOST_FIELDS));
      } else if (root === "run" && !(RUN_FIELDS as readonly string[]).includes(field)) {
        at(ref.line, ref.column, "template/unknown-variable", `\`run.${field}\` is not a run field (${RUN_FIELDS.join(", ")})`, fieldHint("run", field, RUN_FIELDS));
      } else if (root === "vars" && ref.path.length > 2 && secretOf(field, runbook, targets)) {
        // A secret's value is the string read from the environment; nothing lies below it.
        const env = secretOf(field, runbook, targets)?.env;
        at(ref.line, ref.column, "template/secret-path", `\`vars.${field}\` is a secret (\`{ env: ${env} }\`) whose value is a string, so \`${shown}\` is never set`, `write {{vars.${field}}} for the secret's value`);
      } else if (root === "vars" && !ref.optional && !runbookVars.includes(field)) {
        const missing = targets.filter((h) => !(field in h.vars));
        if (missing.length > 0) {
          // Set on some targeted hosts, the name is no typo: say where to set it instead.
          const partial = missing.length < targets.length;
          const known = new Set([...runbookVars, ...targets.flatMap((h) => Object.keys(h.vars))]);
          const setIt = `set it in the runbook's \`vars\`, or in the inventory for those hosts, or use {{default vars.${field} "…"}}`;
          const names = missing.slice(0, 3).map((h) => h.name).join(", ") + (missing.length > 3 ? ` and ${missing.length - 3} more` : "");
          at(ref.line, ref.column, "template/unknown-variable", `\`vars.${field}\` is not set for ${missing.length === targets.length ? "any targeted host" : `${missing.length} of ${targets.length} targeted hosts (${names})`}`, (partial ? undefined : didYouMean(field, known)) ?? setIt);
        }
      }
    }
  }
  return out;
}
