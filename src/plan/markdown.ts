import { compileTemplate, type RenderFn } from "../template/index.ts";
import type { Plan, PlannedHost } from "./types.ts";
import { headContext, hostDetail } from "./markdown-context.ts";

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
 *
 * The document is assembled from pieces (summary, wave heading, table row, host
 * detail, "… and N more" line), each rendered at most once and only when needed. The
 * length of any degradation is the sum of its pieces' lengths, so the choice among
 * them is arithmetic, and it is exact: step 2 shows the most hosts' detail that fit
 * and step 3 the most rows per table that fit.
 */

/** The document's pieces, each a template of its own. */
const SOURCES = {
  head: `# Plan {{id}}

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
| Plan digest | sha256:{{digest}} |
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
`,
  note: "\n> {{detailNote}}\n",
  wave: `
### Wave {{number}}: {{size}} {{noun}} ({{total}} started in total; entry {{spec}})

| # | Host |{{#if ordered}} Order group |{{/if}} Groups | Criticality | Upgrades | Reboot |
|---|---|{{#if ordered}}---|{{/if}}---|---|---|---|
`,
  waveRow: "| {{position}} | {{name}} |{{#if ordered}} {{orderGroup}} |{{/if}} {{groups}} | {{criticality}} | {{upgrades}} | {{reboot}} |\n",
  waveMore: "\n_… and {{more}} more hosts in this wave (see the plan JSON)._\n",
  detailHeading: "\n#### {{name}}\n",
  detailOpen: "\n<details><summary>{{summary}}</summary>\n",
  detailBody: `{{#if upgrades.length}}

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
{{#if notes.length}}

Notes:
{{#each notes}}
- {{this}}
{{/each}}
{{/if}}
`,
  skipped: `
## Skipped hosts

| Host | Reason | Detail |
|---|---|---|
`,
  skippedRow: "| {{host}} | {{reason}} | {{detail}} |\n",
  skippedMore: "\n_… and {{skippedMore}} more skipped hosts (see the plan JSON)._\n",
};

const DETAIL_CLOSE = "\n</details>\n";
const TRUNCATED = "\n\n_… truncated; the full plan is in the JSON._\n";

let compiled: Record<keyof typeof SOURCES, RenderFn> | undefined;

function templates(): Record<keyof typeof SOURCES, RenderFn> {
  compiled ??= Object.fromEntries(Object.entries(SOURCES).map(([name, source]) => [name, compileTemplate(source, "markdown")])) as Record<keyof typeof SOURCES, RenderFn>;
  return compiled;
}

/** One degradation of the document. */
export interface MarkdownBudget {
  /** Per-host detail inside <details> blocks. */
  collapse: boolean;
  /** Hosts, in rollout order, that get per-host detail. */
  detailHosts: number;
  /** Rows per host table (each wave, skipped). */
  rows: number;
}

/** Renders a plan as Markdown of at most `maxChars` characters. */
export function renderPlanMarkdown(plan: Plan, maxChars = 60_000): string {
  const doc = new PlanDocument(plan);
  const n = plan.hosts.length;
  const all = doc.rowsAll;
  for (const collapse of [false, true]) {
    const budget: MarkdownBudget = { collapse, detailHosts: n, rows: all };
    if (doc.length(budget, maxChars) <= maxChars) return doc.text(budget);
  }
  const detailHosts = doc.mostDetail(maxChars);
  if (detailHosts !== undefined) return doc.text({ collapse: true, detailHosts, rows: all });
  const rows = doc.mostRows(maxChars);
  const text = doc.text({ collapse: true, detailHosts: 0, rows: rows ?? 0 });
  if (text.length <= maxChars) return text;
  // Only a plan with an enormous summary gets here; cut hard rather than exceed GitHub's limit.
  if (maxChars < 80) return cut(text, maxChars);
  return `${cut(text, maxChars - 80)}${TRUNCATED}`;
}

/** Renders one given degradation, whatever its length. */
export function renderPlanMarkdownAt(plan: Plan, budget: MarkdownBudget): string {
  return new PlanDocument(plan).text(budget);
}

/** The first `length` characters, never splitting a surrogate pair. */
function cut(text: string, length: number): string {
  const end = length > 0 && /[\uD800-\uDBFF]/.test(text.charAt(length - 1)) ? length - 1 : length;
  return text.slice(0, Math.max(0, end));
}

const digits = (k: number): number => String(k).length;


type Detail = { heading: string; open: string; body: string };

/** The pieces of one plan's document, each rendered on first use and kept. */
class PlanDocument {
  readonly rowsAll: number;
  private readonly t = templates();
  private readonly plan: Plan;
  private readonly byName: Map<string, PlannedHost>;
  /** How often each host appears in the waves: once, in a well-formed plan. */
  private readonly appearances = new Map<string, number>();
  private readonly head: string;
  private readonly waveHeads: string[];
  private readonly waveRows: string[][];
  private readonly skippedRows: string[] = [];
  private readonly details = new Map<string, Detail>();
  /** Lengths of the variable-count lines with an empty count; the count's digits are added. */
  private readonly noteBase: number;
  private readonly waveMoreBase: number;
  private readonly skippedMoreBase: number;
  private readonly skippedHead: string;
  /** Whether the runbook orders its rollout by group: then wave tables have an "Order group" column. */
  private readonly ordered: boolean;

  constructor(plan: Plan) {
    this.plan = plan;
    this.ordered = plan.rollout.order.length > 0;
    this.rowsAll = Math.max(plan.hosts.length, plan.skipped.length);
    this.byName = new Map(plan.hosts.map((h) => [h.name, h]));
    for (const wave of plan.rollout.waves) for (const name of wave.hosts) this.appearances.set(name, (this.appearances.get(name) ?? 0) + 1);
    this.head = this.t.head(headContext(plan));
    this.waveHeads = plan.rollout.waves.map((wave) => {
      const spec = wave.spec === "rest" ? "the remaining hosts" : wave.spec === "all" ? "all hosts, no waves set" : String(wave.spec);
      return this.t.wave({ number: wave.index + 1, size: wave.size, noun: wave.size === 1 ? "host" : "hosts", total: wave.total, spec, ordered: this.ordered });
    });
    this.waveRows = plan.rollout.waves.map(() => []);
    this.noteBase = this.note("").length;
    this.waveMoreBase = this.t.waveMore({ more: "" }).length;
    this.skippedMoreBase = this.t.skippedMore({ skippedMore: "" }).length;
    this.skippedHead = this.t.skipped({});
  }

  /** Exact length of a degradation, or some length above `cap` once it is known to exceed it. */
  length(budget: MarkdownBudget, cap: number): number {
    const { waves } = this.plan.rollout;
    const shown = this.shown(budget.detailHosts);
    const skipped = this.plan.skipped.length;
    let total = this.head.length + this.noteLength(shown.size);
    for (const [w, wave] of waves.entries()) total += this.waveHeads[w]!.length + this.waveMoreLength(wave.hosts.length - budget.rows);
    if (budget.rows > 0 && skipped > 0) total += this.skippedHead.length + this.skippedMoreLength(skipped - budget.rows);
    for (const [w, wave] of waves.entries()) {
      for (let j = 0; j < Math.min(budget.rows, wave.hosts.length); j++) {
        total += this.waveRow(w, j).length;
        if (total > cap) return total;
      }
    }
    for (let j = 0; j < Math.min(budget.rows, skipped); j++) {
      total += this.skippedRow(j).length;
      if (total > cap) return total;
    }
    for (const name of shown) {
      total += this.detailLength(name, budget.collapse);
      if (total > cap) return total;
    }
    return total;
  }

  /**
   * Step 2: the most hosts, in rollout order, whose collapsed detail fits with every
   * table row, short of all of them; undefined when even none fits.
   */
  mostDetail(cap: number): number | undefined {
    let total = this.length({ collapse: true, detailHosts: 0, rows: this.rowsAll }, cap);
    if (total > cap) return undefined;
    const hosts = this.plan.hosts;
    const shown = new Set<string>();
    let k = 0;
    for (; k < hosts.length - 1; k++) {
      const name = hosts[k]!.name;
      let next = total;
      if (!shown.has(name)) next += this.detailLength(name, true) + digits(shown.size + 1) - digits(shown.size);
      if (next > cap) break;
      shown.add(name);
      total = next;
    }
    return k;
  }

  /** Step 3: the most rows per table that fit, with no per-host detail; undefined when none does. */
  mostRows(cap: number): number | undefined {
    const waves = this.plan.rollout.waves;
    const skipped = this.plan.skipped.length;
    let fixed = this.head.length + this.noteLength(0);
    for (const head of this.waveHeads) fixed += head.length;
    // Tables that still have rows beyond the first r; the others are shown whole.
    let open = waves.flatMap((wave, w) => (wave.hosts.length > 0 ? [w] : []));
    let rows = 0;
    let best: number | undefined;
    for (let r = 0; r <= this.rowsAll; r++) {
      if (r > 0) {
        for (const w of open) rows += this.waveRow(w, r - 1).length;
        if (r <= skipped) rows += this.skippedRow(r - 1).length;
        open = open.filter((w) => waves[w]!.hosts.length > r);
      }
      // Rows only accumulate, so once they alone exceed the cap no larger r can fit.
      const lower = fixed + rows + (r > 0 && skipped > 0 ? this.skippedHead.length : 0);
      if (lower > cap) break;
      let exact = lower + (r > 0 && skipped > 0 ? this.skippedMoreLength(skipped - r) : 0);
      for (const w of open) exact += this.waveMoreLength(waves[w]!.hosts.length - r);
      if (exact <= cap) best = r;
      if (open.length === 0 && r >= skipped) break;
    }
    return best;
  }

  /** The document for a degradation. */
  text(budget: MarkdownBudget): string {
    const shown = this.shown(budget.detailHosts);
    const parts = [this.head];
    if (this.plan.hosts.length > shown.size) parts.push(this.note(String(shown.size)));
    for (const [w, wave] of this.plan.rollout.waves.entries()) {
      parts.push(this.waveHeads[w]!);
      for (let j = 0; j < Math.min(budget.rows, wave.hosts.length); j++) parts.push(this.waveRow(w, j));
      if (wave.hosts.length > budget.rows) parts.push(this.t.waveMore({ more: wave.hosts.length - budget.rows }));
      for (const name of wave.hosts) {
        if (!shown.has(name)) continue;
        const d = this.detail(name);
        if (d.body === "") continue;
        parts.push(d.heading, ...(budget.collapse ? [d.open, d.body, DETAIL_CLOSE] : [d.body]));
      }
    }
    const skipped = this.plan.skipped.length;
    if (budget.rows > 0 && skipped > 0) {
      parts.push(this.skippedHead);
      for (let j = 0; j < Math.min(budget.rows, skipped); j++) parts.push(this.skippedRow(j));
      if (skipped > budget.rows) parts.push(this.t.skippedMore({ skippedMore: skipped - budget.rows }));
    }
    return parts.join("");
  }

  /** Names of the first `count` hosts in rollout order. */
  private shown(count: number): Set<string> {
    return new Set(this.plan.hosts.slice(0, count).map((h) => h.name));
  }

  private note(shown: string): string {
    const { hosts, id } = this.plan;
    return this.t.note({ detailNote: `Per-host detail is shown for the first ${shown} of ${hosts.length} hosts in rollout order to keep this text under GitHub's size limit; every host's detail is in plans/${id}.json.` });
  }

  /** The note saying detail was cut, present while some host's detail is not shown. */
  private noteLength(shown: number): number {
    return this.plan.hosts.length > shown ? this.noteBase + digits(shown) : 0;
  }

  private waveMoreLength = (more: number): number => (more > 0 ? this.waveMoreBase + digits(more) : 0);
  private skippedMoreLength = (more: number): number => (more > 0 ? this.skippedMoreBase + digits(more) : 0);

  private waveRow(w: number, j: number): string {
    const cache = this.waveRows[w]!;
    if (cache[j] === undefined) {
      const h = this.host(this.plan.rollout.waves[w]!.hosts[j]!);
      // The order group only where the runbook orders by group; the inventory groups always, so a host's groups are never shown as "–".
      const orderGroup = h.orderGroup ?? "none: goes last";
      const groups = h.groups.length > 0 ? h.groups.join(", ") : "–";
      cache[j] = this.t.waveRow({ position: h.position, name: h.name, ordered: this.ordered, orderGroup, groups, criticality: h.criticality, upgrades: h.upgrades, reboot: h.rebootExpected ? "expected" : "no" });
    }
    return cache[j]!;
  }

  private skippedRow(j: number): string {
    const s = this.plan.skipped[j]!;
    return (this.skippedRows[j] ??= this.t.skippedRow({ host: s.host, reason: s.reason, detail: s.detail }));
  }

  /** What a host's detail adds: one block for each time the host appears in the waves. */
  private detailLength(name: string, collapse: boolean): number {
    const times = this.appearances.get(name) ?? 0;
    if (times === 0) return 0;
    const d = this.detail(name);
    if (d.body === "") return 0;
    return times * (d.heading.length + d.body.length + (collapse ? d.open.length + DETAIL_CLOSE.length : 0));
  }

  private detail(name: string): Detail {
    const known = this.details.get(name);
    if (known) return known;
    const context = hostDetail(this.host(name));
    const body = this.t.detailBody(context);
    // A host with nothing to detail (only commands, checks…: the wave table says it all) gets no heading of its own.
    const d: Detail = body.trim() === "" ? { heading: "", open: "", body: "" } : { heading: this.t.detailHeading(context), open: this.t.detailOpen(context), body };
    this.details.set(name, d);
    return d;
  }

  private host(name: string): PlannedHost {
    const h = this.byName.get(name);
    if (!h) throw new Error(`the plan's waves name ${name}, which is not among its hosts`);
    return h;
  }
}
