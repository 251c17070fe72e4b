/**
 * What apply refuses before it touches any host and that does not depend on the
 * plan's bytes: step kinds that cannot run yet, and secrets a step reads that the
 * environment does not give. `steward apply` checks them on the plan it read;
 * `steward run` checks them on the runbook and the hosts it selects before it
 * gathers facts or writes a plan, so a refused run leaves nothing behind.
 */
import { EnvironmentError, StewardError } from "../core/errors.ts";
import type { RunSecrets } from "../core/secrets.ts";
import type { Inventory, Step } from "../model/types.ts";
import { kindOf } from "../steps/registry.ts";
import { unsupportedSteps } from "../steps/executors.ts";
import { analyzeTemplate } from "../template/index.ts";

/** The part of a runbook (or of a plan's copy of it) the checks read. */
export interface PreflightInput {
  steps: readonly Step[];
  /** The runbook's own vars; a host's vars override them per key. */
  vars?: Readonly<Record<string, unknown>>;
  inventory: Inventory;
  /** The hosts that would run the steps (a plan's hosts, or the runbook's selected hosts). */
  hosts: readonly string[];
  /** The run's secrets, with the repository's `{ env: … }` values registered. */
  secrets: RunSecrets;
  /** The environment the secrets were read from: an empty value is named as such. */
  env: NodeJS.ProcessEnv;
}

/**
 * Throws the first refusal, or returns when apply may go on.
 * @throws StewardError "invalid-input" (exit 3) naming every step whose kind cannot be
 *   applied yet (src/steps/executors.ts, NOT_EXECUTABLE).
 * @throws EnvironmentError (exit 6) naming, for up to three variables, the step that
 *   reads it, the `vars.` key and the environment variable, and whether it is unset or empty.
 */
export function assertApplicable(input: PreflightInput, nothing = "nothing was applied"): void {
  const refused = unsupportedSteps(input.steps);
  if (refused.length > 0) throw new StewardError("invalid-input", refused.join("; "), nothing);
  const unset = unsetSecrets(input);
  if (unset.length > 0) {
    throw new EnvironmentError(`${unset.slice(0, 3).join("; ")}${unset.length > 3 ? `; and ${unset.length - 3} more` : ""}; ${nothing}`, "set the variable in the environment (your CI's secret store) and apply again");
  }
}

/**
 * Secrets the steps will read on some host but the environment does not hold (unset,
 * or set to the empty string, which no secret is), one message each naming the step,
 * the variable and the environment variable: found before any host is touched, so no
 * host runs half its steps and stops at the one that needs the secret.
 */
export function unsetSecrets(input: PreflightInput): string[] {
  const reads = new Map<string, string>();
  for (const step of input.steps) {
    for (const field of kindOf(step).templatedFields(step)) {
      let refs: ReturnType<typeof analyzeTemplate>["references"] = [];
      try {
        refs = analyzeTemplate(field.text).references;
      } catch {
        continue;
      }
      for (const ref of refs) if (ref.path[0] === "vars" && ref.path[1] !== undefined && !reads.has(ref.path[1])) reads.set(ref.path[1], step.name);
    }
  }
  const out = new Set<string>();
  for (const name of input.hosts) {
    const inv = input.inventory.hosts.get(name);
    if (inv === undefined) continue;
    for (const missing of input.secrets.resolveVars({ ...input.vars, ...inv.vars }).missing) {
      const step = reads.get(missing.key);
      if (step === undefined) continue;
      const why = input.env[missing.variable] === "" ? "is set but empty" : "is not set in the environment";
      out.add(`step '${step}' reads \`vars.${missing.key}\`, which is { env: ${missing.variable} }, but ${missing.variable} ${why}`);
    }
  }
  // Fields that are themselves { env: NAME } (a backup's or a database's password).
  for (const step of input.steps) {
    for (const ref of envFields(step)) {
      const value = input.env[ref];
      if (value === undefined || value === "") out.add(`step '${step.name}' reads its password from { env: ${ref} }, but ${ref} ${value === "" ? "is set but empty" : "is not set in the environment"}`);
    }
  }
  return [...out].sort();
}

/** The environment variables a step's own `{ env: NAME }` fields name (not its templates'), e.g. `password`, `connection.password`. */
function envFields(step: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown, depth: number): void => {
    if (depth > 4 || typeof value !== "object" || value === null) return;
    const env = (value as { env?: unknown }).env;
    if (typeof env === "string" && Object.keys(value).length === 1) out.push(env);
    else for (const v of Object.values(value)) walk(v, depth + 1);
  };
  walk(step, 0);
  return out;
}
