import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { NOT_EXECUTABLE } from "../../src/steps/executors.ts";

/**
 * `steward run` refuses what apply would refuse before it gathers facts or writes a
 * plan: the fixture's hosts (10.0.x.x behind a bastion) do not exist, so any attempt
 * to reach them would fail differently, and plans/ must stay empty.
 */

const repoRoot = new URL("../../", import.meta.url).pathname;

const SECRET = `name: needs-secret
targets: group:db
vars:
  db_password: { env: DB_PASSWORD }
steps:
  - kind: command
    name: uses the secret
    command: test -n {{vars.db_password}}
`;

const COMPLIANCE = `name: audit
targets: group:web
steps:
  - kind: compliance
    name: baseline
    rules:
      - id: ssh-no-root-login
        description: Root cannot log in over SSH.
        severity: high
        check:
          type: sshd
          setting: permitrootlogin
          value: "no"
`;

let root: string;

async function steward(env: NodeJS.ProcessEnv, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { PATH: process.env["PATH"] ?? "", ...env }, cwd: root };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const written = async (): Promise<string[]> => [...(await readdir(join(root, "plans")).catch(() => [])), ...(await readdir(join(root, ".steward")).catch(() => []))];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "steward-run-refusals-"));
  await cp(join(repoRoot, "test/fixtures/base"), root, { recursive: true });
  await writeFile(join(root, "runbooks/needs-secret.yaml"), SECRET);
  await writeFile(join(root, "runbooks/audit.yaml"), COMPLIANCE);
  // A host that refuses connections at once (nothing listens on port 9 of loopback).
  await writeFile(join(root, "inventory/local.yaml"), "hosts:\n  local-01:\n    address: 127.0.0.1\n    port: 9\n    connect_timeout: 2s\n");
  await writeFile(join(root, "runbooks/touch.yaml"), "name: touch\ntargets: host:local-01\nsteps:\n  - kind: command\n    name: touch\n    command: touch /tmp/x\n");
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("steward run refuses before it gathers or writes anything", () => {
  it("a secret a step reads that is not set: exit 6 naming the step and variable, and no plan written", async () => {
    const r = await steward({}, "run", "needs-secret");
    expect(r.code, r.stdout + r.stderr).toBe(6);
    expect(r.stderr).toContain("step 'uses the secret' reads `vars.db_password`, which is { env: DB_PASSWORD }, but DB_PASSWORD is not set in the environment; nothing was planned or applied");
    expect(r.stdout).toBe("");
    expect(await written()).toEqual([]);
  });

  it("a secret set to the empty string is named as empty, not as unset", async () => {
    const r = await steward({ DB_PASSWORD: "" }, "run", "needs-secret");
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("but DB_PASSWORD is set but empty; nothing was planned or applied");
    expect(r.stderr).not.toContain("not set");
    expect(await written()).toEqual([]);
  });

  it("a bad --limit is still a usage error first (exit 2)", async () => {
    const r = await steward({}, "run", "needs-secret", "--limit", "web-01");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--limit 'web-01' matches 1 host \(web-01\), none targeted by runbook needs-secret/);
    expect(await written()).toEqual([]);
  });

  it.skipIf(NOT_EXECUTABLE.compliance === undefined)("a step kind that cannot be applied yet: exit 3 naming the step, and no plan written", async () => {
    const r = await steward({}, "run", "audit");
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stderr).toContain("step 'baseline': compliance steps cannot be applied yet");
    expect(r.stderr).toContain("nothing was planned or applied");
    expect(await written()).toEqual([]);
  });
});

describe("steward run when apply stops after the plan was written", () => {
  it("keeps the plan and says where it is and why", async () => {
    // runs/ cannot be made: apply stops after planning, before any host is touched.
    await writeFile(join(root, "runs"), "not a folder\n");
    try {
      const r = await steward({}, "run", "touch");
      expect(r.code, r.stdout + r.stderr).toBe(6);
      const plan = /^wrote (plans\/touch-\S+\.json)$/m.exec(r.stdout)?.[1];
      expect(plan).toBeDefined();
      expect(await readdir(join(root, "plans"))).toContain(plan!.slice("plans/".length));
      expect(r.stderr).toContain(`steward run: the plan ${plan} was written before apply stopped, and is kept: apply it with \`steward apply ${plan}\` once the problem below is fixed, or delete it`);
    } finally {
      await rm(join(root, "runs"), { force: true });
      await rm(join(root, "plans"), { recursive: true, force: true });
      await rm(join(root, ".steward"), { recursive: true, force: true });
    }
  });
});
