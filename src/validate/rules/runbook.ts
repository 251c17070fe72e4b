import type { Diagnostic } from "../../core/diagnostic.ts";
import { pointerOf } from "../../core/diagnostic.ts";
import { parseDuration } from "../../core/duration.ts";
import { didYouMean } from "../../core/suggest.ts";
import { diagnosticAt, type YamlSource } from "../../load/yaml-source.ts";
import { evaluateSelector, isGlob, parseSelector, SelectorSyntaxError, termsOf, type SelectorIndex } from "../../model/selector.ts";
import type { CountOrPercent, Host, Inventory, Runbook } from "../../model/types.ts";
import { isValidTimeZone, whyNeverOpens } from "../../model/window.ts";
import { kindOf } from "../../steps/registry.ts";
import { checkTemplates } from "./templates.ts";

export interface RunbookContext {
  /** Absent when the inventory has schema errors: checks that need it are skipped. */
  inventory?: { value: Inventory; index: SelectorIndex };
  now: Date;
}

/**
 * Checks a selector: syntax (pointing at the offending character), terms that name
 * nothing, and whether it matches any host. Returns the matched host names.
 */
export function checkSelector(source: YamlSource, pointer: string, text: string, ctx: RunbookContext, out: Diagnostic[], what: string): Set<string> | undefined {
  let selector;
  try {
    selector = parseSelector(text);
  } catch (error) {
    if (!(error instanceof SelectorSyntaxError)) throw error;
    out.push(diagnosticAt(source, pointer, "selector/syntax", `bad selector: ${error.message}`, { index: error.index, hint: error.hint ?? "see README, Selectors: e.g. 'group:web & !tag:canary-exempt'" }));
    return undefined;
  }
  const inv = ctx.inventory;
  if (!inv) return undefined;
  let unknownTerm = false;
  for (const term of termsOf(selector)) {
    if (isGlob(term.pattern) || term.kind === "criticality") continue;
    const problem =
      term.kind === "group" && !inv.index.byGroup.has(term.pattern) ? [`no group is named \`${term.pattern}\``, inv.index.byGroup.keys()]
      : term.kind === "tag" && !inv.index.byTag.has(term.pattern) ? [`no host has the tag \`${term.pattern}\``, inv.index.byTag.keys()]
      : term.kind === "host" && !inv.index.all.has(term.pattern) ? [`no host is named \`${term.pattern}\``, inv.index.all]
      : term.kind === "name" && !inv.index.all.has(term.pattern) && !inv.index.byGroup.has(term.pattern) ? [`no host or group is named \`${term.pattern}\``, [...inv.index.all, ...inv.index.byGroup.keys()]]
      : undefined;
    if (problem) {
      unknownTerm = true;
      const [message, candidates] = problem as [string, Iterable<string>];
      out.push(diagnosticAt(source, pointer, "selector/unknown-name", `${what}: ${message}`, { index: term.at, hint: didYouMean(term.pattern, candidates) }));
    }
  }
  const matched = evaluateSelector(selector, inv.index);
  if (matched.size === 0 && !unknownTerm) {
    out.push(diagnosticAt(source, pointer, "selector/matches-nothing", `${what} \`${text}\` matches no host`, { hint: "check the groups and tags it names against the inventory" }));
  }
  return matched;
}

function checkWaves(source: YamlSource, waves: CountOrPercent[], out: Diagnostic[]): void {
  if (waves.length === 0) {
    out.push(diagnosticAt(source, "/rollout/waves", "rollout/empty-waves", "`waves` is empty, so no host would ever start", { hint: "list at least one wave, e.g. [1, \"25%\", \"100%\"], or remove `waves` to run all targeted hosts as one wave" }));
    return;
  }
  // Waves are cumulative: each entry must exceed the previous entry of the same unit.
  let lastCount: [number, number] | undefined;
  let lastPercent: [number, number] | undefined;
  waves.forEach((wave, i) => {
    const isPercent = typeof wave === "string";
    const value = isPercent ? Number(wave.slice(0, -1)) : wave;
    const last = isPercent ? lastPercent : lastCount;
    if (last && value <= last[0]) {
      out.push(diagnosticAt(source, `/rollout/waves/${i}`, "rollout/waves-not-increasing", `wave ${i + 1} (${String(wave)}) is not larger than wave ${last[1] + 1} (${String(waves[last[1]])}); waves are cumulative, so it would be empty`, { hint: "each wave names the total started so far, e.g. [1, \"10%\", \"50%\", \"100%\"]" }));
    }
    if (isPercent) lastPercent = [value, i];
    else lastCount = [value, i];
  });
}

/** Semantic checks of one runbook that passed its schema. */
export function checkRunbook(source: YamlSource, runbook: Runbook, ctx: RunbookContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const matched = checkSelector(source, "/targets", runbook.targets, ctx, out, "targets");

  const window = runbook.window;
  if (window) {
    if (!isValidTimeZone(window.timezone)) {
      out.push(diagnosticAt(source, "/window/timezone", "window/unknown-timezone", `\`${window.timezone}\` is not an IANA time zone`, { hint: didYouMean(window.timezone, Intl.supportedValuesOf("timeZone")) ?? "use a name like Europe/Berlin or America/New_York" }));
    } else {
      const never = whyNeverOpens(window, ctx.now);
      if (never) out.push(diagnosticAt(source, `/window/${never.field}`, "window/never-opens", `the window can never open: ${never.reason}`, { hint: never.hint }));
      else if (window.not_after && window.not_after < ctx.now.toISOString().slice(0, 10)) {
        out.push(diagnosticAt(source, "/window/not_after", "window/expired", `the window closed for good on ${window.not_after}`, { severity: "warning", hint: "move not_after forward or remove the runbook" }));
      }
    }
    const duration = parseDuration(window.duration);
    if (duration !== undefined && duration > 7 * 86_400_000) out.push(diagnosticAt(source, "/window/duration", "window/too-long", "the window lasts longer than a week, so it never closes", { severity: "warning", hint: "remove `window` if the work may run at any time" }));
  }

  const rollout = runbook.rollout;
  if (rollout?.waves) checkWaves(source, rollout.waves, out);
  const groups = ctx.inventory?.value.groups;
  if (groups) {
    rollout?.order?.forEach((g, i) => {
      if (!groups.has(g)) out.push(diagnosticAt(source, `/rollout/order/${i}`, "rollout/unknown-group", `\`order\` names the group \`${g}\`, which the inventory does not declare`, { hint: didYouMean(g, groups.keys()) }));
    });
    for (const g of Object.keys(rollout?.group_concurrency ?? {})) {
      if (!groups.has(g)) out.push(diagnosticAt(source, pointerOf(["rollout", "group_concurrency", g]), "rollout/unknown-group", `\`group_concurrency\` names the group \`${g}\`, which the inventory does not declare`, { key: true, hint: didYouMean(g, groups.keys()) }));
    }
  }

  const names = new Map<string, number>();
  runbook.steps.forEach((step, i) => {
    const first = names.get(step.name);
    if (first !== undefined) out.push(diagnosticAt(source, `/steps/${i}/name`, "steps/duplicate-name", `step ${i + 1} has the same name as step ${first + 1} (\`${step.name}\`)`, { hint: "step names identify results in reports and the journal; make them unique" }));
    else names.set(step.name, i);
    if (step.hosts !== undefined) checkSelector(source, `/steps/${i}/hosts`, step.hosts, ctx, out, `step \`${step.name}\` hosts`);
    if (step.timeout !== undefined && parseDuration(step.timeout) === 0) out.push(diagnosticAt(source, `/steps/${i}/timeout`, "steps/zero-timeout", "a timeout of zero would stop the step at once"));
    out.push(...kindOf(step).validate(step, { source, runbook, index: i }));
  });


  // Without an inventory, templates are still parsed; only the per-host variable check is skipped.
  const hosts = ctx.inventory?.value.hosts;
  const targets = [...(matched ?? [])].map((n) => hosts?.get(n)).filter((h): h is Host => h !== undefined);
  out.push(...checkTemplates(source, runbook, targets));
  return out;
}
