import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import type { FactsResult } from "../../src/facts/types.ts";
import { parsePlan } from "../../src/plan/artifact.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";

/**
 * A host that lies about its packages: sandbox-02 gets an `apt` earlier in PATH that
 * lists the package `--config-file` from bookworm-security at a "version" that is a
 * path. apt-get would read such a name as an option; the host must not be trusted.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 244;
const PROJECT = resolve(import.meta.dirname, "../..");
const NOW = "2026-11-23T10:00:00Z";

const FORGED_APT = `#!/bin/sh
echo 'Listing...'
echo '--config-file/bookworm-security /tmp/steward-evil/1.0.1 amd64 [upgradable from: 1.0.0]'
`;

const RUNBOOK = `name: security
targets: group:sandbox
steps:
  - kind: packages
    name: updates
    action: upgrade
`;

async function steward(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd: PROJECT });
  return { code, stdout, stderr };
}

describe("a host reporting packages that break dpkg's grammar", () => {
  let dir: string;
  let state: FleetState;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-untrusted-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [PROJECT] });
    await mkdir(join(dir, "runbooks"), { recursive: true });
    await writeFile(join(dir, "runbooks/security.yaml"), RUNBOOK);
    const forge = await execInHost(state, "sandbox-02", ["sh", "-c", `cat > /usr/local/bin/apt <<'EOF'\n${FORGED_APT}EOF\nchmod 755 /usr/local/bin/apt`]);
    expect(forge.code, forge.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("fails the host's facts as unparsable, naming the section, the line and the rule", async () => {
    const facts = await steward(["facts", "--root", dir, "--cache"]);
    expect(facts.code, facts.stderr + facts.stdout).toBe(1);
    const cached = JSON.parse(await readFile(join(dir, ".steward/facts/sandbox-02.json"), "utf8")) as FactsResult;
    expect(cached).toMatchObject({
      host: "sandbox-02",
      ok: false,
      error: {
        kind: "unparsable",
        message: 'upgradable: line 2: apt package name "--config-file" is not valid (Debian Policy 5.6.1: at least two of a-z 0-9 + . -, starting with a letter or digit); the host\'s package facts are not trusted',
      },
    });
    expect(JSON.parse(await readFile(join(dir, ".steward/facts/sandbox-01.json"), "utf8"))).toMatchObject({ ok: true });
  });

  it("skips the host in the plan with that reason and plans nothing from it", async () => {
    const planned = await steward(["plan", "security", "--root", dir, "--now", NOW]);
    expect(planned.code, planned.stderr).toBe(0);
    const file = (await readdir(join(dir, "plans"))).find((f) => f.endsWith(".json"))!;
    const text = await readFile(join(dir, "plans", file), "utf8");
    const plan = parsePlan(text, file);
    expect(plan.hosts.map((h) => h.name)).toEqual(["sandbox-01"]);
    expect(plan.skipped).toEqual([
      {
        host: "sandbox-02",
        reason: "facts-failed",
        factsError: "unparsable",
        detail: expect.stringMatching(/^unparsable at \S+: upgradable: line 2: apt package name "--config-file" is not valid/),
      },
    ]);
    expect(text).not.toContain("/tmp/steward-evil");
    const markdown = await readFile(join(dir, "plans", file.replace(/\.json$/, ".md")), "utf8");
    expect(markdown).toMatch(/\| sandbox-02 \| facts-failed \| unparsable at .*--config-file/);
  });
});
