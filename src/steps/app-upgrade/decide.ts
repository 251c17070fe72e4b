import semver from "semver";
import type { Diagnostic } from "../../core/diagnostic.ts";
import { shown } from "../../drivers/untrusted.ts";
import type { AppFacts } from "../../facts/types.ts";
import { diagnosticAt, type YamlSource } from "../../load/yaml-source.ts";
import type { UpdateType } from "../../plan/policy.ts";

/**
 * An app-upgrade decided for one host: the newest available version inside the step's
 * semver range, if it is newer than the current one.
 *
 * Versions come from probes run on the host, and the chosen one reaches the install
 * command as `{{app.version}}`, so they are read strictly: a version is strict semver
 * (semver.org 2.0.0: `MAJOR.MINOR.PATCH[-pre][+build]`), optionally written with one
 * leading `v` (`v2.4.1`), which is dropped: `{{app.version}}` always receives the
 * strict form (`2.4.1`; write `v{{app.version}}` where a tag needs the `v`). Nothing is
 * coerced: `2.4`, `2.5.0$(…)` or `--extra-index-url=…/2.6.0` are not versions, and an
 * available_versions output holding one leaves the app's version unknown, with the
 * token as the reason. current_version may print text around the version ("shop-api
 * 2.4.1 (build 7)"): its first token that starts like a version (a digit, or `v` and
 * a digit) is the current version, and it too must be strict.
 *
 * Pre-releases follow semver's range semantics (no includePrerelease): `2.5.0-rc.1` is
 * outside `^2.4`, and inside a range only when the range names a pre-release of the same
 * `MAJOR.MINOR.PATCH` (`>=2.5.0-rc.0 <2.6`).
 */
export interface AppDecision {
  app: string;
  range: string;
  /** The current version as read, or null when it is unknown. */
  current: string | null;
  /** The version to install, strict semver; null when nothing changes or nothing can be decided. */
  to: string | null;
  /** "upgrade": `to` is set; "current": already the newest in range; "unknown": see detail. */
  status: "upgrade" | "current" | "unknown";
  updateType?: UpdateType;
  detail: string;
}

// semver.org's grammar: numeric identifiers without leading zeros, then pre-release and build identifiers.
const NUMBER = "(?:0|[1-9]\\d*)";
const IDENT = "[0-9A-Za-z-]+";
const STRICT = new RegExp(`^v?(${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-${IDENT}(?:\\.${IDENT})*)?(?:\\+${IDENT}(?:\\.${IDENT})*)?)$`);

/** The strict semver text of `token` (a leading `v` dropped), or undefined when it is not strict semver. */
export function strictVersion(token: string): string | undefined {
  const text = STRICT.exec(token)?.[1];
  // semver.valid also refuses what the pattern lets through: numeric pre-release identifiers with leading zeros (`1.0.0-01`).
  return text !== undefined && semver.valid(text) !== null ? text : undefined;
}

/** Decides one app-upgrade step on one host from the versions its probes printed. */
export function decideApp(app: string, range: string, facts: AppFacts | undefined, runbook: string): AppDecision {
  const base = { app, range };
  const unknown = (current: string | null, detail: string): AppDecision => ({ ...base, current, to: null, status: "unknown", detail });
  if (facts === undefined) return unknown(null, `no version facts for ${app}: gather them with \`steward plan ${runbook} --gather\``);
  if (facts.error !== undefined) return unknown(null, facts.error);
  const token = facts.current.split(/\s+/).find((t) => /^v?\d/.test(t));
  const current = token === undefined ? undefined : strictVersion(token);
  if (current === undefined) {
    const why = token === undefined ? "which holds no version" : `whose version ${shown(token)} is not strict semver (MAJOR.MINOR.PATCH)`;
    return unknown(null, `current_version printed ${shown(facts.current)}, ${why}`);
  }
  if (facts.available === undefined) return unknown(current, "the step has no available_versions command, so no version can be chosen; add one");
  const available: string[] = [];
  for (const text of facts.available) {
    const version = strictVersion(text);
    if (version === undefined) return unknown(current, `available_versions printed ${shown(text)}, which is not a strict semver version (MAJOR.MINOR.PATCH, optionally after a v); nothing from this probe is trusted`);
    available.push(version);
  }
  let best: { text: string; version: string } | undefined;
  available.forEach((version, i) => {
    if (!semver.satisfies(version, range)) return;
    if (!best || semver.gt(version, best.version)) best = { text: facts.available![i]!, version };
  });
  if (!best) {
    const shownList = facts.available.slice(0, 5).join(", ") + (facts.available.length > 5 ? ", …" : "");
    return unknown(current, facts.available.length === 0 ? "available_versions printed no version" : `none of the ${facts.available.length} available versions (${shownList}) is in ${range}`);
  }
  if (!semver.gt(best.version, current)) {
    return { ...base, current, to: null, status: "current", detail: semver.eq(best.version, current) ? `${current} is the newest version in ${range}` : `${current} is newer than every available version in ${range} (newest ${best.version}); not downgraded` };
  }
  const diff = semver.diff(current, best.version);
  const updateType: UpdateType = diff === "major" || diff === "premajor" ? "major" : diff === "minor" || diff === "preminor" ? "minor" : "patch";
  const read = [token !== current ? `'${token}' as ${current}` : undefined, best.text !== best.version ? `'${best.text}' as ${best.version}` : undefined].filter((r) => r !== undefined);
  return { ...base, current, to: best.version, status: "upgrade", updateType, detail: `newest of ${facts.available.length} available in ${range}${read.length > 0 ? `; read ${read.join(", ")}` : ""}` };
}

/** An app-upgrade range must be one semver can read, or every host would be "unknown" at plan time. */
export function checkRange(source: YamlSource, index: number, range: string): Diagnostic[] {
  if (semver.validRange(range) !== null) return [];
  const spaced = range.replace(/\s*,\s*/g, " ");
  const hint = spaced !== range && semver.validRange(spaced) !== null ? `semver joins conditions with a space, not a comma: \`${spaced}\`` : "write a semver range such as '^2.4', '~2.4.1' or '>=2.4 <3.0' (alternatives joined by '||')";
  return [diagnosticAt(source, `/steps/${index}/version`, "steps/bad-version-range", `\`${range}\` is not a semver range`, { hint })];
}
