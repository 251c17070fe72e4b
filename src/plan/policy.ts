import semver from "semver";
import type { AvailableVersion, UpgradablePackage } from "../facts/types.ts";
import { compileGlob, type Glob } from "../model/glob.ts";
import type { Policy } from "../model/types.ts";
import type { DigestMemo } from "./digest.ts";

/**
 * The update policy of a runbook, decided one package upgrade at a time.
 *
 * Decisions are taken in a fixed order and the first rule that leaves a package out
 * names the reason, so the same facts always give the same reason:
 *   deny → allow → hold (runbook or host) → security_only → update type → approval.
 * Deny wins over allow; a package matching both is "denied".
 *
 * Update types come from semver applied to the upstream part of a package version
 * (epoch `N:` and the last `-revision` removed, then `semver.coerce`). Package versions
 * are not semver, so this is a classification, never an ordering: the candidate
 * version is whatever the package manager reported.
 */

export type UpdateType = "patch" | "minor" | "major";

export const UPDATE_TYPES: readonly UpdateType[] = ["patch", "minor", "major"];

/** Why a package upgrade is left out of a plan. */
export type ExclusionReason =
  | "denied"
  | "not-allowed"
  | "held"
  | "not-security"
  | "update-type-not-allowed"
  | "major-needs-approval"
  | "unparsable-version"
  | "not-in-step";

/** A package upgrade the plan will perform. */
export interface PlannedPackage {
  name: string;
  /** The architecture upgraded, when the facts list the package per architecture (apt); see UpgradablePackage.arch. */
  arch?: string;
  from: string;
  to: string;
  updateType: UpdateType;
  security: boolean;
  source?: string;
  /** The approval that let a major upgrade through. */
  approval?: { to: string; approved_by: string; reference?: string };
  /** Set when the versions could not be classified and an update type was assumed. */
  note?: string;
  /**
   * Set when `to` is not the package manager's candidate: the candidate, and why the
   * policy passed it over for this older version (e.g. a major without approval).
   */
  candidate?: { version: string; reason: ExclusionReason; detail: string };
}

/** A package upgrade the plan leaves out, and why. */
export interface ExcludedPackage {
  name: string;
  /** As PlannedPackage.arch. */
  arch?: string;
  from: string;
  to: string;
  reason: ExclusionReason;
  /** Human wording: which pattern, which hold, what was assumed. */
  detail: string;
  updateType?: UpdateType;
}

export type PackageDecision = { planned: PlannedPackage } | { excluded: ExcludedPackage };

/** A version split the Debian way: `[epoch:]upstream[-revision]` (dnf and apk versions fit too). */
export interface SplitVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function splitVersion(version: string): SplitVersion {
  const colon = version.indexOf(":");
  const epochText = colon > 0 && /^\d+$/.test(version.slice(0, colon)) ? version.slice(0, colon) : undefined;
  const rest = epochText === undefined ? version : version.slice(colon + 1);
  const dash = rest.lastIndexOf("-");
  return {
    epoch: epochText === undefined ? 0 : Number(epochText),
    upstream: dash > 0 ? rest.slice(0, dash) : rest,
    revision: dash > 0 ? rest.slice(dash + 1) : "",
  };
}

/** The update type of `from → to`; `note` says when it had to be assumed. */
export function classifyUpdate(from: string, to: string): { type: UpdateType; coerced: boolean; note?: string } {
  const a = splitVersion(from);
  const b = splitVersion(to);
  // A changed epoch means the upstream numbering was reset: nothing about the size of the change is known.
  if (a.epoch !== b.epoch) return { type: "major", coerced: true, note: `the epoch changed (${a.epoch} → ${b.epoch}); treated as major` };
  const ca = semver.coerce(a.upstream);
  const cb = semver.coerce(b.upstream);
  if (!ca || !cb) {
    const bad = [!ca ? from : undefined, !cb ? to : undefined].filter((v) => v !== undefined).map((v) => `'${v}'`);
    return { type: "major", coerced: false, note: `semver could not read ${bad.join(" and ")}; assumed major` };
  }
  if (ca.major !== cb.major) return { type: "major", coerced: true };
  if (ca.minor !== cb.minor) return { type: "minor", coerced: true };
  // Same coerced x.y.z: a patch, a fourth component or a packaging revision.
  return { type: "patch", coerced: true };
}

/**
 * True when an approval's `to` names the candidate: `to` equals the candidate (epoch
 * removed) or is a prefix of it ending at a component boundary, so "6.1" approves
 * "6.1.4" but not "6.12.0", and "16.2-1" approves "16.2-1+b1".
 */
export function approvalMatches(to: string, candidate: string): boolean {
  const colon = candidate.indexOf(":");
  const text = colon > 0 && /^\d+$/.test(candidate.slice(0, colon)) ? candidate.slice(colon + 1) : candidate;
  if (!text.startsWith(to)) return false;
  const next = text.charAt(to.length);
  return next === "" || !/[0-9A-Za-z]/.test(next) || !/[0-9A-Za-z]$/.test(to);
}

/** A policy pattern; its glob matches host-provided package names in linear time (src/model/glob.ts). */
interface Pattern {
  text: string;
  re: Glob;
}

/** A runbook policy with its patterns compiled once per plan. */
export interface CompiledPolicy {
  allow: Pattern[] | undefined;
  deny: Pattern[];
  holds: Pattern[];
  updateTypes: ReadonlySet<UpdateType>;
  securityOnly: boolean;
  approvals: Array<{ pattern: Pattern; to: string; approved_by: string; reference?: string }>;
  /**
   * Decisions already taken in this plan, by name → from, then by the facts left (to,
   * security, source, held, versions offered), of which a package has few. Fleets are
   * homogeneous: thousands of hosts upgrade the same package between the same two
   * versions, so one decision object serves them all, keeping planning fast and the plan
   * small in memory. Maps keyed by the facts' own strings avoid building a key string
   * per package. Decisions are never mutated after they are made.
   */
  decisions: Map<string, Map<string, DecisionEntry[]>>;
}

/** One decision with the facts it was taken for, shared by every host with those facts. */
export interface DecisionEntry {
  readonly name: string;
  readonly arch: string | undefined;
  readonly from: string;
  readonly to: string;
  readonly security: boolean;
  readonly source: string | undefined;
  readonly held: boolean;
  readonly versions: readonly AvailableVersion[] | undefined;
  readonly decision: PackageDecision;
  /** The facts digest's text for this package, kept for the next host with the same entries (see digest.ts). */
  digest: DigestMemo | undefined;
}

/** Throws GlobSyntaxError for a malformed pattern; the runbook schema refuses those first. */
const compilePattern = (text: string): Pattern => ({ text, re: compileGlob(text) });

/** Compiles a policy; an absent policy allows everything except unapproved majors. */
export function compilePolicy(policy: Policy | undefined): CompiledPolicy {
  return {
    allow: policy?.allow ? policy.allow.map(compilePattern) : undefined,
    deny: (policy?.deny ?? []).map(compilePattern),
    holds: (policy?.holds ?? []).map(compilePattern),
    updateTypes: new Set(policy?.update_types ?? UPDATE_TYPES),
    securityOnly: policy?.security_only ?? false,
    approvals: (policy?.approvals ?? []).map((a) => ({ pattern: compilePattern(a.package), to: a.to, approved_by: a.approved_by, ...(a.reference !== undefined ? { reference: a.reference } : {}) })),
    decisions: new Map(),
  };
}

const firstMatch = (patterns: Pattern[], name: string): Pattern | undefined => patterns.find((p) => p.re.test(name));

/**
 * Decides one upgradable package. `heldOnHost` holds the names the host itself holds
 * (apt-mark hold, dnf versionlock, apk pins); the host's hold is honoured like a runbook hold.
 */
export function decidePackage(policy: CompiledPolicy, pkg: UpgradablePackage, heldOnHost: ReadonlySet<string>): PackageDecision {
  return decisionEntry(policy, pkg, heldOnHost.has(pkg.name)).decision;
}

/** decidePackage, returning the shared entry the decision is kept in; `held` says whether the host holds the package. */
export function decisionEntry(policy: CompiledPolicy, pkg: UpgradablePackage, held: boolean): DecisionEntry {
  let byFrom = policy.decisions.get(pkg.name);
  if (byFrom === undefined) policy.decisions.set(pkg.name, (byFrom = new Map()));
  let variants = byFrom.get(pkg.from);
  if (variants === undefined) byFrom.set(pkg.from, (variants = []));
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i]!;
    if (v.to === pkg.to && v.arch === pkg.arch && v.security === pkg.security && v.source === pkg.source && v.held === held && sameVersions(v.versions, pkg.versions)) return v;
  }
  const entry: DecisionEntry = { name: pkg.name, arch: pkg.arch, from: pkg.from, to: pkg.to, security: pkg.security, source: pkg.source, held, versions: pkg.versions, decision: decide(policy, pkg, held), digest: undefined };
  variants.push(entry);
  return entry;
}

/** Equal offered-version lists, field by field (the same array, or both absent, trivially). */
export function sameVersions(a: readonly AvailableVersion[] | undefined, b: readonly AvailableVersion[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.version !== y.version || x.security !== y.security || x.source !== y.source) return false;
  }
  return true;
}

type Excluded = { excluded: ExcludedPackage };

/**
 * Package-level rules first (deny, allow, holds): they leave the package out whatever
 * its versions. Then the offered versions, newest first (the candidate alone when the
 * package manager lists no others): the first one security_only, update_types and the
 * approvals all allow is planned. When it is not the candidate, the plan says why the
 * candidate was passed over. When none is allowed, the candidate's reason is the
 * package's, and the detail says the older versions were refused too.
 */
function decide(policy: CompiledPolicy, pkg: UpgradablePackage, heldOnHost: boolean): PackageDecision {
  const out = (reason: ExclusionReason, detail: string, updateType?: UpdateType): Excluded => ({
    excluded: { name: pkg.name, ...(pkg.arch !== undefined ? { arch: pkg.arch } : {}), from: pkg.from, to: pkg.to, reason, detail, ...(updateType ? { updateType } : {}) },
  });
  const denied = firstMatch(policy.deny, pkg.name);
  if (denied) return out("denied", `matches deny pattern '${denied.text}'`);
  if (policy.allow && !firstMatch(policy.allow, pkg.name)) return out("not-allowed", `matches no allow pattern (${policy.allow.map((p) => `'${p.text}'`).join(", ")})`);
  const hold = firstMatch(policy.holds, pkg.name);
  if (hold) return out("held", `held by the runbook (pattern '${hold.text}')`);
  if (heldOnHost) return out("held", "held on the host");

  const offered: readonly AvailableVersion[] = pkg.versions ?? [{ version: pkg.to, security: pkg.security, ...(pkg.source !== undefined ? { source: pkg.source } : {}) }];
  let refused: Excluded | undefined;
  for (const version of offered) {
    const decision = decideVersion(policy, pkg, version, version.version === pkg.to, out);
    if ("planned" in decision) {
      if (refused === undefined) return decision;
      const { reason, detail } = refused.excluded;
      return { planned: { ...decision.planned, candidate: { version: pkg.to, reason, detail } } };
    }
    refused ??= decision;
  }
  if (!refused) throw new Error(`no version offered for ${pkg.name}`);
  if (offered.length < 2) return refused;
  const older = offered.slice(1).map((v) => v.version);
  return { excluded: { ...refused.excluded, detail: `${refused.excluded.detail}; the older ${older.length === 1 ? "version" : "versions"} ${older.join(", ")} ${older.length === 1 ? "is" : "are"} not allowed either` } };
}

/** Whether one offered version may be installed: security_only, update type, approval. */
function decideVersion(
  policy: CompiledPolicy,
  { name, arch, from }: UpgradablePackage,
  version: AvailableVersion,
  isCandidate: boolean,
  out: (reason: ExclusionReason, detail: string, updateType?: UpdateType) => Excluded,
): PackageDecision {
  const to = version.version;
  if (policy.securityOnly && !version.security) return out("not-security", `security_only is set and ${isCandidate ? "the candidate" : to} comes from ${version.source ? `'${version.source}'` : "a non-security source"}`);
  const cls = classifyUpdate(from, to);
  const note = cls.note !== undefined ? { note: cls.note } : {};
  if (!policy.updateTypes.has(cls.type)) {
    const allowed = UPDATE_TYPES.filter((t) => policy.updateTypes.has(t)).join(", ");
    if (!cls.coerced) return out("unparsable-version", `${cls.note}; update_types allows ${allowed}`, cls.type);
    return out("update-type-not-allowed", `${cls.type} update${isCandidate ? "" : ` to ${to}`}${cls.note ? ` (${cls.note})` : ""}; update_types allows ${allowed}`, cls.type);
  }
  let approval: PlannedPackage["approval"];
  if (cls.type === "major") {
    const a = policy.approvals.find((x) => x.pattern.re.test(name) && approvalMatches(x.to, to));
    if (!a) {
      const detail = `major update to ${to} has no approval in policy.approvals`;
      return cls.coerced ? out("major-needs-approval", detail, "major") : out("unparsable-version", `${cls.note}; ${detail}`, "major");
    }
    approval = { to: a.to, approved_by: a.approved_by, ...(a.reference !== undefined ? { reference: a.reference } : {}) };
  }
  return {
    planned: {
      name,
      ...(arch !== undefined ? { arch } : {}),
      from,
      to,
      updateType: cls.type,
      security: version.security,
      ...(version.source !== undefined ? { source: version.source } : {}),
      ...(approval ? { approval } : {}),
      ...note,
    },
  };
}
