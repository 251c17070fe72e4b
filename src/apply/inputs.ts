import { StewardError } from "../core/errors.ts";
import type { Plan } from "../plan/types.ts";

/**
 * Apply refuses a plan whose inputs moved since planning, the way Terraform refuses a
 * saved plan whose state changed: each repository file the plan was made from (every
 * inventory file, the runbook, the known_hosts file the inventory names) is hashed
 * again from its bytes now, and the steward that applies must be the one that planned.
 */

/** One reason a plan no longer matches its inputs, for the user: "inventory/web.yaml changed". */
export type InputChange = string;

/**
 * What changed between the plan's inputs and the repository now. `hashes` are the
 * sha256 of each file's bytes as validation read them (ValidationResult.hashes);
 * `knownHosts` is the known_hosts path the inventory names now. Empty when nothing did.
 */
export function changedInputs(plan: Plan, hashes: ReadonlyMap<string, string>, knownHosts: string | undefined, toolVersion: string): InputChange[] {
  const changes: InputChange[] = [];
  const planned = new Map(plan.inputs.files.map((f) => [f.path, f.sha256]));
  for (const [path, sha256] of planned) {
    const now = hashes.get(path);
    if (now === undefined) changes.push(`${path} was removed`);
    else if (now !== sha256) changes.push(`${path} changed`);
  }
  for (const path of hashes.keys()) {
    const counts = path.startsWith("inventory/") || path === plan.runbook.file || path === knownHosts;
    if (counts && !planned.has(path)) changes.push(`${path} is new`);
  }
  if (plan.toolVersion !== toolVersion) changes.push(`the plan was made by steward ${plan.toolVersion}; this is steward ${toolVersion}`);
  return changes.sort();
}

/** The plan's inputs moved since planning: exit 5, naming every change. */
export class StalePlanError extends StewardError {
  readonly changes: readonly InputChange[];
  constructor(planId: string, changes: readonly InputChange[], runbook: string) {
    super("stale-plan", `plan ${planId} is stale: ${changes.join("; ")}`, `re-plan with \`steward plan ${runbook} --gather\`, review the new plan, and apply that`);
    this.changes = changes;
  }
}
