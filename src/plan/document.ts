import { StewardError } from "../core/errors.ts";
import { canonicalJson, sha256 } from "./digest.ts";
import type { ExcludedPackage, PlannedPackage } from "./policy.ts";
import { PLAN_FORMAT, type Plan, type PlanBody, type PlannedAction, type PlannedHost, type SkippedHost } from "./types.ts";

/**
 * The plan as it is written to plans/<id>.json. A fleet upgrades the same package
 * between the same two versions on thousands of hosts, so each distinct package
 * decision is written once, in `packages.planned` / `packages.excluded`, and hosts list
 * indices into those tables. For 10,000 hosts × 50 packages this keeps the file a few
 * MiB instead of over a hundred. Tables are ordered by first use in rollout order
 * (then skipped hosts by name), so the same plan always gives the same file.
 */

type UpgradeAction = Extract<PlannedAction, { action: "upgrade" }>;
type UpgradeActionDocument = Omit<UpgradeAction, "upgrades" | "excluded"> & { upgrades: number[]; excluded: number[] };
export type ActionDocument = Exclude<PlannedAction, UpgradeAction> | UpgradeActionDocument;
export type HostDocument = Omit<PlannedHost, "actions"> & { actions: ActionDocument[] };
export type SkippedDocument = Omit<SkippedHost, "excluded"> & { excluded?: number[] };
export type PlanDocument = Omit<Plan, "hosts" | "skipped"> & {
  packages: { planned: PlannedPackage[]; excluded: ExcludedPackage[] };
  hosts: HostDocument[];
  skipped: SkippedDocument[];
};

/** Interns equal values: by identity first (decisions are shared), by content otherwise. */
class Table<T extends object> {
  readonly items: T[] = [];
  private readonly byRef = new Map<T, number>();
  private readonly byContent = new Map<string, number>();

  index(item: T): number {
    const known = this.byRef.get(item);
    if (known !== undefined) return known;
    const key = canonicalJson(item);
    let i = this.byContent.get(key);
    if (i === undefined) {
      i = this.items.push(item) - 1;
      this.byContent.set(key, i);
    }
    this.byRef.set(item, i);
    return i;
  }
}

/** The document without the members made from its content. */
export type PlanBodyDocument = Omit<PlanDocument, "id" | "digest">;

export function toDocument(plan: Plan): PlanDocument;
export function toDocument(plan: PlanBody): PlanBodyDocument;
export function toDocument(plan: Plan | PlanBody): PlanDocument | PlanBodyDocument {
  const planned = new Table<PlannedPackage>();
  const excluded = new Table<ExcludedPackage>();
  const hosts = plan.hosts.map(
    (h): HostDocument => ({
      ...h,
      actions: h.actions.map((a): ActionDocument => ("upgrades" in a ? { ...a, upgrades: a.upgrades.map((u) => planned.index(u)), excluded: a.excluded.map((e) => excluded.index(e)) } : a)),
    }),
  );
  const skipped = plan.skipped.map((s): SkippedDocument => {
    const { excluded: list, ...rest } = s;
    return list ? { ...rest, excluded: list.map((e) => excluded.index(e)) } : rest;
  });
  return { ...plan, packages: { planned: planned.items, excluded: excluded.items }, hosts, skipped };
}

/** How to fix a plan steward will not read. */
export const REPLAN_HINT = "re-plan with `steward plan <runbook>`, review the new plan, and apply that";

/**
 * Refuses a plan of another format than PLAN_FORMAT, saying whether it is older
 * (written before plans carried what apply needs) or newer than this steward.
 * @throws StewardError "stale-plan" (exit 5).
 */
export function checkFormat(format: unknown, file: string): void {
  if (format === PLAN_FORMAT) return;
  if (typeof format === "number" && Number.isInteger(format) && format < PLAN_FORMAT) {
    throw new StewardError("stale-plan", `${file}: plan format ${format} was written by an older steward; this steward reads format ${PLAN_FORMAT} only`, REPLAN_HINT);
  }
  if (typeof format === "number" && Number.isInteger(format)) {
    throw new StewardError("stale-plan", `${file}: plan format ${format} was written by a newer steward; this steward reads format ${PLAN_FORMAT} only`, "apply it with the steward version that wrote it, or re-plan with this one (`steward plan <runbook>`)");
  }
  throw new StewardError("stale-plan", `${file}: a plan without a known format; this steward reads format ${PLAN_FORMAT} only`, REPLAN_HINT);
}

/**
 * A plan read back from its file: the format checked and every index resolved, so a
 * damaged or hand-edited file is an error naming what is wrong, not a plan with holes.
 */
export function fromDocument(doc: PlanDocument, file?: string): Plan;
export function fromDocument(doc: PlanBodyDocument, file?: string): PlanBody;
export function fromDocument(doc: PlanDocument | PlanBodyDocument, file = "plan"): Plan | PlanBody {
  checkFormat(doc.format, file);
  const resolve = <T>(table: readonly T[], where: string) => (i: number): T => {
    const item = Number.isInteger(i) ? table[i] : undefined;
    if (item === undefined) throw new StewardError("stale-plan", `${file}: ${where} refers to package entry ${String(i)}, which does not exist`, "the file is damaged: plan again");
    return item;
  };
  const steps = doc.runbook.steps;
  const step = (a: ActionDocument, host: string): void => {
    const s = Number.isInteger(a.index) ? steps[a.index] : undefined;
    if (s === undefined || s.name !== a.step || s.kind !== a.kind) {
      throw new StewardError("stale-plan", `${file}: host ${host} has an action for step ${String(a.index)} (\`${a.step}\`, ${a.kind}), which is not that step of the plan's runbook`, "the file is damaged: plan again");
    }
  };
  const hosts = doc.hosts.map(
    (h): PlannedHost => ({
      ...h,
      actions: h.actions.map((a): PlannedAction => {
        step(a, h.name);
        return "upgrades" in a ? { ...a, upgrades: a.upgrades.map(resolve(doc.packages.planned, `host ${h.name}`)), excluded: a.excluded.map(resolve(doc.packages.excluded, `host ${h.name}`)) } : a;
      }),
    }),
  );
  const skipped = doc.skipped.map((s): SkippedHost => {
    const { excluded: list, ...rest } = s;
    return list ? { ...rest, excluded: list.map(resolve(doc.packages.excluded, `skipped host ${s.host}`)) } : rest;
  });
  const { packages: _, ...rest } = doc;
  return { ...rest, hosts, skipped };
}

/**
 * The plan digest: sha256 (hex) over the UTF-8 bytes of the RFC 8785 canonical JSON
 * (canonicalJson) of the plan document as written to plans/<id>.json, with its
 * top-level `id` and `digest` members left out, and nothing else left out. Because
 * the form is canonical, the digest is the same for the file as written and for the
 * same content with other key order or whitespace; any change of a value, a host, a
 * wave or a package entry changes it.
 */
export function planDigest(doc: PlanDocument | PlanBodyDocument): string {
  const { id: _id, digest: _digest, ...body } = doc as PlanDocument;
  return sha256(canonicalJson(body));
}

/**
 * A plan's id: `<runbook>-<yyyymmddThhmm>-<first 12 hex of digest>`, the time being
 * `createdAt` in UTC to the minute. The id is made from the digest, so it cannot be
 * inside what the digest covers; parsePlan recomputes it instead.
 */
export function planId(runbook: string, createdAt: string, digest: string): string {
  const stamp = createdAt.slice(0, 16).replace(/[-:]/g, "");
  return `${runbook}-${stamp}-${digest.slice(0, 12)}`;
}

/**
 * Seals a plan: digest of its document (planDigest), then the id made from it. The
 * order is fixed: content first (already redacted, when the writer redacts), then
 * digest, then id.
 */
export function sealPlan(body: PlanBody): Plan {
  const digest = planDigest(toDocument(body));
  return { ...body, id: planId(body.runbook.name, body.createdAt, digest), digest };
}
