import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import { parsePlan } from "../../src/plan/artifact.ts";
import { ok, up, withUpgrades } from "./fixtures.ts";

const fixture = new URL("../fixtures/base", import.meta.url).pathname;
const NOW = "2026-11-24T01:30:00Z";

async function run(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd };
  return { code: await main(argv, io), stdout, stderr };
}

let repo: string;
let elsewhere: string;
beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), "steward-plan-args-"));
  elsewhere = await mkdtemp(join(tmpdir(), "steward-plan-args-out-"));
  await cp(fixture, repo, { recursive: true });
  await writeFile(join(repo, "runbooks/patches.yaml"), "name: patches\ntargets: group:prod\nsteps:\n  - kind: packages\n    name: updates\n    action: upgrade\n");
  const facts = join(repo, ".steward/facts");
  await mkdir(facts, { recursive: true });
  await writeFile(join(facts, "db-01.json"), JSON.stringify(ok("db-01", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1")]))));
  await mkdir(join(repo, "docs"));
  await writeFile(join(elsewhere, "outside.yaml"), "name: outside\ntargets: all\nsteps: []\n");
  await symlink(join(elsewhere, "outside.yaml"), join(repo, "docs/linked.yaml"));
});
afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
  await rm(elsewhere, { recursive: true, force: true });
});

/** Plans written under `dir`, if the folder exists. */
async function written(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

describe("steward plan --limit", () => {
  it("refuses a limit naming no host, with a did-you-mean, and writes nothing", async () => {
    const r = await run(["plan", "patches", "--now", NOW, "--limit", "wbe-01", "--out", "none-1"], repo);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toContain("--limit 'wbe-01': no host or group is named `wbe-01` (did you mean `web-01`?)");
    expect(await written(join(repo, "none-1"))).toEqual([]);
  });

  it("names every unknown group, tag and host, even when another term matches", async () => {
    const r = await run(["plan", "patches", "--now", NOW, "--limit", "group:wbe | tag:canry | host:db-01", "--out", "none-2"], repo);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toContain("no group is named `wbe` (did you mean `web`?); no host has the tag `canry` (did you mean `canary`?)");
    expect(await written(join(repo, "none-2"))).toEqual([]);
  });

  it("refuses a limit of known names that selects no host", async () => {
    const r = await run(["plan", "patches", "--now", NOW, "--limit", "group:web & group:db", "--out", "none-3"], repo);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toContain("--limit 'group:web & group:db' selects no host");
  });

  it("refuses a limit matching only hosts the runbook does not target, naming them and the targets", async () => {
    const r = await run(["plan", "patches", "--now", NOW, "--limit", "bastion-01", "--out", "none-4"], repo);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toContain("--limit 'bastion-01' matches 1 host (bastion-01), none targeted by runbook patches (targets: group:prod)");
    expect(await written(join(repo, "none-4"))).toEqual([]);
  });

  it("refuses before gathering: no host is contacted and no facts are written", async () => {
    const cache = join(repo, "facts-untouched");
    const r = await run(["plan", "patches", "--now", NOW, "--gather", "--limit", "tag:canry", "--facts", cache, "--out", "none-5"], repo);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toContain("no host has the tag `canry` (did you mean `canary`?)");
    expect(r.stdout).toBe("");
    expect(await written(cache)).toEqual([]);
  });

  it("plans a limit that selects some targeted host, listing the others as skipped", async () => {
    const r = await run(["plan", "patches", "--now", NOW, "--limit", "db-01 | bastion-01", "--out", "some"], repo);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(ExitCode.ok);
    expect(r.stdout).toContain("hosts: 1 planned, 3 skipped");
  });
});

describe("steward plan <runbook file>", () => {
  const planned = async (argv: string[], cwd: string): Promise<void> => {
    const r = await run([...argv, "--now", NOW], cwd);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(ExitCode.ok);
    expect(r.stdout).toMatch(/^plan patches-20261124T0130-/);
  };

  it("accepts the file relative to the current folder, to the root, or absolute", async () => {
    await planned(["plan", "./runbooks/patches.yaml"], repo);
    await planned(["plan", "runbooks/patches.yaml"], repo);
    await planned(["plan", join(repo, "runbooks/patches.yaml"), "--root", repo], elsewhere);
    await planned(["plan", "../runbooks/patches.yaml", "--root", ".."], join(repo, "docs"));
    // Not under the current folder: read relative to the root.
    await planned(["plan", "runbooks/../runbooks/patches.yaml", "--root", repo], elsewhere);
  });

  it("refuses files outside the repository, and files that are not its runbooks", async () => {
    const outside = await run(["plan", join(elsewhere, "outside.yaml"), "--root", repo, "--now", NOW], repo);
    expect(outside.code).toBe(ExitCode.usage);
    expect(outside.stderr).toContain(`runbook file '${join(elsewhere, "outside.yaml")}' is outside the repository ${repo}`);
    const linked = await run(["plan", "docs/linked.yaml", "--now", NOW], repo);
    expect(linked.code).toBe(ExitCode.usage);
    expect(linked.stderr).toContain("runbook file 'docs/linked.yaml' is outside the repository");
    const missing = await run(["plan", "../nowhere.yaml", "--now", NOW], repo);
    expect(missing.code).toBe(ExitCode.usage);
    expect(missing.stderr).toContain("runbook file '../nowhere.yaml' is outside the repository");
    const notRunbook = await run(["plan", "inventory/base.yaml", "--now", NOW], repo);
    expect(notRunbook.code).toBe(ExitCode.usage);
    expect(notRunbook.stderr).toContain("'inventory/base.yaml' (inventory/base.yaml) is not a runbook of this repository");
    const noFile = await run(["plan", "runbooks/patchs.yaml", "--now", NOW], repo);
    expect(noFile.code).toBe(ExitCode.usage);
    expect(noFile.stderr).toContain("no runbook file 'runbooks/patchs.yaml': no such file");
  });
});

describe("steward plan output", () => {
  it("prints paths inside the current folder relative, others absolute", async () => {
    const inside = await run(["plan", "patches", "--now", NOW], repo);
    expect(inside.stdout).toMatch(/\nwrote plans\/patches-20261124T0130-[0-9a-f]{12}\.json\n/);
    const out = join(elsewhere, "plans");
    const away = await run(["plan", "patches", "--now", NOW, "--out", out], repo);
    expect(away.code).toBe(ExitCode.ok);
    const [json] = (await readdir(out)).filter((f) => f.endsWith(".json"));
    expect(away.stdout).toContain(`\nwrote ${join(out, json!)}\n`);
    expect(away.stdout).not.toContain("wrote ../");
  });

  it("refuses --now values whose plan it could not read back, and writes a plan at 9999-12-31 it can", async () => {
    for (const now of ["+200000-09-13T00:00:00.000Z", "+275760-09-13T00:00:00.000Z", "1999-12-31T23:59:59Z", "2026-11-24T01:30:00"]) {
      const r = await run(["plan", "patches", "--now", now, "--out", "never"], repo);
      expect(r.code, now).toBe(ExitCode.usage);
      expect(r.stderr, now).toContain(`--now '${now}'`);
    }
    expect(await written(join(repo, "never"))).toEqual([]);
    const last = await run(["plan", "patches", "--now", "9999-12-31T23:59:59.999Z", "--out", "last"], repo);
    expect(last.code).toBe(ExitCode.ok);
    const [json] = (await readdir(join(repo, "last"))).filter((f) => f.endsWith(".json"));
    expect(json).toMatch(/^patches-99991231T2359-[0-9a-f]{12}\.json$/);
    expect(parsePlan(await readFile(join(repo, "last", json!), "utf8"), json!).createdAt).toBe("9999-12-31T23:59:59.999Z");
  });

  it("refuses, located, a runbook whose window lasts billions of hours or opens only after 9999", async () => {
    await writeFile(join(repo, "runbooks/long.yaml"), "name: long\ntargets: group:prod\nwindow:\n  timezone: Europe/Berlin\n  days: [mon, tue, wed, thu, fri, sat, sun]\n  start: \"02:00\"\n  duration: 3000000000h\nsteps:\n  - kind: packages\n    name: updates\n    action: upgrade\n");
    await writeFile(join(repo, "runbooks/late.yaml"), "name: late\ntargets: group:prod\nwindow:\n  timezone: Europe/Berlin\n  days: [mon]\n  start: \"02:00\"\n  duration: 2h\n  not_before: 9999-12-31\nsteps:\n  - kind: packages\n    name: updates\n    action: upgrade\n");
    try {
      const validate = await run(["validate"], repo);
      expect(validate.code).toBe(ExitCode.invalidInput);
      expect(validate.stdout + validate.stderr).toMatch(/runbooks\/late\.yaml:\d+:\d+.*the window can never open: it would first open after 9999-12-31 \(UTC\), the last day a plan can name/);
      expect(validate.stdout + validate.stderr).toContain("hint: use a not_before on or before 9999-12-31, with a listed day that opens by then");
      await rm(join(repo, "runbooks/late.yaml"));
      // Durations longer than 366 days are refused where they are written, never a crash.
      const long = await run(["validate"], repo);
      expect(long.code).toBe(ExitCode.invalidInput);
      expect(long.stdout + long.stderr).toMatch(/runbooks\/long\.yaml:7:\d+: error: .*366 days/);
      const plan = await run(["plan", "long", "--now", NOW, "--out", "long"], repo);
      expect(plan.code).toBe(ExitCode.invalidInput);
    } finally {
      await rm(join(repo, "runbooks/long.yaml"));
      await rm(join(repo, "runbooks/late.yaml"), { force: true });
    }
  });
});

describe("help", () => {
  const readme = new URL("../../README.md", import.meta.url);
  for (const command of ["plan", "facts"]) {
    it(`steward ${command} --help lists each exit code it returns, each one the README's table knows`, async () => {
      const r = await run([command, "--help"], repo);
      const text = r.stdout + r.stderr;
      const listed = [...text.slice(text.indexOf("Exit codes")).matchAll(/^ {2}(\d+) {2}/gm)].map((m) => Number(m[1]));
      expect(listed).toEqual(command === "plan" ? [0, 2, 3, 6] : [0, 1, 2, 3, 6]);
      const table = await readFile(readme, "utf8");
      for (const code of listed) expect(table).toMatch(new RegExp(`^\\| ${code} \\| `, "m"));
      expect(Object.values(ExitCode)).toEqual(expect.arrayContaining(listed));
    });
  }
});
