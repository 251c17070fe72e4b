import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { compareDebianVersions } from "../../src/drivers/apt/version.ts";
import { readCachedFacts } from "../../src/facts/cache.ts";
import { gatherFacts } from "../../src/facts/gather.ts";
import { hostTarget } from "../../src/facts/target.ts";
import type { FactsResult, HostFacts } from "../../src/facts/types.ts";
import type { Inventory } from "../../src/model/types.ts";
import { downFleet, execInHost, injectFault, PROFILES, TEST_PACKAGES, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { Transport } from "../../src/transport/types.ts";
import { validateRepository } from "../../src/validate/index.ts";

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 211;
const PROJECT = resolve(import.meta.dirname, "../..");
const NAMES = ["steward-lib", "steward-demo-app", "steward-kernel-sim", "steward-broken"];

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
const validateFacts = ajv.compile(JSON.parse(readFileSync(join(PROJECT, "schemas/facts.schema.json"), "utf8")) as object);

function expectValid(result: FactsResult): void {
  expect(validateFacts(result), JSON.stringify(validateFacts.errors)).toBe(true);
}

function okFacts(result: FactsResult | undefined): HostFacts {
  if (!result?.ok) throw new Error(`expected facts, got ${JSON.stringify(result)}`);
  return result.facts;
}

/** Runs the real CLI entry point with captured output. */
async function steward(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: process.env, cwd: process.cwd() });
  return { code, stdout, stderr };
}

const newest = (name: string): string =>
  TEST_PACKAGES.filter((p) => p.name === name)
    .map((p) => p.version)
    .sort(compareDebianVersions)
    .pop() ?? "";

describe("facts from real sandbox hosts", () => {
  let dir: string;
  let state: FleetState;
  let inventory: Inventory;
  let transport: Transport;
  const targets = () => [...inventory.hosts.values()].map((h) => hostTarget(inventory, h));

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-facts-")), "fleet");
    state = await upFleet({ dir, count: 4, subnet: SUBNET, hide: [PROJECT] });
    ({ inventory } = await validateRepository(state.dir));
    // No connect retries: an unreachable host should fail at once, not after back-offs.
    transport = createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 0, connectTimeoutMs: 5_000 });
  });

  afterAll(async () => {
    await transport?.close();
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("reports each host's OS, versions and candidates as its profile says, valid against the schema", async () => {
    const cacheDir = join(dirname(dir), "cache");
    const results = await gatherFacts(targets(), { transport, services: ["ssh", "cron"], cacheDir });
    expect(results.map((r) => r.host)).toEqual(state.hosts.map((h) => h.name));
    for (const [i, host] of state.hosts.entries()) {
      const result = results[i]!;
      expectValid(result);
      const facts = okFacts(result);
      expect(facts.os).toMatchObject({ id: "debian", versionId: "12" });
      expect(facts.packageManager).toBe("apt");
      // No systemd in the sandbox: the state is unknown, not an error.
      expect(facts.services).toEqual({ cron: "unknown", ssh: "unknown" });
      expect(facts.disks.find((d) => d.mount === "/")?.sizeBytes).toBe(128 * 1024 * 1024);
      expect(facts.memory.totalBytes).toBeGreaterThan(facts.memory.availableBytes);
      expect(facts.load.cpus).toBeGreaterThanOrEqual(1);
      expect(facts.reboot).toEqual({ required: false, reasons: [] });
      for (const name of NAMES) {
        const version = PROFILES[host.profile]!.find((e) => e.startsWith(`${name}_`))!.slice(name.length + 1);
        expect(facts.installed.find((p) => p.name === name), `${host.name} ${name}`).toEqual({ name, version, arch: "all" });
        const candidate = facts.upgradable.find((p) => p.name === name);
        if (version === newest(name)) expect(candidate).toBeUndefined();
        else {
          // Every repository version above the installed one, newest first, when there is more than the candidate.
          const offered = TEST_PACKAGES.filter((p) => p.name === name && compareDebianVersions(p.version, version) > 0)
            .map((p) => p.version)
            .sort((a, b) => compareDebianVersions(b, a));
          expect(candidate).toEqual({
            name, arch: "all", from: version, to: newest(name), source: "unknown", security: false,
            ...(offered.length > 1 ? { versions: offered.map((v) => ({ version: v, source: "unknown", security: false })) } : {}),
          });
        }
      }
      expect(await readCachedFacts(cacheDir, host.name)).toEqual(result);
    }
    // Written by rename: no temporary file is left behind.
    expect((await readdir(cacheDir)).sort()).toEqual(state.hosts.map((h) => `${h.name}.json`).sort());
    // Different hosts differ: the profiles really are distinct.
    const libs = results.map((r) => okFacts(r).installed.find((p) => p.name === "steward-lib")?.version);
    expect(new Set(libs).size).toBe(4);
  });

  it("steward facts prints a table, honours --limit and exits 0 when every host answered", async () => {
    const { code, stdout, stderr } = await steward(["facts", "--root", state.dir, "--limit", "group:db,group:app"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^HOST\s+OS\s+PKGS\s+UPGRADABLE\s+REBOOT\s+DISK MAX$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["sandbox-01", "sandbox-02", "sandbox-04"]); // groups cycle db, app, web
    expect(lines[1]).toMatch(/^sandbox-01\s+debian 12\s+\d+\s+4\s+no\s+\d+%$/);
    const json = await steward(["facts", "--root", state.dir, "--limit", "sandbox-04", "--json"]);
    const parsed = JSON.parse(json.stdout) as FactsResult[];
    expect(parsed.map((r) => r.host)).toEqual(["sandbox-04"]);
    expectValid(parsed[0]!);
  });

  it("refreshes the lists through become only when asked", async () => {
    const [result] = await gatherFacts(targets().slice(0, 1), { transport, refresh: true });
    expectValid(result!);
    expect(okFacts(result).upgradable.map((p) => p.name)).toEqual(NAMES.slice().sort());
  });

  it("sees the reboot a kernel upgrade asks for", async () => {
    const upgrade = await execInHost(state, "sandbox-01", ["apt-get", "install", "-y", "-q", "steward-kernel-sim"]);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    const [result] = await gatherFacts(targets().slice(0, 1), { transport });
    const facts = okFacts(result);
    expect(facts.reboot).toEqual({ required: true, reasons: ["/var/run/reboot-required", "packages: steward-kernel-sim"] });
    expect(facts.installed.find((p) => p.name === "steward-kernel-sim")?.version).toBe("6.1.0");
    expect(facts.upgradable.find((p) => p.name === "steward-kernel-sim")).toBeUndefined();
  });

  it("reports an unreachable host and a broken package as values while the others succeed", async () => {
    await injectFault(state, "sandbox-02", "unreachable");
    await injectFault(state, "sandbox-03", "broken-package");
    // A new run: the pooled connection of the earlier tests would outlive sshd's stop.
    const fresh = createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 0, connectTimeoutMs: 5_000 });
    const results = await gatherFacts(targets(), { transport: fresh }).finally(() => fresh.close());
    for (const result of results) expectValid(result);
    const byHost = new Map(results.map((r) => [r.host, r]));
    expect(byHost.get("sandbox-02")).toMatchObject({ ok: false, error: { kind: "unreachable" } });
    const broken = okFacts(byHost.get("sandbox-03")).installed.find((p) => p.name === "steward-broken");
    expect(broken).toEqual({ name: "steward-broken", version: "1.0.1", arch: "all", status: "half-configured" });
    expect(byHost.get("sandbox-01")?.ok).toBe(true);
    expect(byHost.get("sandbox-04")?.ok).toBe(true);

    const cli = await steward(["facts", "--root", state.dir]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^sandbox-02\s+error: unreachable\s+\S/m);
    expect(cli.stdout).toMatch(/^sandbox-03\s+debian 12\s+\d+ \(1 broken\)/m);
  });
});
