import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import type { FactsResult } from "../../src/facts/types.ts";

/**
 * A pull request adds a `transport: local` host and a probe that prints the
 * environment. Checked out in a real git repository and run through the CLI with CI's
 * credentials in the environment: refused unless enabled from outside the repository,
 * and even then the probe sees none of them and nothing steward writes or prints holds one.
 */

const PROJECT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

const TOKEN = "ghs_pr0beReadsTheRunnerToken0123456789AB";
const CREDENTIALS: NodeJS.ProcessEnv = {
  GITHUB_TOKEN: TOKEN,
  SSH_AUTH_SOCK: "/tmp/ssh-agent-of-the-runner.sock",
  DEPLOY_PASSWORD: "deploy-password-of-the-runner",
  STEWARD_SSH_PASSPHRASE: "passphrase-of-the-runner",
};
const SECRET_VALUES = [TOKEN, "deploy-password-of-the-runner", "passphrase-of-the-runner"];

const INVENTORY = `hosts:
  controller:
    address: localhost
    transport: local
`;
const RUNBOOK = `name: self-update
targets: all
steps:
  - kind: app-upgrade
    name: env probe
    app: env-probe
    version: "^1"
    current_version: echo 1.0.0; env
    available_versions: echo 1.1.0
    install: "true"
  - kind: app-upgrade
    name: parent probe
    app: parent-probe
    version: "^1"
    current_version: echo 1.0.0; tr '\\0' '\\n' < /proc/$PPID/environ | grep '^GITHUB_TOKEN='
    install: "true"
`;

let repo: string;
beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), "steward-local-"));
  await mkdir(join(repo, "inventory"));
  await mkdir(join(repo, "runbooks"));
  await writeFile(join(repo, "inventory/hosts.yaml"), INVENTORY);
  await writeFile(join(repo, "runbooks/self-update.yaml"), RUNBOOK);
  const git = (...args: string[]) => run("git", ["-C", repo, "-c", "user.name=pr-author", "-c", "user.email=pr@example.invalid", ...args]);
  await git("init", "-q");
  await git("add", ".");
  await git("commit", "-q", "-m", "add a local host and its probes");
});
afterAll(() => rm(repo, { recursive: true, force: true }));

/** The CLI entry with injected IO and the given environment. */
async function steward(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd: repo };
  return { code: await main(args, io), stdout, stderr };
}

/** Every file under `dir`, with its text. */
async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(path, await readFile(path, "latin1"));
  }
  return out;
}

describe("transport: local from a pull request", () => {
  it("is flagged by validate", async () => {
    const r = await steward(["validate"], {});
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain("inventory/hosts.yaml:4:16: warning: host `controller` uses transport: local");
    expect(r.stdout).toContain("[inventory/local-transport]");
  });

  it("is refused without --allow-local, saying how to enable it, and runs nothing", async () => {
    const env = { ...process.env, ...CREDENTIALS };
    const facts = await steward(["facts", "--cache", "--json"], env);
    expect(facts.code).toBe(1);
    const [result] = JSON.parse(facts.stdout) as FactsResult[];
    expect(result).toMatchObject({ host: "controller", ok: false, error: { kind: "auth-failed" } });
    expect(!result?.ok && result?.error.message).toMatch(/transport: local is disabled: .*pass --allow-local or set STEWARD_ALLOW_LOCAL=1/);

    const plan = await steward(["plan", "self-update", "--gather", "--now", "2026-11-30T00:00:00Z"], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("facts: gathered from 0 of 1 hosts");
    const json = (await readdir(join(repo, "plans"))).find((f) => f.endsWith(".json"))!;
    expect(await readFile(join(repo, "plans", json), "utf8")).toContain("transport: local is disabled");
    // STEWARD_ALLOW_LOCAL=0 is not a yes.
    expect((await steward(["facts"], { ...env, STEWARD_ALLOW_LOCAL: "0" })).code).toBe(1);
    expect((await steward(["plan", "self-update", "--allow-local"], env)).code).toBe(2);
  });

  it("when enabled, runs the probes with a minimal environment, and no credential reaches any output", async () => {
    // The real executable, so the steward process itself holds the credentials a probe could read.
    const env = { ...process.env, ...CREDENTIALS };
    const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      run(process.execPath, [join(PROJECT, "bin/steward.js"), ...args], { cwd: repo, env: { ...env, ...extra } }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const facts = await cli(["facts", "--cache", "--json", "--allow-local"]);
    const plan = await cli(["plan", "self-update", "--gather", "--allow-local", "--now", "2026-11-30T00:00:00Z", "--out", "plans-allowed"]);
    const byEnv = await cli(["plan", "self-update", "--gather", "--now", "2026-11-30T00:00:00Z", "--out", "plans-env"], { STEWARD_ALLOW_LOCAL: "1" });
    for (const r of [facts, plan, byEnv]) expect("code" in r ? r.code : 0, r.stderr).toBe(0);
    expect(plan.stdout).toContain("facts: gathered from 1 of 1 hosts");
    expect(byEnv.stdout).toContain("facts: gathered from 1 of 1 hosts");

    const cached = JSON.parse(await readFile(join(repo, ".steward/facts/controller.json"), "utf8")) as FactsResult;
    if (!cached.ok) throw new Error(JSON.stringify(cached));
    const seen = cached.facts.apps?.["env-probe"]?.current ?? "";
    // A probe's output is kept as one line, whitespace runs as one space: the words after the version are NAME=value pairs.
    const names = seen.split(" ").slice(1).map((line) => line.split("=")[0]).filter((name) => name !== "" && name !== "_" && name !== "PWD" && name !== "SHLVL" && name !== "OLDPWD");
    // bash sets PWD, SHLVL and _ itself; everything else came from steward, and only these may.
    expect(names.every((name) => ["PATH", "HOME", "LANG", "LC_ALL", "USER", "LOGNAME", "TMPDIR", "SHELL"].includes(name!)), seen).toBe(true);
    expect(names).toContain("PATH");
    // A probe can still read the steward process's own environment; what it prints is redacted.
    expect(cached.facts.apps?.["parent-probe"]?.current).toContain("GITHUB_TOKEN=***");

    const outputs = [facts.stdout, facts.stderr, plan.stdout, plan.stderr, byEnv.stdout, byEnv.stderr];
    const files = await filesUnder(repo);
    expect([...files.keys()].some((f) => f.includes("plans-allowed"))).toBe(true);
    for (const value of SECRET_VALUES) {
      for (const text of outputs) expect(text).not.toContain(value);
      for (const [file, text] of files) expect(text, file).not.toContain(value);
    }
  }, 60_000);
});
