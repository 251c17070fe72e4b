import type { HostFacts, PackageManager } from "../facts/types.ts";
import { evaluateSelector, indexInventory, parseSelector, type Selector } from "../model/selector.ts";
import { CRITICALITIES, type Host, type Inventory, type Runbook, type Step } from "../model/types.ts";
import { neverOpensReason, nextOpening } from "../model/window.ts";
import { hostActions } from "./actions.ts";
import { canonicalJson, NameOrder, NO_FACTS_DIGEST, plannedFactsDigest, sha256 } from "./digest.ts";
import { plainLine } from "../core/text.ts";
import { checkPlanTime } from "./clock.ts";
import { sealPlan } from "./document.ts";
import type { FactsSource } from "./inputs.ts";
import { compilePolicy, type ExcludedPackage, type ExclusionReason } from "./policy.ts";
import { PLAN_FORMAT, type HostSkipReason, type Plan, type PlannedAction, type PlannedHost, type PlanWindow, type SkippedHost } from "./types.ts";
import { computeWaves, concurrency, failureBudget } from "./waves.ts";

/** Everything a plan is computed from. Nothing else is read: same input, same plan. */
export interface PlanInput {
  inventory: Inventory;
  runbook: Runbook;
  /** Facts per host name, read once per host; a targeted host missing here is skipped with "no-facts". */
  facts: FactsSource;
  now: Date;
  /** `--limit`: narrows the runbook's targets. */
  limit?: Selector;
  toolVersion: string;
  /** Repository files the plan was made from, with their sha256: part of the fingerprint. */
  inputs: { files: Array<{ path: string; sha256: string }> };
}

/**
 * Plans a runbook: selects hosts (targets ∩ limit), places them in the window's
 * current-or-next opening, orders them, cuts waves and decides each host's actions.
 * Pure: no clock, no I/O, no randomness.
 *
 * Order: hosts in a `rollout.order` group first, groups in the listed order (a host in
 * several listed groups goes with the first of them), hosts in none last; within that,
 * lower criticality first (canaries should be the least critical), then by name.
 * Waves are consecutive slices of that order, so for any two hosts a, b whose groups
 * rank a before b, wave(a) ≤ wave(b): no host of a later group starts in an earlier
 * wave than a host of an earlier group. A wave may hold the tail of one group and the
 * head of the next.
 * @throws UsageError when `now` is outside 2000–9999 (UTC): its plan could not be written.
 */
export function plan(input: PlanInput): Plan {
  const { inventory, runbook, now } = input;
  checkPlanTime(now);
  const index = indexInventory(inventory);
  const { targeted, limited } = selection(index, runbook, input.limit);
  const skipped: SkippedHost[] = [];
  // Details quote hosts and cache files (error messages, OS names, app output): one plain line each, no controls or bidi.
  const skip = (host: string, reason: HostSkipReason, detail: string, extra: Partial<SkippedHost> = {}): void => void skipped.push({ host, reason, detail: plainLine(detail), ...extra });

  const selected: Host[] = [];
  for (const name of [...new Set([...targeted, ...(limited ?? [])])].sort()) {
    const host = inventory.hosts.get(name);
    if (!host) continue;
    if (!targeted.has(name)) skip(name, "not-targeted", `matches --limit but not the runbook's targets (${runbook.targets})`);
    else if (limited && !limited.has(name)) skip(name, "excluded-by-limit", "targeted, but outside --limit");
    else selected.push(host);
  }

  const window = planWindow(runbook, now);
  const policy = compilePolicy(runbook.policy);
  const installedOrders = new NameOrder();
  const upgradableOrders = new NameOrder();
  const stepHosts = new Map<Step, Set<string>>();
  for (const step of runbook.steps) if (step.hosts !== undefined) stepHosts.set(step, evaluateSelector(parseSelector(step.hosts), index));

  const ready: Array<{ host: Host; os: string; packageManager: PackageManager | null; arch: string | undefined; gatheredAt: string; digest: string; actions: PlannedAction[]; upgrades: number; rebootExpected: boolean; rank: number; criticality: number }> = [];
  // One function for every host, reading the host being planned: no closure per host.
  let planning = "";
  const appliesTo = (step: Step): boolean => stepHosts.get(step)?.has(planning) ?? true;
  for (const host of selected) {
    if (window?.never !== undefined) {
      skip(host.name, "window-never-opens", `the maintenance window never opens: ${window.never}`);
      continue;
    }
    const result = input.facts.get(host.name);
    if (!result) {
      skip(host.name, "no-facts", "no facts were gathered for this host; run `steward facts`");
      continue;
    }
    if (!result.ok) {
      const unreachable = result.error.kind === "unreachable" || result.error.kind === "timeout";
      skip(host.name, unreachable ? "unreachable" : "facts-failed", `${result.error.kind} at ${result.gatheredAt}: ${result.error.message}`, { factsError: result.error.kind });
      continue;
    }
    planning = host.name;
    const upgradableOrder = upgradableOrders.of(result.facts.upgradable);
    const work = hostActions(runbook.steps, appliesTo, result.facts, policy, upgradableOrder, runbook.name);
    if (work.hasPackageStep && result.facts.packageManager === null) {
      skip(host.name, "no-package-manager", `the runbook manages packages and ${result.facts.os.prettyName || "the host"} has no apt, dnf or apk`);
      continue;
    }
    if (work.hasPackageStep && result.facts.installed.some((p) => p.status !== undefined)) {
      const broken = result.facts.installed.filter((p) => p.status !== undefined);
      const list = broken.map((p) => `${p.name} ${p.version} is ${p.status}`).join(", ");
      const repair = result.facts.packageManager === "apt" ? "run `dpkg --configure -a` or reinstall the package" : "repair or reinstall the package";
      skip(host.name, "broken-packages", `${list}; the package manager refuses changes until it is repaired: ${repair}, then gather facts again`);
      continue;
    }
    const apps = work.actions.filter((a) => a.kind === "app-upgrade");
    const unknownApps = apps.filter((a) => a.status === "unknown");
    if (unknownApps.length > 0) {
      skip(host.name, "app-version-unknown", unknownApps.map((a) => `${a.app}: ${a.detail}`).join("; "));
      continue;
    }
    if (work.packagesIdle && !work.rebootExpected) {
      const excluded = work.actions.flatMap((a) => ("excluded" in a ? a.excluded : []));
      const packages = !work.hasPackageStep ? [] : [excluded.length > 0 ? `no package change passes the policy (${excluded.length} left out)` : "no package changes are pending"];
      const current = apps.filter((a) => a.status === "current").map((a) => `${a.app}: ${a.detail}`);
      // The runbook's other steps serve its package and app changes (a backup before, a restart or check after): without one they do not run, and the plan says so.
      // A reboot step is not named: here no reboot is expected, so it would have done nothing.
      const others = work.actions.filter((a) => a.kind !== "packages" && a.kind !== "app-upgrade" && a.kind !== "reboot").map((a) => `${a.step} (${a.kind})`);
      const idle = others.length > 0 ? [`so the runbook's other steps do not run here either: ${others.join(", ")}`] : [];
      skip(host.name, "nothing-to-do", [...packages, ...current, ...idle].join("; "), excluded.length > 0 ? { excluded } : {});
      continue;
    }
    // Keep what the plan needs of the facts, not the facts: a large fleet's facts need not all fit in memory.
    const f = result.facts;
    const digest = work.dependsOnFacts ? plannedFactsDigest(f, work.touched, installedOrders.of(f.installed), upgradableOrder, work.apps) : NO_FACTS_DIGEST;
    ready.push({ host, os: f.os.prettyName, packageManager: f.packageManager, arch: nativeArch(f), gatheredAt: result.gatheredAt, digest, actions: work.actions, upgrades: work.upgrades, rebootExpected: work.rebootExpected, rank: 0, criticality: CRITICALITIES.indexOf(host.criticality) });
  }

  const rank = groupRank(runbook.rollout?.order ?? [], ready.map((r) => r.host));
  // Each host's sort key once, rather than looked up again in every comparison.
  for (const r of ready) r.rank = rank.get(r.host.name)!.rank;
  ready.sort((a, b) => a.rank - b.rank || a.criticality - b.criticality || (a.host.name < b.host.name ? -1 : a.host.name > b.host.name ? 1 : 0));
  const n = ready.length;
  const slices = computeWaves(runbook.rollout?.waves, n);
  const hosts: PlannedHost[] = [];
  const waves = slices.map((w) => ({ index: w.index, spec: w.spec, total: w.total, size: w.size, hosts: [] as string[] }));
  let wave = 0;
  ready.forEach(({ host, os, packageManager, arch, gatheredAt, digest, actions, upgrades, rebootExpected }, i) => {
    while (i >= slices[wave]!.total) wave++;
    waves[wave]!.hosts.push(host.name);
    hosts.push({
      name: host.name,
      wave,
      position: i + 1,
      criticality: host.criticality,
      orderGroup: rank.get(host.name)?.group ?? null,
      groups: [...host.groups].sort(),
      os,
      packageManager,
      factsGatheredAt: gatheredAt,
      factsDigest: digest,
      ...(arch !== undefined ? { arch } : {}),
      actions,
      upgrades,
      rebootExpected,
    });
  });
  skipped.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));

  const limitText = input.limit ? formatSelector(input.limit) : null;
  const inputs = { files: [...input.inputs.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
  const fingerprint = sha256(canonicalJson({ inputs, runbook, policy: runbook.policy ?? {}, toolVersion: input.toolVersion, limit: limitText }));
  const rollout = runbook.rollout ?? {};
  const count = <K extends string>(keys: K[]): Partial<Record<K, number>> => {
    const out: Partial<Record<K, number>> = {};
    for (const k of keys) out[k] = (out[k] ?? 0) + 1;
    return out;
  };
  return sealPlan({
    format: PLAN_FORMAT,
    createdAt: now.toISOString(),
    toolVersion: input.toolVersion,
    fingerprint,
    inputs,
    runbook: {
      name: runbook.name,
      file: runbook.file,
      targets: runbook.targets,
      ...(runbook.description !== undefined ? { description: runbook.description.trim() } : {}),
      vars: runbook.vars ?? {},
      steps: runbook.steps,
    },
    limit: limitText,
    window,
    policy: runbook.policy ?? {},
    rollout: {
      hostCount: n,
      order: rollout.order ?? [],
      serialWithinGroup: rollout.serial_within_group ?? false,
      failureBudget: failureBudget(rollout.failure_budget, n),
      concurrency: concurrency(rollout.concurrency, n),
      groupConcurrency: rollout.group_concurrency ?? {},
      gate: { checks: rollout.gate?.checks ?? [], pause: rollout.gate?.pause ?? null },
      waves,
    },
    hosts,
    skipped,
    summary: {
      targeted: targeted.size,
      selected: selected.length,
      planned: n,
      skipped: skipped.length,
      waves: waves.map((w) => w.size),
      upgrades: hosts.reduce((s, h) => s + h.upgrades, 0),
      rebootsExpected: hosts.reduce((s, h) => s + (h.rebootExpected ? 1 : 0), 0),
      skippedByReason: count(skipped.map((s) => s.reason)),
      excludedByReason: excludedByReason(hosts, skipped),
    },
  });
}

/**
 * The host's own architecture, where the facts show it: dpkg is always installed for the
 * native architecture (dpkg --print-architecture), so its entry names it. Only hosts
 * whose manager lists packages per architecture need it, to tell `libc6:i386` from `libc6`.
 */
function nativeArch(facts: HostFacts): string | undefined {
  if (!facts.upgradable.some((p) => p.arch !== undefined)) return undefined;
  return facts.installed.find((p) => p.name === "dpkg")?.arch;
}

/** How many package upgrades each reason left out, over planned and skipped hosts, keys in first-seen order. */
function excludedByReason(hosts: readonly PlannedHost[], skipped: readonly SkippedHost[]): Partial<Record<ExclusionReason, number>> {
  const out: Partial<Record<ExclusionReason, number>> = {};
  const add = (list: readonly ExcludedPackage[]): void => {
    for (const e of list) out[e.reason] = (out[e.reason] ?? 0) + 1;
  };
  for (const h of hosts) for (const a of h.actions) if ("excluded" in a) add(a.excluded);
  for (const s of skipped) if (s.excluded) add(s.excluded);
  return out;
}

/** The hosts the runbook targets, and those `--limit` matches (undefined without a limit). */
function selection(index: ReturnType<typeof indexInventory>, runbook: Runbook, limit: Selector | undefined): { targeted: Set<string>; limited: Set<string> | undefined } {
  return { targeted: evaluateSelector(parseSelector(runbook.targets), index), limited: limit ? evaluateSelector(limit, index) : undefined };
}

/** The names of the hosts a plan of `runbook` within `limit` would consider: targeted and inside the limit, sorted. */
export function selectedHostNames(inventory: Inventory, runbook: Runbook, limit?: Selector): string[] {
  const { targeted, limited } = selection(indexInventory(inventory), runbook, limit);
  return [...targeted].filter((name) => inventory.hosts.has(name) && (!limited || limited.has(name))).sort();
}

function planWindow(runbook: Runbook, now: Date): PlanWindow | null {
  const w = runbook.window;
  if (!w) return null;
  const base = { timezone: w.timezone, days: [...w.days], start: w.start, duration: w.duration };
  const opening = nextOpening(w, now);
  if (!opening) return { ...base, opens: null, closes: null, openAtPlanTime: false, never: neverOpensReason(w, now) ?? "no listed day opens again after the plan's time" };
  return { ...base, opens: opening.opens.toISOString(), closes: opening.closes.toISOString(), openAtPlanTime: opening.opens.getTime() <= now.getTime() };
}

/** Each host's rank: the index of the first `order` group it belongs to, or order.length. */
export function groupRank(order: readonly string[], hosts: readonly Host[]): Map<string, { rank: number; group: string | null }> {
  const position = new Map(order.map((g, i) => [g, i]));
  const out = new Map<string, { rank: number; group: string | null }>();
  for (const host of hosts) {
    let best = order.length;
    for (const g of host.memberOf) best = Math.min(best, position.get(g) ?? order.length);
    out.set(host.name, { rank: best, group: order[best] ?? null });
  }
  return out;
}

/** A selector written back as text, for the plan's record of `--limit`. */
export function formatSelector(s: Selector): string {
  const inner = (x: Selector): string => (x.op === "and" || x.op === "or" ? `(${formatSelector(x)})` : formatSelector(x));
  switch (s.op) {
    case "all":
      return "all";
    case "term":
      return s.kind === "name" ? s.pattern : `${s.kind}:${s.pattern}`;
    case "not":
      return `!${inner(s.of)}`;
    case "and":
      return `${inner(s.left)} & ${inner(s.right)}`;
    case "or":
      return `${inner(s.left)} | ${inner(s.right)}`;
  }
}
