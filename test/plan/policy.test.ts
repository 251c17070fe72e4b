import { describe, expect, it } from "vitest";
import type { UpgradablePackage } from "../../src/facts/types.ts";
import type { Policy } from "../../src/model/types.ts";
import { approvalMatches, classifyUpdate, compilePolicy, decidePackage, splitVersion } from "../../src/plan/policy.ts";

const pkg = (name: string, from: string, to: string, security = true, source?: string): UpgradablePackage => ({ name, from, to, security, ...(source ? { source } : {}) });
const decide = (policy: Policy | undefined, p: UpgradablePackage, held: string[] = []) => decidePackage(compilePolicy(policy), p, new Set(held));

describe("versions", () => {
  it("splits epoch, upstream and revision the Debian way", () => {
    expect(splitVersion("1:2.3.4-1ubuntu1")).toEqual({ epoch: 1, upstream: "2.3.4", revision: "1ubuntu1" });
    expect(splitVersion("2.36-9+deb12u4")).toEqual({ epoch: 0, upstream: "2.36", revision: "9+deb12u4" });
    expect(splitVersion("1.2.3-r4")).toEqual({ epoch: 0, upstream: "1.2.3", revision: "r4" });
    expect(splitVersion("3.0.11")).toEqual({ epoch: 0, upstream: "3.0.11", revision: "" });
    // Only the last '-' starts the revision.
    expect(splitVersion("6.1.0-13-amd64-1")).toEqual({ epoch: 0, upstream: "6.1.0-13-amd64", revision: "1" });
  });

  it.each([
    ["2.36-9+deb12u3", "2.36-9+deb12u4", "patch"], // revision only
    ["3.0.11-1~deb12u1", "3.0.13-1~deb12u1", "patch"],
    ["1:9.2p1-2", "1:9.3p1-1", "minor"],
    ["15.5-0+deb12u1", "16.2-1", "major"],
    ["6.1.76-1", "6.12.9-1", "minor"],
    ["1.2.3.4-1", "1.2.3.5-1", "patch"], // beyond x.y.z: smallest type
  ])("%s → %s is %s", (from, to, type) => {
    expect(classifyUpdate(from, to)).toEqual({ type, coerced: true });
  });

  it("treats a changed epoch as major and says so", () => {
    const c = classifyUpdate("1.5-1", "1:1.0-1");
    expect(c.type).toBe("major");
    expect(c.note).toMatch(/epoch changed/);
  });

  it("assumes major when semver cannot read a version, and says so", () => {
    const c = classifyUpdate("git-snapshot", "1.0-1");
    expect(c).toMatchObject({ type: "major", coerced: false });
    expect(c.note).toBe("semver could not read 'git-snapshot'; assumed major");
  });

  it("matches approvals at component boundaries", () => {
    expect(approvalMatches("6.12", "6.12.9-1")).toBe(true);
    expect(approvalMatches("6.1", "6.12.9-1")).toBe(false);
    expect(approvalMatches("16", "16.2-1")).toBe(true);
    expect(approvalMatches("16.2-1", "16.2-1+b1")).toBe(true);
    expect(approvalMatches("16", "1:16.2-1")).toBe(true);
    expect(approvalMatches("17", "16.2-1")).toBe(false);
  });
});

describe("decidePackage", () => {
  it("plans a patch update with no policy", () => {
    expect(decide(undefined, pkg("openssl", "3.0.11-1", "3.0.13-1", true, "bookworm-security"))).toEqual({
      planned: { name: "openssl", from: "3.0.11-1", to: "3.0.13-1", updateType: "patch", security: true, source: "bookworm-security" },
    });
  });

  it("lets deny win over allow", () => {
    const d = decide({ allow: ["linux-*"], deny: ["linux-image-*"] }, pkg("linux-image-amd64", "6.1.76-1", "6.1.90-1"));
    expect(d).toMatchObject({ excluded: { reason: "denied", detail: "matches deny pattern 'linux-image-*'" } });
  });

  it("leaves out what no allow pattern matches", () => {
    expect(decide({ allow: ["linux-*"] }, pkg("curl", "7.88.1-10", "7.88.1-11"))).toMatchObject({ excluded: { reason: "not-allowed" } });
  });

  it("honours runbook holds and holds on the host", () => {
    expect(decide({ holds: ["openssl*"] }, pkg("openssl", "3.0.11-1", "3.0.13-1"))).toMatchObject({ excluded: { reason: "held", detail: "held by the runbook (pattern 'openssl*')" } });
    expect(decide(undefined, pkg("nginx", "1.22.1-9", "1.22.1-10"), ["nginx"])).toMatchObject({ excluded: { reason: "held", detail: "held on the host" } });
  });

  it("keeps only security updates in security-only mode", () => {
    expect(decide({ security_only: true }, pkg("curl", "7.88.1-10", "7.88.1-11", false, "bookworm-updates"))).toMatchObject({
      excluded: { reason: "not-security", detail: "security_only is set and the candidate comes from 'bookworm-updates'" },
    });
  });

  it("filters by update type", () => {
    expect(decide({ update_types: ["patch"] }, pkg("openssh-server", "1:9.2p1-2", "1:9.3p1-1"))).toMatchObject({ excluded: { reason: "update-type-not-allowed", updateType: "minor" } });
  });

  it("needs an approval for a major even when majors are allowed", () => {
    const p = pkg("postgresql-16", "15.5-0+deb12u1", "16.2-1");
    expect(decide({ update_types: ["patch", "minor", "major"] }, p)).toMatchObject({ excluded: { reason: "major-needs-approval", updateType: "major" } });
    expect(decide({ approvals: [{ package: "postgresql-*", to: "16", approved_by: "dba", reference: "CHG-1" }] }, p)).toEqual({
      planned: { name: "postgresql-16", from: "15.5-0+deb12u1", to: "16.2-1", updateType: "major", security: true, approval: { to: "16", approved_by: "dba", reference: "CHG-1" } },
    });
    // An approval for another line does not apply.
    expect(decide({ approvals: [{ package: "postgresql-*", to: "17", approved_by: "dba" }] }, p)).toMatchObject({ excluded: { reason: "major-needs-approval" } });
  });

  it("names an unreadable version as the reason when the assumed major is not allowed", () => {
    const d = decide({ update_types: ["patch", "minor"] }, pkg("vendor-agent", "snapshot-a", "snapshot-b"));
    expect(d).toMatchObject({ excluded: { reason: "unparsable-version", updateType: "major" } });
    if ("excluded" in d) expect(d.excluded.detail).toMatch(/assumed major/);
    expect(decide(undefined, pkg("vendor-agent", "snapshot-a", "snapshot-b"))).toMatchObject({ excluded: { reason: "unparsable-version" } });
  });

  it("plans an approved package whose version had to be assumed, with a note", () => {
    const d = decide({ approvals: [{ package: "vendor-agent", to: "snapshot", approved_by: "ops" }] }, pkg("vendor-agent", "snapshot-a", "snapshot-b"));
    expect(d).toMatchObject({ planned: { updateType: "major", note: "semver could not read 'snapshot-a' and 'snapshot-b'; assumed major" } });
  });
});

describe("choosing among the offered versions", () => {
  const offered = (name: string, from: string, versions: Array<[string, boolean, string]>): UpgradablePackage => ({
    name, from, to: versions[0]![0], security: versions[0]![1], source: versions[0]![2],
    versions: versions.map(([version, security, source]) => ({ version, security, source })),
  });
  const lib = offered("steward-lib", "1.0.0", [["2.0.0", false, "stable"], ["1.1.0", false, "stable"], ["1.0.1", false, "stable"]]);

  it("takes the candidate when the policy allows it", () => {
    expect(decide(undefined, offered("jq", "1.6-1", [["1.6-3", true, "security"], ["1.6-2", false, "stable"]]))).toEqual({
      planned: { name: "jq", from: "1.6-1", to: "1.6-3", updateType: "patch", security: true, source: "security" },
    });
  });

  it("falls back to the newest allowed version and says why the candidate was passed over", () => {
    expect(decide({ update_types: ["patch", "minor"] }, lib)).toEqual({
      planned: {
        name: "steward-lib", from: "1.0.0", to: "1.1.0", updateType: "minor", security: false, source: "stable",
        candidate: { version: "2.0.0", reason: "update-type-not-allowed", detail: "major update; update_types allows patch, minor" },
      },
    });
    expect(decide({ update_types: ["patch"] }, lib)).toMatchObject({ planned: { to: "1.0.1", updateType: "patch", candidate: { version: "2.0.0" } } });
    // Majors allowed but not approved: the newest minor, and the reason is the missing approval.
    expect(decide(undefined, lib)).toMatchObject({ planned: { to: "1.1.0", candidate: { version: "2.0.0", reason: "major-needs-approval" } } });
  });

  it("keeps the candidate's reason when no offered version is allowed, naming the others", () => {
    expect(decide({ update_types: ["patch"] }, offered("x", "1.0", [["3.0", false, "s"], ["2.0", false, "s"]]))).toEqual({
      excluded: { name: "x", from: "1.0", to: "3.0", reason: "update-type-not-allowed", updateType: "major", detail: "major update; update_types allows patch; the older version 2.0 is not allowed either" },
    });
  });

  it("takes the newest security version in security-only mode", () => {
    const curl = offered("curl", "7.88.1-1", [["7.88.1-3", false, "bookworm-updates"], ["7.88.1-2", true, "bookworm-security"]]);
    expect(decide({ security_only: true }, curl)).toMatchObject({
      planned: { to: "7.88.1-2", security: true, source: "bookworm-security", candidate: { version: "7.88.1-3", reason: "not-security" } },
    });
  });

  it("never falls back past a package-level rule", () => {
    expect(decide({ deny: ["steward-*"], update_types: ["patch"] }, lib)).toMatchObject({ excluded: { reason: "denied", to: "2.0.0" } });
    expect(decide({ update_types: ["patch"] }, lib, ["steward-lib"])).toMatchObject({ excluded: { reason: "held" } });
  });

  it("does not reuse a decision for the same candidate when the offered versions differ", () => {
    const policy = compilePolicy({ update_types: ["patch", "minor"] });
    const alone = { name: "steward-lib", from: "1.0.0", to: "2.0.0", security: false, source: "stable" };
    expect(decidePackage(policy, alone, new Set())).toMatchObject({ excluded: { reason: "update-type-not-allowed" } });
    expect(decidePackage(policy, lib, new Set())).toMatchObject({ planned: { to: "1.1.0" } });
    expect(decidePackage(policy, alone, new Set())).toMatchObject({ excluded: { reason: "update-type-not-allowed" } });
  });
});
