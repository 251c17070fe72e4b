import semver from "semver";
import type { AppFacts } from "../facts/types.ts";
import type { UpdateType } from "./policy.ts";

/**
 * An app-upgrade decided for one host: the newest available version inside the step's
 * semver range, if it is newer than the current one. Versions are read loosely (a
 * leading `v`, surrounding text like "shop-api 2.4.1 (build 7)") with semver.coerce,
 * and the plan says when it had to; install receives the version exactly as
 * available_versions printed it.
 */
export interface AppDecision {
  app: string;
  range: string;
  /** The current version as read, or null when it is unknown. */
  current: string | null;
  /** The version to install; null when nothing changes or nothing can be decided. */
  to: string | null;
  /** "upgrade": `to` is set; "current": already the newest in range; "unknown": see detail. */
  status: "upgrade" | "current" | "unknown";
  updateType?: UpdateType;
  detail: string;
}

export function decideApp(app: string, range: string, facts: AppFacts | undefined, runbook: string): AppDecision {
  const base = { app, range };
  const unknown = (current: string | null, detail: string): AppDecision => ({ ...base, current, to: null, status: "unknown", detail });
  if (facts === undefined) return unknown(null, `no version facts for ${app}: gather them with \`steward plan ${runbook} --gather\``);
  if (facts.error !== undefined) return unknown(null, facts.error);
  const current = semver.coerce(facts.current);
  if (!current) return unknown(null, `current_version printed ${JSON.stringify(facts.current.slice(0, 80))}, which holds no version`);
  if (facts.available === undefined) return unknown(current.version, "the step has no available_versions command, so no version can be chosen; add one");
  let best: { text: string; version: semver.SemVer } | undefined;
  for (const text of facts.available) {
    const version = semver.coerce(text);
    if (!version || !semver.satisfies(version, range)) continue;
    if (!best || semver.gt(version, best.version)) best = { text, version };
  }
  if (!best) {
    const shown = facts.available.slice(0, 5).join(", ") + (facts.available.length > 5 ? ", …" : "");
    return unknown(current.version, facts.available.length === 0 ? "available_versions printed no version" : `none of the ${facts.available.length} available versions (${shown}) is in ${range}`);
  }
  if (!semver.gt(best.version, current)) {
    return { ...base, current: current.version, to: null, status: "current", detail: semver.eq(best.version, current) ? `${current.version} is the newest version in ${range}` : `${current.version} is newer than every available version in ${range} (newest ${best.text}); not downgraded` };
  }
  const diff = semver.diff(current, best.version);
  const updateType: UpdateType = diff === "major" || diff === "premajor" ? "major" : diff === "minor" || diff === "preminor" ? "minor" : "patch";
  const loose = best.text !== best.version.version || facts.current !== current.version ? `; versions read loosely: '${facts.current}' as ${current.version}, '${best.text}' as ${best.version.version}` : "";
  return { ...base, current: current.version, to: best.text, status: "upgrade", updateType, detail: `newest of ${facts.available.length} available in ${range}${loose}` };
}
