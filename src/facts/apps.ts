import { isSecretRef } from "../model/secrets.ts";
import type { Host, Inventory, Runbook } from "../model/types.ts";
import { compileTemplate, type RenderFn } from "../template/index.ts";
import { HOST_FIELDS } from "../validate/rules/templates.ts";
import type { AppProbe } from "./types.ts";

/**
 * The version probes of a runbook's app-upgrade steps, rendered per host: the
 * `current_version` and `available_versions` commands with `host.*`, `vars.*` and
 * `app.name` / `app.range` (validate allows nothing else in them). Variables are the
 * runbook's `vars` overridden by the host's; a secret `{ env: NAME }` is read from the
 * environment (left unset when the environment lacks it). A probe that cannot be rendered for a host is a value saying why, so
 * that host's plan entry can name the reason.
 */
export function appProbes(runbook: Runbook, inventory: Inventory, env: NodeJS.ProcessEnv): (hostName: string) => AppProbe[] {
  const steps = runbook.steps.flatMap((step) =>
    step.kind === "app-upgrade"
      ? [{ app: step.app, range: step.version, current: compileTemplate(step.current_version, "shell"), available: step.available_versions === undefined ? undefined : compileTemplate(step.available_versions, "shell") }]
      : [],
  );
  return (hostName) => {
    const host = inventory.hosts.get(hostName);
    if (!host || steps.length === 0) return [];
    return steps.map((step): AppProbe => {
      try {
        const context = { host: hostFields(host), vars: resolveSecrets({ ...(runbook.vars ?? {}), ...host.vars }, env), app: { name: step.app, range: step.range } };
        const render = (fn: RenderFn): string => fn(context);
        return { app: step.app, current: render(step.current), ...(step.available ? { available: render(step.available) } : {}) };
      } catch (error) {
        return { app: step.app, error: `cannot render the version probes: ${error instanceof Error ? error.message : String(error)}` };
      }
    });
  };
}

/** The host fields templates may read, exactly those validate allows. */
const hostFields = (h: Host): Record<string, unknown> => Object.fromEntries(HOST_FIELDS.map((field) => [field, h[field]]));

function resolveSecrets(vars: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(vars)) {
    if (isSecretRef(value)) {
      const name = value.env;
      // Unset, the variable is left out: a probe that reads it then fails to render, naming it.
      const secret = env[name];
      if (secret !== undefined) out[key] = secret;
    } else {
      out[key] = value;
    }
  }
  return out;
}
