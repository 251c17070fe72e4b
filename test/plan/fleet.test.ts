import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import type { FactsResult } from "../../src/facts/types.ts";
import { parsePlan } from "../../src/plan/artifact.ts";
import { factsDigest } from "../../src/plan/digest.ts";
import type { Plan, PlannedHost } from "../../src/plan/types.ts";
import { downFleet, execInHost, injectFault, upFleet, type FleetState } from "../../src/sandbox/index.ts";

/**
 * `steward facts` then `steward plan` against real sandbox hosts: eight hosts in four
 * package profiles (a: oldest … c: newest), three groups, and one host in each kind of
 * trouble. The expected waves and actions are written out by hand from the profiles.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 241;
const PROJECT = resolve(import.meta.dirname, "../..");
const NOW = "2026-11-23T10:00:00Z";
const ajv = new Ajv2020({ allErrors: true, strict: false });
for (const name of ["inventory", "runbook", "plan"]) ajv.addSchema(JSON.parse(readFileSync(join(PROJECT, `schemas/${name}.schema.json`), "utf8")) as object, `${name}.schema.json`);
const validatePlan = ajv.getSchema("plan.schema.json")!;

const RUNBOOK = `name: fleet-updates
targets: group:sandbox
rollout:
  waves: [1, "50%", "100%"]
  order: [db, app, web]
  failure_budget: 1
policy:
  update_types: [patch, minor]
steps:
  - kind: packages
    name: updates
    action: upgrade
  - kind: reboot
    name: reboot if required
`;

async function steward(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd: PROJECT });
  return { code, stdout, stderr };
}

const upgrades = (h: PlannedHost | undefined): string[] =>
  (h?.actions ?? []).flatMap((a) => ("upgrades" in a ? a.upgrades.map((u) => `${u.name} ${u.from} → ${u.to}${u.candidate ? ` (candidate ${u.candidate.version}: ${u.candidate.reason})` : ""}`) : []));
const excluded = (h: PlannedHost | undefined): string[] =>
  (h?.actions ?? []).flatMap((a) => ("excluded" in a ? a.excluded.map((e) => `${e.name} ${e.from} → ${e.to}: ${e.reason}`) : []));

describe("steward plan on the sandbox fleet", () => {
  let dir: string;
  let state: FleetState;
  let plan: Plan;
  let planText: string;
  let planOutput: string;
  let markdown: string;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-plan-fleet-")), "fleet");
    // Profiles cycle a, b, c, d; groups db, app, web; criticality high, medium, low, medium.
    state = await upFleet({ dir, count: 8, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(dir, "runbooks"), { recursive: true });
    await writeFile(join(dir, "runbooks/fleet-updates.yaml"), RUNBOOK);
    // Trouble: 05 holds a package, 06 has one half-configured, 07 does not answer, 08 has no apt.
    const hold = await execInHost(state, "sandbox-05", ["apt-mark", "hold", "steward-lib"]);
    expect(hold.code, hold.stderr).toBe(0);
    await injectFault(state, "sandbox-06", "broken-package");
    await injectFault(state, "sandbox-07", "unreachable");
    // A host without a package manager: apt's binaries are gone from its root, and so are
    // dnf's and apk's where the machine the sandbox is built from has them (its hosts see
    // the machine's /usr; scripts/setup installs dnf for the dnf hosts).
    const noApt = await execInHost(state, "sandbox-08", ["sh", "-c", "mv /usr/bin/apt-get /usr/bin/apt-get.gone && mv /usr/bin/dpkg-query /usr/bin/dpkg-query.gone && for b in dnf apk; do p=$(command -v $b) || continue; mv \"$p\" \"$p.gone\" || exit 1; done"]);
    expect(noApt.code, noApt.stderr).toBe(0);

    // --refresh runs apt-get update on hosts with apt; one unreachable host makes the exit 1.
    const facts = await steward(["facts", "--root", dir, "--refresh", "--cache"]);
    expect(facts.code, facts.stderr + facts.stdout).toBe(1);
    const planned = await steward(["plan", "fleet-updates", "--root", dir, "--now", NOW]);
    expect(planned.code, planned.stderr).toBe(0);
    planOutput = planned.stdout;
    const file = (await readdir(join(dir, "plans"))).find((f) => f.endsWith(".json"));
    planText = await readFile(join(dir, "plans", file!), "utf8");
    plan = parsePlan(planText, file!);
    markdown = await readFile(join(dir, "plans", file!.replace(/\.json$/, ".md")), "utf8");
  }, 120_000);

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("writes a plan valid against its schema and summarises it", () => {
    expect(validatePlan(JSON.parse(planText)), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(planOutput).toContain("hosts: 5 planned, 3 skipped");
    // Reviewers see which version was chosen over the candidate, and why.
    expect(markdown).toContain("| steward-lib | 1.0.0 | 1.1.0 (not 2.0.0) | minor | no |");
    expect(markdown).toContain("- steward-lib: the candidate 2.0.0 is left out (update-type-not-allowed: major update; update\\_types allows patch, minor); 1.1.0 is the newest version the policy allows");
    expect(markdown).toMatch(/\| sandbox-06 \| broken-packages \| steward-broken 1\.0\.1 is half-configured;/);
  });

  it("orders db, app, web and lower criticality first, in the runbook's waves", () => {
    expect(plan.hosts.map((h) => [h.name, h.orderGroup, h.criticality])).toEqual([
      ["sandbox-04", "db", "medium"],
      ["sandbox-01", "db", "high"],
      ["sandbox-02", "app", "medium"],
      ["sandbox-05", "app", "high"],
      ["sandbox-03", "web", "low"],
    ]);
    // 1, then 50% of 5 rounded up (3 started in total), then the rest.
    expect(plan.rollout.waves.map((w) => w.hosts)).toEqual([["sandbox-04"], ["sandbox-01", "sandbox-02"], ["sandbox-05", "sandbox-03"]]);
  });

  it("plans each host's upgrades from its own versions, falling back from unapproved majors", () => {
    const host = (name: string) => plan.hosts.find((h) => h.name === name);
    // Profile a: every package at its oldest; the majors are passed over for the newest minor or patch.
    expect(upgrades(host("sandbox-01"))).toEqual([
      "steward-broken 1.0.0 → 1.0.1",
      "steward-demo-app 1.0.0 → 1.1.0 (candidate 2.0.0: update-type-not-allowed)",
      "steward-kernel-sim 5.10.1 → 5.10.2 (candidate 6.1.0: update-type-not-allowed)",
      "steward-lib 1.0.0 → 1.1.0 (candidate 2.0.0: update-type-not-allowed)",
    ]);
    expect(host("sandbox-01")?.rebootExpected).toBe(true);
    // Profile b: only majors are left for three packages, and nothing older to fall back to.
    expect(upgrades(host("sandbox-02"))).toEqual(["steward-broken 1.0.0 → 1.0.1"]);
    expect(excluded(host("sandbox-02"))).toEqual([
      "steward-demo-app 1.1.0 → 2.0.0: update-type-not-allowed",
      "steward-kernel-sim 5.10.2 → 6.1.0: update-type-not-allowed",
      "steward-lib 1.1.0 → 2.0.0: update-type-not-allowed",
    ]);
    expect(host("sandbox-02")?.rebootExpected).toBe(false);
    // Profile d starts at the patch releases.
    expect(upgrades(host("sandbox-04"))).toEqual([
      "steward-broken 1.0.0 → 1.0.1",
      "steward-demo-app 1.0.1 → 1.1.0 (candidate 2.0.0: update-type-not-allowed)",
      "steward-kernel-sim 5.10.1 → 5.10.2 (candidate 6.1.0: update-type-not-allowed)",
      "steward-lib 1.0.1 → 1.1.0 (candidate 2.0.0: update-type-not-allowed)",
    ]);
    // Profile c is current except steward-broken.
    expect(upgrades(host("sandbox-03"))).toEqual(["steward-broken 1.0.0 → 1.0.1"]);
    expect(excluded(host("sandbox-03"))).toEqual([]);
    // A package held on the host stays where it is, with the reason on record; the rest moves.
    expect(upgrades(host("sandbox-05"))).toEqual([
      "steward-broken 1.0.0 → 1.0.1",
      "steward-demo-app 1.0.0 → 1.1.0 (candidate 2.0.0: update-type-not-allowed)",
      "steward-kernel-sim 5.10.1 → 5.10.2 (candidate 6.1.0: update-type-not-allowed)",
    ]);
    expect(excluded(host("sandbox-05"))).toEqual(["steward-lib 1.0.0 → 2.0.0: held"]);
  });

  it("gives the unreachable, broken and apt-less hosts explicit entries", () => {
    expect(plan.skipped.map((s) => [s.host, s.reason])).toEqual([
      ["sandbox-06", "broken-packages"],
      ["sandbox-07", "unreachable"],
      ["sandbox-08", "no-package-manager"],
    ]);
    expect(plan.skipped.find((s) => s.host === "sandbox-06")?.detail).toMatch(/^steward-broken 1\.0\.1 is half-configured; .*dpkg --configure -a/);
    expect(plan.summary.skippedByReason).toEqual({ unreachable: 1, "broken-packages": 1, "no-package-manager": 1 });
  });

  it("records a digest apply can recompute from the cached facts", async () => {
    const cache = join(dir, ".steward/facts");
    for (const h of plan.hosts) {
      const cached = JSON.parse(await readFile(join(cache, `${h.name}.json`), "utf8")) as FactsResult;
      if (!cached.ok) throw new Error(`${h.name} has no facts`);
      const touched = new Set(h.actions.flatMap((a) => ("upgrades" in a ? a.upgrades.map((u) => u.name) : [])));
      expect(h.factsDigest, h.name).toBe(factsDigest(cached.facts, touched));
    }
    // 02 and 03 differ elsewhere but depend on the same facts: one steward-broken patch.
    const digest = (name: string) => plan.hosts.find((h) => h.name === name)?.factsDigest;
    expect(digest("sandbox-02")).toBe(digest("sandbox-03"));
    expect(digest("sandbox-01")).not.toBe(digest("sandbox-04"));
  });

  it("--gather gathers facts for exactly the hosts the plan selects, then plans", async () => {
    const cache = join(dir, ".steward/facts");
    await rm(join(cache, "sandbox-01.json"));
    const before = await readFile(join(cache, "sandbox-02.json"), "utf8");
    const r = await steward(["plan", "fleet-updates", "--root", dir, "--gather", "--limit", "group:db", "--now", NOW, "--out", join(dir, "plans-db")]);
    expect(r.code, r.stderr).toBe(0);
    // db is 01, 04 and 07; 07 does not answer.
    expect(r.stdout.split("\n")[0]).toBe("facts: gathered from 2 of 3 hosts (1 failed; skipped in the plan with their reason)");
    expect(r.stdout).toContain("hosts: 2 planned, 6 skipped");
    expect(JSON.parse(await readFile(join(cache, "sandbox-01.json"), "utf8"))).toMatchObject({ host: "sandbox-01", ok: true });
    expect(await readFile(join(cache, "sandbox-02.json"), "utf8")).toBe(before);
    expect((await steward(["plan", "fleet-updates", "--root", dir, "--refresh"])).code).toBe(2);
  });

  it("plans an app-upgrade from versions its probes read on each host", async () => {
    await writeFile(
      join(dir, "runbooks/demo-app-release.yaml"),
      `name: demo-app-release
targets: group:sandbox
rollout:
  waves: [1, "100%"]
steps:
  - kind: app-upgrade
    name: demo-app 1.x
    app: steward-demo-app
    version: ">=1.0.1 <2"
    current_version: steward-demo-app
    available_versions: apt-cache madison {{app.name}} | cut -d'|' -f2
    install: sudo apt-get install -y {{app.name}}={{app.version}}
`,
    );
    const r = await steward(["plan", "demo-app-release", "--root", dir, "--gather", "--limit", "sandbox-0[1-4]", "--now", NOW, "--out", join(dir, "plans-app")]);
    expect(r.code, r.stderr).toBe(0);
    const file = (await readdir(join(dir, "plans-app"))).find((f) => f.endsWith(".json"))!;
    const app = parsePlan(await readFile(join(dir, "plans-app", file), "utf8"), file);
    const decided = (name: string) => app.hosts.find((h) => h.name === name)?.actions.find((a) => a.kind === "app-upgrade");
    // Profiles a (1.0.0) and d (1.0.1) move to the newest 1.x; b is there; c (2.0.0) is never downgraded.
    expect(app.hosts.map((h) => h.name)).toEqual(["sandbox-04", "sandbox-01"]);
    expect(decided("sandbox-01")).toMatchObject({ current: "1.0.0", to: "1.1.0", status: "upgrade", updateType: "minor" });
    expect(decided("sandbox-04")).toMatchObject({ current: "1.0.1", to: "1.1.0", status: "upgrade", updateType: "minor" });
    expect(app.skipped.filter((s) => s.reason !== "excluded-by-limit").map((s) => [s.host, s.reason, s.detail])).toEqual([
      ["sandbox-02", "nothing-to-do", "steward-demo-app: 1.1.0 is the newest version in >=1.0.1 <2"],
      ["sandbox-03", "nothing-to-do", "steward-demo-app: 2.0.0 is newer than every available version in >=1.0.1 <2 (newest 1.1.0); not downgraded"],
    ]);
    const cached = JSON.parse(await readFile(join(dir, ".steward/facts/sandbox-01.json"), "utf8")) as FactsResult;
    if (!cached.ok) throw new Error("sandbox-01 has no facts");
    expect(cached.facts.apps).toEqual({ "steward-demo-app": { current: "steward-demo-app 1.0.0", available: ["2.0.0", "1.1.0", "1.0.1", "1.0.0"] } });
    // The digest covers the probed versions, as apply will recompute it.
    expect(app.hosts.find((h) => h.name === "sandbox-01")?.factsDigest).toBe(factsDigest(cached.facts, new Set(), ["steward-demo-app"]));
  });
});
