import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { failed, ok, up, withUpgrades } from "./fixtures.ts";

const fixture = new URL("../fixtures/base", import.meta.url).pathname;

async function run(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd };
  return { code: await main(argv, io), stdout, stderr };
}

let repo: string;
beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), "steward-plan-cli-"));
  await cp(fixture, repo, { recursive: true });
  await writeFile(
    join(repo, "runbooks/patches.yaml"),
    `name: patches
targets: group:prod
rollout:
  waves: [1, "100%"]
  order: [db, web]
policy:
  holds: [nginx]
steps:
  - kind: packages
    name: updates
    action: upgrade
  - kind: reboot
    name: reboot
`,
  );
  const facts = join(repo, ".steward/facts");
  await mkdir(facts, { recursive: true });
  await writeFile(join(facts, "db-01.json"), JSON.stringify(ok("db-01", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1")]))));
  await writeFile(join(facts, "web-01.json"), JSON.stringify(ok("web-01", withUpgrades([up("nginx", "1.22.1-9", "1.22.1-10"), up("curl", "7.88.1-10", "7.88.1-11")]))));
  await writeFile(join(facts, "bastion-01.json"), JSON.stringify(failed("bastion-01")));
});
afterAll(() => rm(repo, { recursive: true, force: true }));

describe("steward plan", () => {
  it("plans from cached facts, writes both files and prints the summary", async () => {
    const r = await run(["plan", "patches", "--now", "2026-11-24T01:30:00Z"], repo);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^plan patches-20261124T0130-[0-9a-f]{12}\n/);
    expect(r.stdout).toContain("hosts: 2 planned, 1 skipped (1 no-facts)");
    expect(r.stdout).toContain("waves: 2 (hosts per wave: 1 → 1)");
    const files = (await readdir(join(repo, "plans"))).sort();
    expect(files).toHaveLength(2);
    const plan = JSON.parse(await readFile(join(repo, "plans", files[0]!), "utf8")) as { hosts: Array<{ name: string }>; inputs: { files: Array<{ path: string }> } };
    expect(plan.hosts.map((h) => h.name)).toEqual(["db-01", "web-01"]);
    // Every inventory file and this runbook's file, and no other runbook.
    const paths = plan.inputs.files.map((f) => f.path);
    expect(paths).toContain("inventory/base.yaml");
    expect(paths.filter((p) => !p.startsWith("inventory/"))).toEqual(["runbooks/patches.yaml"]);
  });

  it("writes byte-identical files for the same inputs and --now", async () => {
    await run(["plan", "patches", "--now", "2026-11-24T01:30:00Z", "--out", "a"], repo);
    await run(["plan", "patches", "--now", "2026-11-24T01:30:00Z", "--out", "b"], repo);
    const names = (await readdir(join(repo, "a"))).sort();
    expect(names).toEqual((await readdir(join(repo, "b"))).sort());
    for (const name of names) expect(await readFile(join(repo, "a", name), "utf8")).toBe(await readFile(join(repo, "b", name), "utf8"));
  });

  it("reads --facts and honours --limit", async () => {
    const r = await run(["plan", "patches", "--now", "2026-11-24T01:30:00Z", "--limit", "web-01", "--facts", ".steward/facts", "--out", "limited"], repo);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("hosts: 1 planned, 2 skipped (2 excluded-by-limit)");
  });

  it("exits 3 when the repository is invalid, 2 for an unknown runbook or bad flags", async () => {
    const broken = await mkdtemp(join(tmpdir(), "steward-plan-broken-"));
    try {
      await cp(fixture, broken, { recursive: true });
      await writeFile(join(broken, "runbooks/bad.yaml"), "name: bad\ntargets: group:prod &\nsteps: []\n");
      const r = await run(["plan", "base"], broken);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain("validation error");
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
    const unknown = await run(["plan", "pathces"], repo);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no runbook is named 'pathces'");
    expect((await run(["plan", "patches", "--now", "yesterday"], repo)).code).toBe(2);
    expect((await run(["plan", "patches", "--limit", "group:web &"], repo)).code).toBe(2);
  });

  it("skips the host whose facts file is not a facts result, saying why", async () => {
    const dir = join(repo, "bad-facts");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "db-01.json"), "{ not json");
    const r = await run(["plan", "patches", "--facts", "bad-facts"], repo);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const written = /wrote (\S+\.json)/.exec(r.stdout)?.[1];
    const plan = JSON.parse(await readFile(join(repo, written!), "utf8")) as { skipped: Array<{ host: string; reason: string; detail: string }> };
    expect(plan.skipped.find((s) => s.host === "db-01")).toMatchObject({ reason: "facts-failed", detail: expect.stringContaining("db-01.json: not JSON") });
  });
});
