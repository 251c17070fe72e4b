import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatherHostFacts } from "../../src/facts/gather.ts";
import { hostTarget } from "../../src/facts/target.ts";
import type { FactsResult, HostFacts } from "../../src/facts/types.ts";
import type { Inventory } from "../../src/model/types.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { CommandTimeoutError } from "../../src/transport/errors.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { HostTarget, Transport } from "../../src/transport/types.ts";
import { validateRepository } from "../../src/validate/index.ts";

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 218;
const PROJECT = resolve(import.meta.dirname, "../..");

function okFacts(result: FactsResult | undefined): HostFacts {
  if (!result?.ok) throw new Error(`expected facts, got ${JSON.stringify(result)}`);
  return result.facts;
}

/** Runs a shell command as root on a sandbox host, failing the test when it fails. */
async function onHost(state: FleetState, host: string, command: string): Promise<void> {
  const r = await execInHost(state, host, ["sh", "-c", command]);
  expect(r.code, r.stderr).toBe(0);
}

/**
 * What a host's own configuration prints or says: the login shell's startup files and
 * /etc/os-release are the host's, not the facts script's, and are judged as such.
 */
describe("facts and what a host's configuration prints", () => {
  let dir: string;
  let state: FleetState;
  let inventory: Inventory;
  let transport: Transport;
  let targets: HostTarget[];

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-login-shell-")), "fleet");
    state = await upFleet({ dir, count: 2, subnet: SUBNET, hide: [PROJECT] });
    ({ inventory } = await validateRepository(state.dir));
    transport = createTransport({ knownHostsFiles: [state.knownHosts], connectRetries: 0, connectTimeoutMs: 5_000 });
    targets = [...inventory.hosts.values()].map((h) => hostTarget(inventory, h));
  });

  afterAll(async () => {
    await transport?.close();
    if (!dir) return;
    await downFleet(dir);
    await rm(dirname(dir), { recursive: true, force: true });
  });

  it("a ~/.bashrc banner is recorded as a warning, not read as facts nor taken for a forgery, and stays out of app versions", async () => {
    const host = targets[0]!;
    const banner = "Welcome to prod! Authorised use only.\n";
    // Before Debian's "not interactive: return", as such lines usually are; bash reads
    // ~/.bashrc for commands run over ssh. One line to stdout, one to stderr, one without a newline.
    await onHost(state, host.name, `printf '%s\\n' "echo '${banner.trim()}'" "echo 'stderr noise' >&2" "printf 'no newline '" > /home/steward/.bashrc && chown steward: /home/steward/.bashrc`);
    try {
      // The transport passes the shell's output on as the command's, and still finds the
      // wrapper's PID after it: a timed-out command's whole process tree is killed.
      const session = await transport.connect(host);
      expect(await session.exec("echo out")).toMatchObject({ stdout: `${banner}no newline out\n`, stderr: "stderr noise\n" });
      const hung = await session.exec("sleep 307 & sleep 307", { timeoutMs: 500, check: false }).catch((e: unknown) => e);
      expect(hung).toBeInstanceOf(CommandTimeoutError);
      const left = await execInHost(state, host.name, ["sh", "-c", "pgrep -fx 'sleep 307' || true"]);
      expect(left.stdout).toBe("");
      const result = await gatherHostFacts(host, { transport, apps: () => [{ app: "demo", current: "echo 1.2.3", available: "printf '%s\\n' 1.2.4 1.3.0" }] });
      const facts = okFacts(result);
      const printed = Buffer.byteLength(`${banner}no newline `);
      expect(facts.warnings).toEqual([`the login shell printed ${printed} bytes before the facts script started (e.g. from ~/.bashrc); they were not read as facts`]);
      expect(facts.os.id).toBe("debian");
      expect(facts.installed.length).toBeGreaterThan(50);
      expect(facts.apps?.["demo"]).toEqual({ current: "1.2.3", available: ["1.2.4", "1.3.0"] });
      expect(JSON.stringify(result)).not.toContain("Welcome");
      // Without the banner there is nothing to say.
      const other = okFacts(await gatherHostFacts(targets[1]!, { transport }));
      expect(other.warnings ?? []).not.toContainEqual(expect.stringMatching(/login shell/));
    } finally {
      await onHost(state, host.name, "rm -f /home/steward/.bashrc");
    }
  });

  it("refuses a host whose os-release carries bidi controls, naming the field and not the text", async () => {
    const host = targets[1]!;
    await onHost(state, host.name, "cp --remove-destination \"$(readlink -f /etc/os-release)\" /etc/os-release.steward-test && sed -i 's/^PRETTY_NAME=.*/PRETTY_NAME=\"Debian \\xe2\\x80\\xae\\x75\\x6e\\x65\\x76\\x65 | @admin\"/' /etc/os-release.steward-test && mv /etc/os-release /etc/os-release.saved && mv /etc/os-release.steward-test /etc/os-release");
    try {
      const result = await gatherHostFacts(host, { transport });
      expect(result).toMatchObject({ ok: false, error: { kind: "unparsable", message: "facts do not pass schemas/facts.schema.json: facts/os/prettyName: must not contain control or format characters (such as bidi controls)" } });
      expect(JSON.stringify(result)).not.toMatch(/[\u202e]|@admin/);
    } finally {
      await onHost(state, host.name, "rm -f /etc/os-release && mv /etc/os-release.saved /etc/os-release");
    }
  });
});
