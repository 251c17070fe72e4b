import { missingSecretMessage, type RunSecrets } from "../core/secrets.ts";
import type { Inventory, Runbook } from "../model/types.ts";
import { compileProbes, probeAppFields } from "../steps/app-upgrade/probes.ts";
import { hostTemplateFields } from "../steps/template-context.ts";
import type { AppProbe } from "./types.ts";

/**
 * The version probes of a runbook's app-upgrade steps, rendered per host: the
 * `current_version` and `available_versions` commands with `host.*`, `vars.*` and
 * `app.name` / `app.range` (validate allows nothing else in them; see
 * src/steps/app-upgrade/probes.ts). Variables are the
 * runbook's `vars` overridden by the host's; a secret `{ env: NAME }` is resolved
 * through the run's secrets, so its value is registered for redaction before the probe
 * runs. A probe that cannot be rendered for a host — a secret it reads is not set, a
 * variable is missing — is a value saying why, naming the variable, so that host's
 * plan entry can give the reason. Probes run without become unless the step says
 * `become: true`.
 * @throws SecretError when a secret's value is too short to redact safely.
 */
export function appProbes(runbook: Runbook, inventory: Inventory, secrets: RunSecrets): (hostName: string) => AppProbe[] {
  const steps = runbook.steps.flatMap((step) => (step.kind === "app-upgrade" ? [compileProbes(step)] : []));
  return (hostName) => {
    const host = inventory.hosts.get(hostName);
    if (!host || steps.length === 0) return [];
    const { vars, missing } = secrets.resolveVars({ ...(runbook.vars ?? {}), ...host.vars });
    return steps.map((step): AppProbe => {
      const unset = missing.find((m) => step.reads.has(m.key.split(".")[0] ?? m.key));
      if (unset !== undefined) return { app: step.app, error: `cannot render the version probes: ${missingSecretMessage(unset, `the probes of ${step.app} on ${hostName}`)}; set it for this run (from your CI's secret store)` };
      try {
        const context = { host: hostTemplateFields(host), vars, app: probeAppFields(step) };
        return { app: step.app, become: step.become, current: step.current(context), ...(step.available ? { available: step.available(context) } : {}) };
      } catch (error) {
        return { app: step.app, error: secrets.redact(`cannot render the version probes: ${error instanceof Error ? error.message : String(error)}`) };
      }
    });
  };
}
