/**
 * The planning half of a runbook step kind: everything steward knows about a kind
 * before anything runs on a host. Each kind lives in one folder, src/steps/<kind>/,
 * whose index.ts exports the members of `StepKindModule` typed against it
 * (`export const plan: StepKindModule<"reboot">["plan"] = …`), and is listed in
 * src/steps/registry.ts. Validate reads a kind's templated fields and semantic rules,
 * the planner its `plan`, the plan Markdown its `render`, and apply its default
 * timeout and `dependsOn`. The executing half (running the step on a host and judging
 * the result) is the kind's `StepExecutor` (src/apply/types.ts), in the same folder.
 */
import type { Diagnostic } from "../core/diagnostic.ts";
import type { YamlSource } from "../load/yaml-source.ts";
import type { Runbook, Step, StepKind } from "../model/types.ts";
import type { ExcludedPackage, PlannedPackage } from "../plan/policy.ts";
import type { PlannedAction } from "../plan/types.ts";
import type { HostPlan } from "./host-plan.ts";
import type { TemplateScope } from "./template-context.ts";

/** The step definition of one kind, as the runbook schema has it. */
export type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;

/** What the plan records for one step of kind K on one host. */
export type ActionOf<K extends StepKind> = Extract<PlannedAction, { kind: K }>;

/**
 * One template of a step: where it is (JSON pointer segments relative to the step, e.g.
 * `["checks", 2, "command"]`), its text, and when it is rendered, which decides what it
 * may read (see template-context.ts). Every templated field reaches a shell.
 */
export interface TemplatedField {
  path: ReadonlyArray<string | number>;
  text: string;
  scope: TemplateScope;
}

/** What a kind's semantic rules may read: the runbook's YAML (for positions), the runbook, and where the step is. */
export interface StepCheckContext {
  source: YamlSource;
  runbook: Runbook;
  /** The step's 0-based index in `runbook.steps`. */
  index: number;
}

/** A host's plan detail contributed by one action, for the plan Markdown (src/plan/markdown.ts). */
export interface HostDetailPart {
  /** One line each, shown as a bullet under the host; plain text, escaped by the renderer. */
  notes: string[];
  /** Package upgrades for the host's package table. */
  upgrades?: readonly PlannedPackage[];
  /** Package upgrades the policy or the step left out, for the "Left out" list. */
  excluded?: readonly ExcludedPackage[];
}

/** The facts a planned action depends on: apply recomputes the host's facts digest over exactly these. */
export interface FactsDependencies {
  /** Package names whose installed and upgradable entries the action was decided from. */
  packages: readonly string[];
  /** App names whose probed versions the action was decided from. */
  apps: readonly string[];
  /**
   * True when the action was decided from the host-wide facts the digest always covers
   * (OS, package manager, reboot flag): a packages step (the driver and its lists), an
   * app-upgrade (its probe), a `when: required` reboot (the flag). False for an action
   * decided from nothing on the host (a command, a check, a service…): a host whose
   * actions are all such has no facts to go stale, and apply reads none (NO_FACTS_DIGEST).
   */
  host: boolean;
}

/**
 * One step kind. K narrows the step and action types to the kind's own.
 */
export interface StepKindModule<K extends StepKind = StepKind> {
  kind: K;
  /**
   * The step's time limit in milliseconds when it sets no `timeout`: how long apply
   * lets one run of the step take on one host before it is failed.
   */
  defaultTimeoutMs: number;
  /** The step's templates, in document order. Validate parses and checks each one. */
  templatedFields(step: StepOf<K>): TemplatedField[];
  /**
   * Semantic rules of the kind beyond the runbook schema (a semver range that parses,
   * a reference to an earlier step), as located diagnostics. Never throws.
   */
  validate(step: StepOf<K>, ctx: StepCheckContext): Diagnostic[];
  /**
   * Decides the step on one host from its facts and the runbook's policy, without I/O
   * or clock: reads `host` (the facts, the compiled policy, what earlier steps planned)
   * and records on it what the action changes and which facts it depends on (`touch`,
   * `dependOnApp`, `changes`, `rebootExpected`); the facts digest covers exactly the
   * packages and apps recorded. `index` is the step's position in the runbook, which
   * the action carries. Kinds that cannot be decided before they run plan as
   * `{ step, index, kind }`: "will run".
   */
  plan(step: StepOf<K>, index: number, host: HostPlan): ActionOf<K>;
  /**
   * The facts a planned action depends on, read back from the action alone: what apply
   * recomputes the facts digest over before it touches the host. Agrees with what
   * `plan` recorded (test/steps/plan-steps.test.ts holds the two together).
   */
  dependsOn(action: ActionOf<K>): FactsDependencies;
  /** The action's part of the host's detail in the plan Markdown. */
  render(action: ActionOf<K>): HostDetailPart;
}
