import { describe, expect, it } from "vitest";
import type { FactsResult } from "../../src/facts/types.ts";
import { parseSelector } from "../../src/model/selector.ts";
import { canonicalJson, factsDigest, factsDigestValue, sha256 } from "../../src/plan/digest.ts";
import { plan } from "../../src/plan/planner.ts";
import type { Plan, PlannedAction } from "../../src/plan/types.ts";
import { facts as hostFacts, failed, host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "./fixtures.ts";

const inv = inventory([
  host("db-01", ["db"], "critical"),
  host("db-02", ["db"], "low"),
  host("app-01", ["app"], "high"),
  host("app-02", ["app"], "low"),
  host("web-01", ["web"], "medium"),
  host("mail-01", ["mail"], "low"),
  host("legacy-01", ["web"], "low"),
  host("gone-01", ["web"], "low"),
  host("odd-01", ["app"], "medium"),
]);

const facts = new Map<string, FactsResult>([
  ["db-01", ok("db-01", withUpgrades([up("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"), up("postgresql-16", "15.5-0+deb12u1", "16.2-1")]))],
  ["db-02", ok("db-02", withUpgrades([up("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1")]))],
  ["app-01", ok("app-01", withUpgrades([up("linux-image-amd64", "6.1.76-1", "6.1.90-1"), up("curl", "7.88.1-10", "7.88.1-11", false)]))],
  ["app-02", ok("app-02", withUpgrades([up("nginx", "1.22.1-9", "1.22.1-10")], { installed: [{ name: "nginx", version: "1.22.1-9", held: true }] }))],
  ["web-01", ok("web-01", withUpgrades([up("tzdata", "2024a-0+deb12u1", "2024b-0+deb12u1")], { reboot: { required: true, reasons: ["/var/run/reboot-required"] } }))],
  ["mail-01", ok("mail-01", withUpgrades([up("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1")]))],
  ["legacy-01", ok("legacy-01", withUpgrades([], { packageManager: null, os: { id: "slackware", versionId: "15", prettyName: "Slackware 15.0" } }))],
  ["gone-01", failed("gone-01")],
  ["odd-01", ok("odd-01", withUpgrades([up("vendor-agent", "nightly", "nightly2"), up("openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1")]))],
]);

const make = (overrides: Parameters<typeof runbook>[0] = {}, limit?: string): Plan =>
  plan({ inventory: inv, runbook: runbook({ rollout: { waves: [1, "50%"], order: ["db", "app", "web"] }, ...overrides }), facts, now: NOW, toolVersion: "0.1.0", inputs: INPUTS, ...(limit ? { limit: parseSelector(limit) } : {}) });

const upgradesOf = (p: Plan, name: string): Extract<PlannedAction, { action: "upgrade" }> => {
  const a = p.hosts.find((h) => h.name === name)?.actions.find((x): x is Extract<PlannedAction, { action: "upgrade" }> => x.kind === "packages" && x.action === "upgrade");
  if (!a) throw new Error(`no upgrade action for ${name}`);
  return a;
};

describe("plan", () => {
  const p = make();

  it("orders by rollout.order group, then criticality (low first), then name; unlisted groups last", () => {
    expect(p.hosts.map((h) => h.name)).toEqual(["db-02", "db-01", "odd-01", "app-01", "web-01", "mail-01"]);
    expect(p.hosts.map((h) => h.orderGroup)).toEqual(["db", "db", "app", "app", "web", null]);
  });

  it("cuts waves from that order", () => {
    expect(p.rollout.waves.map((w) => w.hosts)).toEqual([["db-02"], ["db-01", "odd-01"], ["app-01", "web-01", "mail-01"]]);
    expect(p.rollout.waves.map((w) => w.spec)).toEqual([1, "50%", "rest"]);
    expect(p.hosts.map((h) => h.wave)).toEqual([0, 1, 1, 2, 2, 2]);
  });

  it("gives every skipped host an explicit reason", () => {
    expect(p.skipped.map((s) => [s.host, s.reason])).toEqual([
      ["app-02", "nothing-to-do"],
      ["gone-01", "unreachable"],
      ["legacy-01", "no-package-manager"],
    ]);
    expect(p.skipped.find((s) => s.host === "gone-01")).toMatchObject({ factsError: "unreachable", detail: expect.stringContaining("ECONNREFUSED") });
    expect(p.skipped.find((s) => s.host === "app-02")?.detail).toBe("no package change passes the policy (1 left out); so the runbook's other steps do not run here either: pre-flight (check)");
    expect(p.summary).toMatchObject({ targeted: 9, selected: 9, planned: 6, skipped: 3, waves: [1, 2, 3], skippedByReason: { "nothing-to-do": 1, unreachable: 1, "no-package-manager": 1 } });
  });

  it("leaves out held packages, unapproved majors and unreadable versions with reasons", () => {
    expect(upgradesOf(p, "db-01").upgrades.map((u) => u.name)).toEqual(["openssl"]);
    expect(upgradesOf(p, "db-01").excluded).toEqual([
      { name: "postgresql-16", from: "15.5-0+deb12u1", to: "16.2-1", reason: "major-needs-approval", detail: "major update to 16.2-1 has no approval in policy.approvals", updateType: "major" },
    ]);
    expect(upgradesOf(p, "odd-01").excluded[0]).toMatchObject({ reason: "unparsable-version", detail: expect.stringContaining("semver could not read 'nightly'; assumed major") });
    expect(p.skipped.find((s) => s.host === "app-02")?.excluded).toEqual([{ name: "nginx", from: "1.22.1-9", to: "1.22.1-10", reason: "held", detail: "held on the host" }]);
    expect(p.summary.excludedByReason).toEqual({ "major-needs-approval": 1, "unparsable-version": 1, held: 1 });
  });


  it("expects a reboot when the host asks for one or a kernel is upgraded, with the cause", () => {
    const reboot = (name: string) => p.hosts.find((h) => h.name === name)?.actions.find((a) => a.kind === "reboot");
    expect(reboot("web-01")).toEqual({ step: "reboot if required", index: 2, kind: "reboot", when: "required", expected: true, because: ["host reports: /var/run/reboot-required"] });
    expect(reboot("app-01")).toMatchObject({ expected: true, because: ["upgrades linux-image-amd64"] });
    expect(reboot("db-02")).toMatchObject({ expected: false, because: [] });
    expect(p.summary.rebootsExpected).toBe(2);
  });

  it("lists other steps as they are, by name, index and kind", () => {
    expect(p.hosts[0]?.actions[0]).toEqual({ step: "pre-flight", index: 0, kind: "check" });
  });

  it("classifies every planned upgrade and keeps its security flag", () => {
    expect(upgradesOf(p, "app-01").upgrades).toEqual([
      { name: "curl", from: "7.88.1-10", to: "7.88.1-11", updateType: "patch", security: false, source: "bookworm-updates" },
      { name: "linux-image-amd64", from: "6.1.76-1", to: "6.1.90-1", updateType: "patch", security: true, source: "bookworm-security" },
    ]);
  });

  it("applies security_only, holds and deny from the runbook policy", () => {
    const q = make({ policy: { security_only: true, holds: ["openssl"], deny: ["linux-image-*"] } });
    expect(q.hosts.map((h) => h.name)).toEqual(["web-01"]);
    expect(q.summary.excludedByReason).toEqual({ "not-security": 1, held: 5, denied: 1, "major-needs-approval": 1, "unparsable-version": 1 });
  });

  it("skips hosts outside --limit and names hosts the runbook does not target", () => {
    const q = make({ targets: "group:db | group:app" }, "db-01 | web-01");
    expect(q.hosts.map((h) => h.name)).toEqual(["db-01"]);
    expect(q.limit).toBe("db-01 | web-01");
    expect(q.skipped.map((s) => [s.host, s.reason])).toEqual([
      ["app-01", "excluded-by-limit"],
      ["app-02", "excluded-by-limit"],
      ["db-02", "excluded-by-limit"],
      ["odd-01", "excluded-by-limit"],
      ["web-01", "not-targeted"],
    ]);
    expect(q.fingerprint).not.toBe(make({ targets: "group:db | group:app" }).fingerprint);
  });

  it("skips hosts without facts", () => {
    const q = plan({ inventory: inv, runbook: runbook(), facts: new Map(), now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(q.hosts).toEqual([]);
    expect(q.rollout.waves).toEqual([]);
    expect(q.summary.skippedByReason).toEqual({ "no-facts": 9 });
  });

  it("targets the window's current opening when it is open, else the next", () => {
    const window = { timezone: "Europe/Berlin", days: ["tue" as const], start: "02:00", duration: "3h" };
    const open = make({ window });
    expect(open.window).toMatchObject({ opens: "2026-11-24T01:00:00.000Z", closes: "2026-11-24T04:00:00.000Z", openAtPlanTime: true });
    const next = plan({ inventory: inv, runbook: runbook({ window }), facts, now: new Date("2026-11-24T05:00:00Z"), toolVersion: "0.1.0", inputs: INPUTS });
    expect(next.window).toMatchObject({ opens: "2026-12-01T01:00:00.000Z", openAtPlanTime: false });
    expect(next.hosts.length).toBe(6);
  });

  it("skips every host when the window can never open", () => {
    const q = make({ window: { timezone: "UTC", days: ["mon"], start: "02:00", duration: "1h", not_after: "2026-01-01" } });
    expect(q.window).toMatchObject({ opens: null, never: expect.any(String) });
    expect(q.hosts).toEqual([]);
    expect(q.summary.skippedByReason).toEqual({ "window-never-opens": 9 });
  });

  it("names the plan after the runbook, the minute and the digest", () => {
    expect(p.id).toBe(`security-patches-20261124T0130-${p.digest.slice(0, 12)}`);
    expect(p.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(p.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it("digests only the facts the plan depends on", () => {
    const changed = new Map(facts);
    const f = facts.get("db-02");
    if (!f?.ok) throw new Error("fixture");
    // Load and an unrelated package change: same digest. The planned package's candidate: different.
    changed.set("db-02", ok("db-02", { ...f.facts, load: { one: 9, five: 9, fifteen: 9, cpus: 2 }, installed: [...f.facts.installed, { name: "zsh", version: "5.9-4" }] }));
    const same = plan({ inventory: inv, runbook: runbook({ rollout: { waves: [1, "50%"], order: ["db", "app", "web"] } }), facts: changed, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(same.hosts.find((h) => h.name === "db-02")?.factsDigest).toBe(p.hosts.find((h) => h.name === "db-02")?.factsDigest);
    changed.set("db-02", ok("db-02", withUpgrades([up("openssl", "3.0.11-1~deb12u1", "3.0.14-1~deb12u1")])));
    const moved = plan({ inventory: inv, runbook: runbook({ rollout: { waves: [1, "50%"], order: ["db", "app", "web"] } }), facts: changed, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(moved.hosts.find((h) => h.name === "db-02")?.factsDigest).not.toBe(p.hosts.find((h) => h.name === "db-02")?.factsDigest);
  });

  it("skips a host with a broken package only when the runbook manages packages", () => {
    const inv1 = inventory([host("db-09", ["db"])]);
    const broken = new Map([["db-09", ok("db-09", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1")], {
      installed: [{ name: "openssl", version: "3.0.11-1" }, { name: "app", version: "2.0", status: "half-configured" }, { name: "lib", version: "1.0", status: "reinstreq" }],
    }))]]);
    const q = plan({ inventory: inv1, runbook: runbook(), facts: broken, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(q.skipped).toEqual([{
      host: "db-09", reason: "broken-packages",
      detail: "app 2.0 is half-configured, lib 1.0 is reinstreq; the package manager refuses changes until it is repaired: run `dpkg --configure -a` or reinstall the package, then gather facts again",
    }]);
    const checksOnly = plan({ inventory: inv1, runbook: runbook({ steps: [{ kind: "check", name: "disk", checks: [{ type: "load", max_per_cpu: 2 }] }] }), facts: broken, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(checksOnly.hosts.map((h) => h.name)).toEqual(["db-09"]);
  });

  it("skips a host whose app version cannot be decided, and plans the others", () => {
    const inv1 = inventory([host("app-01", ["app"]), host("app-02", ["app"])]);
    const rb = runbook({ steps: [{ kind: "app-upgrade", name: "shop 2.x", app: "shop", version: "^2.4", current_version: "shop --version", available_versions: "ls /srv/releases", install: "install {{app.version}}" }] });
    const apps = (current: string, error?: string) => ({ shop: { current, available: ["2.4.0", "2.5.1"], ...(error ? { error } : {}) } });
    const q = plan({ inventory: inv1, runbook: rb, facts: new Map([["app-01", ok("app-01", hostFacts({ apps: apps("2.4.0") }))], ["app-02", ok("app-02", hostFacts({ apps: apps("", "current_version: exit 127") }))]]), now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
    expect(q.hosts.map((h) => h.actions)).toEqual([[{ step: "shop 2.x", index: 0, kind: "app-upgrade", app: "shop", range: "^2.4", current: "2.4.0", to: "2.5.1", status: "upgrade", updateType: "minor", detail: "newest of 2 available in ^2.4" }]]);
    expect(q.skipped).toEqual([{ host: "app-02", reason: "app-version-unknown", detail: "shop: current_version: exit 127" }]);
  });

  it("is a pure function: the same input gives an equal plan", () => {
    expect(make()).toEqual(p);
  });

  it("hashes exactly the canonical JSON of the facts it depends on", () => {
    for (const result of facts.values()) {
      if (!result.ok) continue;
      const names = new Set(result.facts.upgradable.map((u) => u.name));
      expect(factsDigest(result.facts, names)).toBe(sha256(canonicalJson(factsDigestValue(result.facts, names))));
    }
    const odd = withUpgrades([up('we"ird\\pkg', "1.0\u0001", "2.0")]);
    const names = new Set(['we"ird\\pkg']);
    expect(factsDigest(odd, names)).toBe(sha256(canonicalJson(factsDigestValue(odd, names))));
    // The offered versions are part of what the plan chose from.
    const offered = withUpgrades([{ ...up("lib", "1.0", "2.0"), versions: [{ version: "2.0", security: false }, { version: "1.5", source: "x\"y", security: true }] }]);
    const lib = new Set(["lib"]);
    expect(factsDigest(offered, lib)).toBe(sha256(canonicalJson(factsDigestValue(offered, lib))));
    expect(factsDigest(offered, lib)).not.toBe(factsDigest(withUpgrades([up("lib", "1.0", "2.0")]), lib));
    // App-upgrades: the probed versions of the apps decided, and only those.
    const withApps = hostFacts({ apps: { shop: { current: "shop \"2.4\"", available: ["2.4.0", "2.5.0"] }, other: { current: "1", error: "boom" } } });
    for (const apps of [["shop"], ["other", "shop"], ["missing"], []]) expect(factsDigest(withApps, new Set(), apps)).toBe(sha256(canonicalJson(factsDigestValue(withApps, new Set(), apps))));
    expect(factsDigest(withApps, new Set(), ["shop"])).not.toBe(factsDigest(hostFacts({ apps: { shop: { current: "2.4.0", available: ["2.4.0"] } } }), new Set(), ["shop"]));
    expect(factsDigest(withApps, new Set(), [])).toBe(factsDigest(hostFacts(), new Set()));
  });
});
