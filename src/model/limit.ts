import { UsageError } from "../core/errors.ts";
import { didYouMean } from "../core/suggest.ts";
import { evaluateSelector, isGlob, termsOf, type Selector, type SelectorIndex } from "./selector.ts";

/**
 * The names a selector's terms use that the inventory does not have, each with its
 * did-you-mean: "no group is named `wbe` (did you mean `web`?)". Globs and
 * criticalities are not names, so they are not checked. The same rules as validate's
 * selector check, for selectors given on the command line.
 */
export function unknownSelectorNames(selector: Selector, index: SelectorIndex): string[] {
  const out: string[] = [];
  for (const term of termsOf(selector)) {
    if (isGlob(term.pattern) || term.kind === "criticality") continue;
    const problem: [string, Iterable<string>] | undefined =
      term.kind === "group" && !index.byGroup.has(term.pattern) ? [`no group is named \`${term.pattern}\``, index.byGroup.keys()]
      : term.kind === "tag" && !index.byTag.has(term.pattern) ? [`no host has the tag \`${term.pattern}\``, index.byTag.keys()]
      : term.kind === "host" && !index.all.has(term.pattern) ? [`no host is named \`${term.pattern}\``, index.all]
      : term.kind === "name" && !index.all.has(term.pattern) && !index.byGroup.has(term.pattern) ? [`no host or group is named \`${term.pattern}\``, [...index.all, ...index.byGroup.keys()]]
      : undefined;
    if (problem === undefined) continue;
    const suggestion = didYouMean(term.pattern, problem[1]);
    out.push(suggestion === undefined ? problem[0] : `${problem[0]} (${suggestion})`);
  }
  return out;
}

/**
 * The hosts `--limit` selects. A limit that names a group, tag or host the inventory
 * lacks is refused even when other terms match: a typo would otherwise narrow the
 * command silently. A limit that selects no host is refused too.
 * @param text the limit as the user wrote it, for the messages.
 * @throws UsageError (exit 2) naming each unknown name with its did-you-mean.
 */
export function limitedHosts(selector: Selector, text: string, index: SelectorIndex): Set<string> {
  const unknown = unknownSelectorNames(selector, index);
  if (unknown.length > 0) throw new UsageError(`--limit '${text}': ${unknown.join("; ")}`, "check the group, tag and host names in inventory/ (see README, Selectors)");
  const matched = evaluateSelector(selector, index);
  if (matched.size === 0) throw new UsageError(`--limit '${text}' selects no host`, "check the group, tag and host names in inventory/ (see README, Selectors)");
  return matched;
}
