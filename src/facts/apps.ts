import { missingSecretMessage, type RunSecrets } from "../core/secrets.ts";
import type { Host, Inventory, Runbook } from "../model/types.ts";
import { analyzeTemplate, compileTemplate, type RenderFn } from "../template/index.ts";
import { HOST_FIELDS } from "../validate/rules/templates.ts";
import type { AppProbe } from "./types.ts";

/**
 * The version probes of a runbook's app-upgrade steps, rendered per host: the
 * `current_version` and `available_versions` commands with `host.*`, `vars.*` and
 * `app.name` / `app.range` (validate allows nothing else in them). Variables are the
 * runbook's `vars` overridden by the host's; a secret `{ env: NAME }` is resolved
 * through the run's secrets, so its value is registered for redaction before the probe
 * runs. A probe that cannot be rendered for a host — a secret it reads is not set, a
 * variable is missing — is a value saying why, naming the variable, so that host's
 * plan entry can give the reason. Probes run without become unless the step says
 * `become: true`.
 * @throws SecretError when a secret's value is too short to redact safely.
 */
export function appProbes(runbook: Runbook, inventory: Inventory, secrets: RunSecrets): (hostName: string) => AppProbe[] {
  const steps = runbook.steps.flatMap((step) =>
    step.kind === "app-upgrade"
      ? [{
          app: step.app,
          range: step.version,
          become: step.become === true,
          current: compileTemplate(step.current_version, "shell"),
          available: step.available_versions === undefined ? undefined : compileTemplate(step.available_versions, "shell"),
          reads: varsRead([step.current_version, step.available_versions]),
        }]
      : [],
  );
  return (hostName) => {
    const host = inventory.hosts.get(hostName);
    if (!host || steps.length === 0) return [];
    const { vars, missing } = secrets.resolveVars({ ...(runbook.vars ?? {}), ...host.vars });
    return steps.map((step): AppProbe => {
      const unset = missing.find((m) => step.reads.has(m.key.split(".")[0] ?? m.key));
      if (unset !== undefined) return { app: step.app, error: `cannot render the version probes: ${missingSecretMessage(unset, `the probes of ${step.app} on ${hostName}`)}; set it for this run (from your CI's secret store)` };
      try {
        const context = { host: hostFields(host), vars, app: { name: step.app, range: step.range } };
        const render = (fn: RenderFn): string => fn(context);
        return { app: step.app, become: step.become, current: render(step.current), ...(step.available ? { available: render(step.available) } : {}) };
      } catch (error) {
        return { app: step.app, error: secrets.redact(`cannot render the version probes: ${error instanceof Error ? error.message : String(error)}`) };
      }
    });
  };
}

/** The top-level `vars` keys templates read without tolerating their absence. */
function varsRead(templates: ReadonlyArray<string | undefined>): Set<string> {
  const keys = new Set<string>();
  for (const template of templates) {
    if (template === undefined) continue;
    for (const ref of analyzeTemplate(template).references) if (!ref.optional && ref.path[0] === "vars" && ref.path[1] !== undefined) keys.add(ref.path[1]);
  }
  return keys;
}

/** The host fields templates may read, exactly those validate allows. */
const hostFields = (h: Host): Record<string, unknown> => Object.fromEntries(HOST_FIELDS.map((field) => [field, h[field]]));
