import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { runHost, type RunHostOptions } from "../../src/apply/host-runner.ts";
import type { HostJournal, HostResult, StepIntent, StepResult } from "../../src/apply/types.ts";
import type { StepKind } from "../../src/model/types.ts";
import { RunSecrets } from "../../src/core/secrets.ts";
import { appProbes } from "../../src/facts/apps.ts";
import { gatherFacts } from "../../src/facts/gather.ts";
import { hostTarget } from "../../src/facts/target.ts";
import type { FactsResult } from "../../src/facts/types.ts";
import type { Inventory, Runbook } from "../../src/model/types.ts";
import { plan } from "../../src/plan/planner.ts";
import type { Plan } from "../../src/plan/types.ts";
import { execInHost, type FleetState } from "../../src/sandbox/index.ts";
import type { Transport } from "../../src/transport/types.ts";
import { validateRepository } from "../../src/validate/index.ts";

/**
 * Every record the runner journaled, in order, for every host it was handed to: the
 * runner's side of the journal contract (the engine's journal keeps the same order).
 * `for(host)` is the HostJournal one host's runner writes to.
 */
export class RecordingJournal {
  readonly records: Array<{ type: "intent"; host: string; index: number; intent: { step: string; kind: StepKind; evidence?: Record<string, unknown> } } | { type: "outcome"; host: string; index: number; result: StepResult }> = [];
  constructor(
    readonly completed: ReadonlyMap<string, StepResult> = new Map(),
    readonly pending: ReadonlyMap<string, StepIntent> = new Map(),
  ) {}
  for(host: string): HostJournal {
    let index = -1;
    return {
      completed: this.completed,
      pending: this.pending,
      intent: async (intent) => {
        index += 1;
        this.records.push({ type: "intent", host, index, intent });
      },
      outcome: async (result) => {
        this.records.push({ type: "outcome", host, index, result });
      },
    };
  }
  /** "intent 0 upgrade", "outcome 0 changed", … for one host. */
  trail(host: string): string[] {
    return this.records.filter((r) => r.host === host).map((r) => (r.type === "intent" ? `intent ${r.index} ${r.intent.step}` : `outcome ${r.index} ${r.result.outcome}`));
  }
}

/** Writes the runbooks into the fleet's repository and validates it; throws on any error. */
export async function repository(state: FleetState, runbooks: Record<string, string>): Promise<{ inventory: Inventory; runbooks: Map<string, Runbook> }> {
  await mkdir(join(state.dir, "runbooks"), { recursive: true });
  for (const [name, text] of Object.entries(runbooks)) await writeFile(join(state.dir, "runbooks", `${name}.yaml`), text);
  const validation = await validateRepository(state.dir);
  expect(validation.errors, JSON.stringify(validation.diagnostics?.slice(0, 5))).toBe(0);
  return { inventory: validation.inventory, runbooks: new Map(validation.runbooks.map((r) => [r.name, r])) };
}

/** Facts gathered now from the runbook's hosts (with its app probes), then the real planner. */
export async function planNow(transport: Transport, inventory: Inventory, runbook: Runbook): Promise<{ plan: Plan; facts: Map<string, FactsResult> }> {
  const secrets = new RunSecrets({});
  const probes = appProbes(runbook, inventory, secrets);
  const hosts = [...inventory.hosts.values()];
  const results = await gatherFacts(hosts.map((h) => hostTarget(inventory, h)), { transport, apps: (t) => probes(t.name) });
  const facts = new Map(results.map((r) => [r.host, r]));
  const made = plan({ inventory, runbook, facts, now: new Date(), toolVersion: "test", inputs: { files: [] } });
  return { plan: made, facts };
}

/** The host runner's options for one planned host of a plan made by planNow. */
export function hostOptions(transport: Transport, inventory: Inventory, runbook: Runbook, made: Plan, name: string, journal: RecordingJournal, extra: Partial<RunHostOptions> = {}): RunHostOptions {
  const host = made.hosts.find((h) => h.name === name);
  if (host === undefined) throw new Error(`${name} is not planned: ${JSON.stringify(made.skipped.filter((s) => s.host === name))}`);
  const inv = inventory.hosts.get(name)!;
  return {
    plan: made,
    host,
    target: hostTarget(inventory, inv),
    transport,
    journal: journal.for(name),
    templateContext: { host: { name: inv.name, address: inv.address }, vars: { ...(runbook.vars ?? {}), ...inv.vars } },
    appProbes: appProbes(runbook, inventory, new RunSecrets({}))(name),
    ...extra,
  };
}

/** Runs one planned host through the host runner. */
export async function applyHost(transport: Transport, inventory: Inventory, runbook: Runbook, made: Plan, name: string, journal: RecordingJournal, extra: Partial<RunHostOptions> = {}): Promise<HostResult> {
  return runHost(hostOptions(transport, inventory, runbook, made, name, journal, extra));
}

/** `name version status` of packages on a host, read inside it (not through steward). */
export async function versionsOn(state: FleetState, host: string, names: string[]): Promise<Record<string, string>> {
  const r = await execInHost(state, host, ["dpkg-query", "-W", "-f=${Package} ${Version} ${db:Status-Abbrev}\\n", ...names]);
  const out: Record<string, string> = {};
  for (const line of r.stdout.trim().split("\n")) {
    const [name, version, status] = line.split(" ");
    if (name) out[name] = `${version} ${status}`;
  }
  return out;
}
