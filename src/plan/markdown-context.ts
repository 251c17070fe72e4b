import type { Plan, PlannedHost } from "./types.ts";
import type { ExcludedPackage, PlannedPackage } from "./policy.ts";
import { kindOfAction } from "../steps/registry.ts";

/**
 * What the plan's Markdown says, as values for its templates (src/plan/markdown.ts
 * decides how much of it fits): the summary of the head, and one host's detail with
 * its packages named as apt names them.
 */

export const plural = (k: number, one: string, many = `${one}s`): string => `${k} ${k === 1 ? one : many}`;

/** The head's values: window, waves, budget and concurrency in words, counts by reason. */
export function headContext(plan: Plan): Record<string, unknown> {
  const w = plan.window;
  const window = !w ? "none: work may start at any time" : w.opens === null ? `never opens (${w.never ?? "no opening"})` : `${w.days.join(", ")} ${w.start} for ${w.duration} (${w.timezone}); this plan targets ${w.opens} to ${w.closes}${w.openAtPlanTime ? ", open at plan time" : ""}`;
  const r = plan.rollout;
  return {
    id: plan.id,
    runbook: plan.runbook.name,
    runbookFile: plan.runbook.file,
    targets: plan.runbook.targets,
    limit: plan.limit ?? "",
    window,
    planned: plan.summary.planned,
    skipped: plan.summary.skipped,
    selected: plan.summary.selected,
    // The count first, as `steward plan` prints it: sizes alone ("2") read as a number of waves.
    waves: plan.summary.waves.length > 0 ? `${plan.summary.waves.length} (hosts per wave: ${plan.summary.waves.join(" → ")})` : "none: no host is planned",
    upgrades: plan.summary.upgrades,
    reboots: plan.summary.rebootsExpected,
    budget: `more than ${plural(r.failureBudget.allowed, "failed host")} halts (${r.failureBudget.spec ?? "not set: the first failure halts"}; unreachable hosts count)`,
    concurrency: r.concurrency.hosts === null ? "a whole wave at once" : `${plural(r.concurrency.hosts, "host")} at a time (${r.concurrency.spec})`,
    createdAt: plan.createdAt,
    toolVersion: plan.toolVersion,
    fingerprint: plan.fingerprint,
    digest: plan.digest,
    skippedByReason: Object.entries(plan.summary.skippedByReason).map(([k, v]) => `${v} ${k}`),
    excludedByReason: Object.entries(plan.summary.excludedByReason).map(([k, v]) => `${v} ${k}`),
    steps: plan.runbook.steps.map((s, i) => ({ number: i + 1, text: `${s.name} (${s.kind}${s.hosts !== undefined ? `, only on ${s.hosts}` : ""})` })),
  };
}

/**
 * A package's name as apt writes it: `libc6:i386` for an architecture other than the
 * host's own and `all`, the bare name otherwise (and when the facts name no architecture).
 */
function qualified(p: { name: string; arch?: string }, native: string | undefined): string {
  return p.arch === undefined || p.arch === "all" || p.arch === native ? p.name : `${p.name}:${p.arch}`;
}

/** One host's detail: its upgrades, what policy left out, and each kind's notes. */
export function hostDetail(h: PlannedHost): Record<string, unknown> {
  const upgrades: PlannedPackage[] = [];
  const excluded: ExcludedPackage[] = [];
  const notes: string[] = [];
  for (const a of h.actions) {
    const part = kindOfAction(a).render(a);
    if (part.upgrades) upgrades.push(...part.upgrades);
    if (part.excluded) excluded.push(...part.excluded);
    notes.push(...part.notes);
  }
  for (const u of upgrades) if (u.note) notes.push(`${qualified(u, h.arch)}: ${u.note}`);
  for (const u of upgrades) if (u.candidate) notes.push(`${qualified(u, h.arch)}: the candidate ${u.candidate.version} is left out (${u.candidate.reason}: ${u.candidate.detail}); ${u.to} is the newest version the policy allows`);
  return {
    name: h.name,
    summary: `${plural(upgrades.length, "upgrade")}${excluded.length > 0 ? `, ${excluded.length} left out` : ""}${h.rebootExpected ? ", reboot expected" : ""}`,
    upgrades: upgrades.map((u) => ({ name: qualified(u, h.arch), from: u.from, to: u.candidate ? `${u.to} (not ${u.candidate.version})` : u.to, type: u.approval ? `${u.updateType} (approved by ${u.approval.approved_by})` : u.updateType, security: u.security ? "yes" : "no" })),
    excluded: excluded.map((e) => ({ name: qualified(e, h.arch), from: e.from, to: e.to, reason: e.reason, detail: e.detail })),
    notes,
  };
}
