import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FactsResult } from "../../src/facts/types.ts";
import type { Plan } from "../../src/plan/types.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { readPlanFile } from "../../src/apply/index.ts";
import { cli } from "./cli-helpers.ts";

/**
 * `steward facts`, `steward plan --gather` and `steward apply` through the CLI entry on
 * real dnf hosts: dnf 4 with each host's own rpm database and the sandbox's rpm
 * repository (src/sandbox/rpm.ts, setup-dnf.sh). Profiles as on apt hosts: sandbox-01
 * and -05 start with steward-lib and steward-demo-app 1.0.0, -02 with 1.1.0, -03 with
 * 2.0.0, -04 with 1.0.1; all with steward-broken 1.0.0, whose 1.0.1 fails in %post.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 138;
const PROJECT = resolve(import.meta.dirname, "../..");

const runbook = (name: string, targets: string, packages: string[]): string => `name: ${name}
targets: ${targets}
rollout:
  failure_budget: 5
policy:
  update_types: [patch, minor]
steps:
  - kind: packages
    name: upgrade
    action: upgrade
    packages: [${packages.join(", ")}]
`;

describe("steward on real dnf hosts of the sandbox fleet", () => {
  let dir: string;
  let state: FleetState;
  let steward: ReturnType<typeof cli>;
  /** `name-version-release` of packages on a host, read with rpm inside it (not through steward). */
  const rpmQ = async (host: string, ...names: string[]): Promise<string[]> =>
    (await execInHost(state, host, ["rpm", "-q", "--qf", "%{name} %{version}-%{release}\\n", ...names])).stdout.trim().split("\n");
  const planOf = (file: string): Promise<Plan> => readPlanFile(join(state.dir, file), file);

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-apply-dnf-")), "fleet");
    state = await upFleet({ dir, count: 5, subnet: SUBNET, hide: [PROJECT], packageManager: "dnf" });
    steward = cli(state);
    await mkdir(join(state.dir, "runbooks"), { recursive: true });
    const books: Record<string, string> = {
      lib: runbook("lib", "host:sandbox-01 | host:sandbox-04", ["steward-lib", "steward-demo-app"]),
      "app-only": runbook("app-only", "host:sandbox-05", ["steward-demo-app"]),
      broken: runbook("broken", "host:sandbox-02", ["steward-broken"]),
    };
    for (const [name, text] of Object.entries(books)) await writeFile(join(state.dir, "runbooks", `${name}.yaml`), text);
  });

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("steward facts reads a dnf host: Fedora, dnf, rpm's versions, every newer version, the advisory, a versionlock", async () => {
    const lock = await execInHost(state, "sandbox-03", ["dnf", "-q", "-y", "versionlock", "add", "steward-broken"]);
    expect(lock.code, lock.stderr).toBe(0);
    const r = await steward.steward("facts", "--json", "--limit", "host:sandbox-01 | host:sandbox-03");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [one, three] = JSON.parse(r.stdout) as FactsResult[];
    expect(one?.ok && three?.ok).toBe(true);
    if (!one?.ok || !three?.ok) return;
    expect(one.facts.os.id).toBe("fedora");
    expect(one.facts.packageManager).toBe("dnf");
    expect(one.facts.installed.filter((p) => p.name.startsWith("steward-"))).toEqual([
      { name: "steward-broken", version: "1.0.0-1", arch: "noarch" },
      { name: "steward-demo-app", version: "1.0.0-1", arch: "noarch" },
      { name: "steward-kernel-sim", version: "5.10.1-1", arch: "noarch" },
      { name: "steward-lib", version: "1.0.0-1", arch: "noarch" },
      { name: "steward-release", version: "40-1", arch: "noarch" },
    ]);
    const v = (version: string, security = false) => ({ version, source: "steward-sandbox", security });
    expect(one.facts.upgradable).toEqual([
      { name: "steward-broken", from: "1.0.0-1", to: "1.0.1-1", source: "steward-sandbox", security: false },
      { name: "steward-demo-app", from: "1.0.0-1", to: "2.0.0-1", source: "steward-sandbox", security: false, versions: [v("2.0.0-1"), v("1.1.0-1"), v("1.0.1-1")] },
      { name: "steward-kernel-sim", from: "5.10.1-1", to: "6.1.0-1", source: "steward-sandbox", security: false, versions: [v("6.1.0-1"), v("5.10.2-1")] },
      { name: "steward-lib", from: "1.0.0-1", to: "2.0.0-1", source: "steward-sandbox", security: true, versions: [v("2.0.0-1", true), v("1.1.0-1", true), v("1.0.1-1", true)] },
    ]);
    // sandbox-03 is at the newest of everything; its versionlock is read as a hold.
    // steward-broken 1.0.1 exists, but the lock hides it from check-update.
    expect(three.facts.upgradable).toEqual([]);
    expect(three.facts.installed.find((p) => p.name === "steward-broken")).toEqual({ name: "steward-broken", version: "1.0.0-1", arch: "noarch", held: true });
  });

  it("plans minor updates from dnf's versions, applies them in one simulated transaction, and skips a host upgraded by hand as stale", async () => {
    const file = await steward.planned("lib");
    const plan = await planOf(file);
    const upgrades = (host: string) => plan.hosts.find((h) => h.name === host)?.actions.flatMap((a) => ("upgrades" in a ? a.upgrades.map((u) => `${u.name} ${u.from} → ${u.to} ${u.updateType}`) : []));
    // The candidates are 2.0.0 (major): the planner falls back to the newest minor dnf offers.
    expect(upgrades("sandbox-01")).toEqual(["steward-demo-app 1.0.0-1 → 1.1.0-1 minor", "steward-lib 1.0.0-1 → 1.1.0-1 minor"]);
    expect(upgrades("sandbox-04")).toEqual(["steward-demo-app 1.0.1-1 → 1.1.0-1 minor", "steward-lib 1.0.1-1 → 1.1.0-1 minor"]);

    // After planning, someone upgrades sandbox-04 by hand.
    const byHand = await execInHost(state, "sandbox-04", ["dnf", "-q", "-y", "install", "steward-lib-1.1.0-1"]);
    expect(byHand.code, byHand.stderr).toBe(0);

    const r = await steward.steward("apply", file);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const res = await steward.results(r);
    const one = res.hosts.find((h) => h.host === "sandbox-01")!;
    expect(one.outcome, one.detail).toBe("changed");
    expect(one.steps[0]!.packages).toEqual([
      { name: "steward-demo-app", arch: "noarch", from: "1.0.0-1", to: "1.1.0-1" },
      { name: "steward-lib", arch: "noarch", from: "1.0.0-1", to: "1.1.0-1" },
    ]);
    const four = res.hosts.find((h) => h.host === "sandbox-04")!;
    expect(four.outcome).toBe("skipped:stale");
    expect(four.detail).toContain("steward-lib is now 1.1.0-1, not 1.0.1-1");
    expect(await rpmQ("sandbox-01", "steward-lib", "steward-demo-app")).toEqual(["steward-lib 1.1.0-1", "steward-demo-app 1.1.0-1"]);
    // The stale host is left as the hand left it.
    expect(await rpmQ("sandbox-04", "steward-lib", "steward-demo-app")).toEqual(["steward-lib 1.1.0-1", "steward-demo-app 1.0.1-1"]);
  });

  it("refuses a host whose simulation pulls an unplanned dependency to its newest version; nothing changes", async () => {
    const file = await steward.planned("app-only");
    const r = await steward.steward("apply", file);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const host = (await steward.results(r)).hosts.find((h) => h.host === "sandbox-05")!;
    expect(host.outcome).toBe("failed");
    expect(host.detail).toContain("refused, nothing was changed: the transaction would upgrade steward-lib → 2.0.0-1, which the plan does not name");
    expect(await rpmQ("sandbox-05", "steward-lib", "steward-demo-app")).toEqual(["steward-lib 1.0.0-1", "steward-demo-app 1.0.0-1"]);
  });

  it("a failing %post, which dnf calls complete, fails the host naming the scriptlet; the package is installed", async () => {
    const file = await steward.planned("broken");
    const r = await steward.steward("apply", file);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const host = (await steward.results(r)).hosts.find((h) => h.host === "sandbox-02")!;
    expect(host.outcome).toBe("failed");
    expect(host.detail).toContain("dnf reported the transaction complete (steward-broken 1.0.0-1 → 1.0.1-1) but %post(steward-broken-1.0.1-1.noarch) scriptlet failed, exit status 1");
    expect(host.steps[0]!.packages).toEqual([{ name: "steward-broken", arch: "noarch", from: "1.0.0-1", to: "1.0.1-1" }]);
    expect(await rpmQ("sandbox-02", "steward-broken")).toEqual(["steward-broken 1.0.1-1"]);
  });
});
