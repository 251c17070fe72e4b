import { resolve } from "node:path";
import { RunSecrets } from "../core/secrets.ts";
import { appProbes } from "../facts/apps.ts";
import { gatherInventoryFacts } from "../facts/run.ts";
import type { FactsResult } from "../facts/types.ts";
import { indexInventory, type Selector } from "../model/selector.ts";
import { validateRepository, type ValidationResult } from "../validate/index.ts";
import { writePlan, type WrittenPlan } from "./artifact.ts";
import { checkPlanTime } from "./clock.ts";
import { hashInputs, openFactsCache } from "./inputs.ts";
import { formatSelector, plan, selectedHostNames } from "./planner.ts";
import { checkPlanLimit, findRunbook } from "./selection.ts";
import type { Plan } from "./types.ts";

export { plan, type PlanInput } from "./planner.ts";
export type { Plan } from "./types.ts";

export interface PlanRepositoryOptions {
  root: string;
  /** Runbook name, or a path to its file: repository-relative, relative to `cwd`, or absolute (see findRunbook). */
  runbook: string;
  /** Where a relative runbook path is looked up first (then the root). Default: the root. */
  cwd?: string;
  limit?: Selector;
  /** `--limit` as the user wrote it, for messages. Default: the selector written back. */
  limitText?: string;
  factsDir: string;
  outDir: string;
  now: Date;
  toolVersion: string;
  /**
   * Gather facts first, over SSH, for exactly the hosts the plan selects (targets ∩
   * limit), writing them to `factsDir`; `refresh` also refreshes package lists.
   */
  gather?: { refresh: boolean; env?: NodeJS.ProcessEnv; allowLocal?: boolean; onResult?: (result: FactsResult) => void };
  /**
   * The run's secrets: every secret the repository names is registered before facts
   * are gathered, and the probes read theirs through it. Default: a new one from `gather.env`.
   */
  secrets?: RunSecrets;
}

export type PlanRepositoryResult = { ok: true; plan: Plan; written: WrittenPlan; gathered?: FactsResult[] } | { ok: false; validation: ValidationResult };

/**
 * `steward plan`: validates the repository, gathers facts if asked, plans one runbook
 * from the facts cache and writes plans/<id>.json and .md. An invalid repository is a result, not a throw, so
 * the caller can show its diagnostics.
 * @throws UsageError (exit 2) for a clock outside 2000–9999, an unknown runbook, or a
 * limit that names unknown hosts, selects none, or none the runbook targets.
 */
export async function planRepository(options: PlanRepositoryOptions): Promise<PlanRepositoryResult> {
  checkPlanTime(options.now);
  const validation = await validateRepository(options.root, { now: options.now });
  if (validation.errors > 0) return { ok: false, validation };
  const runbook = await findRunbook(validation.runbooks, options.runbook, options.root, options.cwd ?? options.root);
  if (options.limit) checkPlanLimit(options.limit, options.limitText ?? formatSelector(options.limit), indexInventory(validation.inventory), runbook);
  const secrets = options.secrets ?? new RunSecrets(options.gather?.env ?? {});
  secrets.registerRepository(validation.inventory, validation.runbooks);
  let gathered: FactsResult[] | undefined;
  if (options.gather) {
    const { inventory } = validation;
    const names = selectedHostNames(inventory, runbook, options.limit);
    gathered = await gatherInventoryFacts(options.root, inventory, names, {
      refresh: options.gather.refresh,
      cacheDir: options.factsDir,
      apps: appProbes(runbook, inventory, secrets),
      secrets,
      allowLocal: options.gather.allowLocal === true,
      ...(options.gather.env ? { env: options.gather.env } : {}),
      ...(options.gather.onResult ? { onResult: options.gather.onResult } : {}),
    });
  }
  // The default cache may not exist yet (no host gathered); a folder the user named must.
  const facts = await openFactsCache(options.factsDir, { mustExist: resolve(options.factsDir) !== resolve(options.root, ".steward/facts") });
  const files = hashInputs(validation.hashes, runbook.file, validation.inventory.knownHosts);
  const result = plan({ inventory: validation.inventory, runbook, facts, now: options.now, toolVersion: options.toolVersion, inputs: { files }, ...(options.limit ? { limit: options.limit } : {}) });
  const written = await writePlan(result, resolve(options.root, options.outDir), { root: options.root, redact: (text) => secrets.redact(text) });
  return { ok: true, plan: written.plan, written, ...(gathered ? { gathered } : {}) };
}
