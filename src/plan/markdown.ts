import { compileTemplate } from "../template/index.ts";
import type { ExcludedPackage, PlannedPackage } from "./policy.ts";
import type { Plan, PlannedHost } from "./types.ts";

/**
 * The plan as Markdown for the pull request, rendered through src/template so every
 * value is Markdown-escaped. GitHub caps a PR body or comment at 65,536 characters;
 * the plan stays under `maxChars` (60,000 by default, leaving room for a wrapper) by
 * degrading in steps, least important first, and saying so in the text:
 *   1. per-host detail collapsed into <details> blocks;
 *   2. per-host detail kept only for the first hosts in rollout order (the canary
 *      waves reviewers read most); the rest is in the JSON;
 *   3. host rows of wave and skipped tables cut to the first entries of each table.
 * The summary table, wave sizes and skip counts by reason are never cut.
 */

const TEMPLATE = `# Plan {{id}}

| | |
|---|---|
| Runbook | {{runbook}} ({{runbookFile}}) |
| Targets | {{targets}}{{#if limit}} (limited to {{limit}}){{/if}} |
| Window | {{window}} |
| Hosts | {{planned}} planned, {{skipped}} skipped, {{selected}} selected |
| Waves | {{waves}} |
| Package upgrades | {{upgrades}} |
| Reboots expected | {{reboots}} |
| Failure budget | {{budget}} |
| Concurrency | {{concurrency}} |
| Planned at | {{createdAt}} with steward {{toolVersion}} |
| Fingerprint | {{fingerprint}} |
{{#if skippedByReason.length}}

Skipped: {{#each skippedByReason}}{{#if @index}}, {{/if}}{{this}}{{/each}}.
{{/if}}
{{#if excludedByReason.length}}

Package upgrades left out by policy: {{#each excludedByReason}}{{#if @index}}, {{/if}}{{this}}{{/each}}.
{{/if}}

## Steps

{{#each steps}}
{{number}}. {{text}}
{{/each}}

## Waves
{{#if detailNote}}

> {{detailNote}}
{{/if}}
{{#each waveList}}

### Wave {{number}}: {{size}} {{noun}} ({{total}} started in total; entry {{spec}})

| # | Host | Group | Criticality | Upgrades | Reboot |
|---|---|---|---|---|---|
{{#each rows}}
| {{position}} | {{name}} | {{group}} | {{criticality}} | {{upgrades}} | {{reboot}} |
{{/each}}
{{#if more}}

_… and {{more}} more hosts in this wave (see the plan JSON)._
{{/if}}
{{#each details}}

#### {{name}}
{{#if @root.collapse}}

<details><summary>{{summary}}</summary>
{{/if}}
{{#if upgrades.length}}

| Package | From | To | Type | Security |
|---|---|---|---|---|
{{#each upgrades}}
| {{name}} | {{from}} | {{to}} | {{type}} | {{security}} |
{{/each}}
{{/if}}
{{#if excluded.length}}

Left out:
{{#each excluded}}
- {{name}} {{from}} → {{to}}: {{reason}} ({{detail}})
{{/each}}
{{/if}}
{{#each notes}}

- {{this}}
{{/each}}
{{#if @root.collapse}}

</details>
{{/if}}
{{/each}}
{{/each}}
{{#if skippedRows.length}}

## Skipped hosts

| Host | Reason | Detail |
|---|---|---|
{{#each skippedRows}}
| {{host}} | {{reason}} | {{detail}} |
{{/each}}
{{#if skippedMore}}

_… and {{skippedMore}} more skipped hosts (see the plan JSON)._
{{/if}}
{{/if}}
`;

let render: ((context: Record<string, unknown>) => string) | undefined;

interface Budget {
  collapse: boolean;
  /** Hosts, in rollout order, that get per-host detail. */
  detailHosts: number;
  /** Rows per host table (each wave, skipped). */
  rows: number;
}

/** Renders a plan as Markdown of at most `maxChars` characters. */
export function renderPlanMarkdown(plan: Plan, maxChars = 60_000): string {
  render ??= compileTemplate(TEMPLATE, "markdown");
  const n = plan.hosts.length;
  const rowsAll = Math.max(n, plan.skipped.length);
  const at = (b: Budget): string => render!(context(plan, b));
  const full = at({ collapse: false, detailHosts: n, rows: rowsAll });
  if (full.length <= maxChars) return full;
  if (at({ collapse: true, detailHosts: n, rows: rowsAll }).length <= maxChars) return at({ collapse: true, detailHosts: n, rows: rowsAll });
  const fits = (b: Budget): boolean => at(b).length <= maxChars;
  // Largest k in [0, hi] with fits(k); fits is monotone in k since each step only adds text.
  const largest = (hi: number, make: (k: number) => Budget): number => {
    let lo = 0;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(make(mid))) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  if (fits({ collapse: true, detailHosts: 0, rows: rowsAll })) {
    const k = largest(n, (k) => ({ collapse: true, detailHosts: k, rows: rowsAll }));
    return at({ collapse: true, detailHosts: k, rows: rowsAll });
  }
  const rows = largest(rowsAll, (r) => ({ collapse: true, detailHosts: 0, rows: r }));
  const text = at({ collapse: true, detailHosts: 0, rows });
  // Only a plan with an enormous summary gets here; cut hard rather than exceed GitHub's limit.
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 80)}\n\n_… truncated; the full plan is in the JSON._\n`;
}

const plural = (k: number, one: string, many = `${one}s`): string => `${k} ${k === 1 ? one : many}`;

function context(plan: Plan, budget: Budget): Record<string, unknown> {
  const w = plan.window;
  const window = !w ? "none: work may start at any time" : w.opens === null ? `never opens (${w.never ?? "no opening"})` : `${w.days.join(", ")} ${w.start} for ${w.duration} (${w.timezone}); this plan targets ${w.opens} to ${w.closes}${w.openAtPlanTime ? ", open at plan time" : ""}`;
  const r = plan.rollout;
  const byName = new Map(plan.hosts.map((h) => [h.name, h]));
  const shownDetail = new Set(plan.hosts.slice(0, budget.detailHosts).map((h) => h.name));
  const waveList = r.waves.map((wave) => {
    const hosts = wave.hosts.map((name) => byName.get(name)!);
    return {
      number: wave.index + 1,
      size: wave.size,
      noun: wave.size === 1 ? "host" : "hosts",
      total: wave.total,
      spec: wave.spec === "rest" ? "the remaining hosts" : wave.spec === "all" ? "all hosts, no waves set" : String(wave.spec),
      rows: hosts.slice(0, budget.rows).map((h) => ({ position: h.position, name: h.name, group: h.orderGroup ?? "–", criticality: h.criticality, upgrades: h.upgrades, reboot: h.rebootExpected ? "expected" : "no" })),
      more: Math.max(0, hosts.length - budget.rows),
      details: hosts.filter((h) => shownDetail.has(h.name)).map(hostDetail),
    };
  });
  const hidden = plan.hosts.length - shownDetail.size;
  const skippedRows = plan.skipped.slice(0, budget.rows).map((s) => ({ host: s.host, reason: s.reason, detail: s.detail }));
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
    waves: plan.summary.waves.length > 0 ? plan.summary.waves.join(" → ") : "none",
    upgrades: plan.summary.upgrades,
    reboots: plan.summary.rebootsExpected,
    budget: `more than ${plural(r.failureBudget.allowed, "failed host")} halts (${r.failureBudget.spec ?? "not set: the first failure halts"}; unreachable hosts count)`,
    concurrency: r.concurrency.hosts === null ? "a whole wave at once" : `${plural(r.concurrency.hosts, "host")} at a time (${r.concurrency.spec})`,
    createdAt: plan.createdAt,
    toolVersion: plan.toolVersion,
    fingerprint: plan.fingerprint,
    skippedByReason: Object.entries(plan.summary.skippedByReason).map(([k, v]) => `${v} ${k}`),
    excludedByReason: Object.entries(plan.summary.excludedByReason).map(([k, v]) => `${v} ${k}`),
    steps: stepLines(plan),
    detailNote: hidden > 0 ? `Per-host detail is shown for the first ${shownDetail.size} of ${plan.hosts.length} hosts in rollout order to keep this text under GitHub's size limit; every host's detail is in plans/${plan.id}.json.` : "",
    collapse: budget.collapse,
    waveList,
    skippedRows,
    skippedMore: Math.max(0, plan.skipped.length - budget.rows),
  };
}

function stepLines(plan: Plan): Array<{ number: number; text: string }> {
  return plan.runbook.steps.map((s, i) => ({ number: i + 1, text: `${s.name} (${s.kind}${s.hosts !== undefined ? `, only on ${s.hosts}` : ""})` }));
}

function hostDetail(h: PlannedHost): Record<string, unknown> {
  const upgrades: PlannedPackage[] = [];
  const excluded: ExcludedPackage[] = [];
  const notes: string[] = [];
  for (const a of h.actions) {
    if (a.kind === "packages" && a.action === "upgrade") {
      upgrades.push(...a.upgrades);
      excluded.push(...a.excluded);
    } else if (a.kind === "packages") {
      notes.push(`${a.step}: ${a.action} ${a.packages.map((p) => p.name).join(", ") || "nothing"}`);
    } else if (a.kind === "reboot") {
      notes.push(a.expected ? `${a.step}: reboot expected (${a.because.join("; ")})` : `${a.step}: no reboot expected`);
    }
  }
  for (const u of upgrades) if (u.note) notes.push(`${u.name}: ${u.note}`);
  return {
    name: h.name,
    summary: `${plural(upgrades.length, "upgrade")}${excluded.length > 0 ? `, ${excluded.length} left out` : ""}${h.rebootExpected ? ", reboot expected" : ""}`,
    upgrades: upgrades.map((u) => ({ name: u.name, from: u.from, to: u.to, type: u.approval ? `${u.updateType} (approved by ${u.approval.approved_by})` : u.updateType, security: u.security ? "yes" : "no" })),
    excluded: excluded.map((e) => ({ name: e.name, from: e.from, to: e.to, reason: e.reason, detail: e.detail })),
    notes,
  };
}
