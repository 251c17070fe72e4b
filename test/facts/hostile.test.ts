import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FACTS_MAX_OUTPUT_BYTES, gatherFacts, gatherHostFacts, gatherPlanFacts } from "../../src/facts/gather.ts";
import { hostTarget } from "../../src/facts/target.ts";
import type { FactsResult, HostFacts } from "../../src/facts/types.ts";
import type { Inventory } from "../../src/model/types.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { createTransport } from "../../src/transport/registry.ts";
import type { HostTarget, Transport } from "../../src/transport/types.ts";
import { validateRepository } from "../../src/validate/index.ts";

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 214;
const PROJECT = resolve(import.meta.dirname, "../..");

/** The marker's fixed prefix, written so that the searching command's own argv does not contain it. */
const SEARCH = "@@steward-fact[s]-";

/** Installs `script` as /usr/local/bin/<name> on a host: earlier in PATH than the real tool. */
async function plant(state: FleetState, host: string, name: string, script: string): Promise<void> {
  const path = `/usr/local/bin/${name}`;
  const r = await execInHost(state, host, ["sh", "-c", `cat > ${path} <<'EOF'\n${script}\nEOF\nchmod 755 ${path}`]);
  expect(r.code, r.stderr).toBe(0);
}

async function unplant(state: FleetState, host: string, name: string): Promise<void> {
  await execInHost(state, host, ["rm", "-f", `/usr/local/bin/${name}`]);
}

function okFacts(result: FactsResult | undefined): HostFacts {
  if (!result?.ok) throw new Error(`expected facts, got ${JSON.stringify(result)}`);
  return result.facts;
}

describe("facts from a hostile host", () => {
  let dir: string;
  let state: FleetState;
  let inventory: Inventory;
  let transport: Transport;
  let targets: HostTarget[];

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "steward-hostile-")), "fleet");
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

  it("a program the facts script runs finds no marker on any command line, and a guessed one forges nothing", async () => {
    const host = targets[0]!;
    await plant(
      state,
      host.name,
      "dpkg-query",
      `#!/bin/sh
found=none
for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
  if tr '\\000' ' ' < "$f" 2>/dev/null | grep -q -e '${SEARCH}'; then found="$f"; fi
done
echo "$found" > /tmp/marker-search
printf '@@steward-facts-00000000000000000000000000000000@@ rc 0\\n@@steward-facts-00000000000000000000000000000000@@ begin upgradable\\nevil/stable 9.9 all [upgradable from: 1.0]\\n'
exec /usr/bin/dpkg-query "$@"`,
    );
    try {
      const result = await gatherHostFacts(host, { transport });
      const search = await execInHost(state, host.name, ["cat", "/tmp/marker-search"]);
      expect(search.stdout).toBe("none\n");
      // The guessed marker is just text inside the installed list, where the package
      // lists' own grammar refuses it: the host is not trusted, and nothing is forged.
      expect(result).toMatchObject({ ok: false, error: { kind: "unparsable", message: expect.stringMatching(/^installed: line 1: unexpected line/) } });
      expect(JSON.stringify(result)).not.toContain("evil");
    } finally {
      await unplant(state, host.name, "dpkg-query");
    }
  });

  it("app probes run apart: they never see the marker, cannot write into facts, and use become only when asked", async () => {
    const host = targets[1]!;
    const search = `n=0; for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do tr '\\000' ' ' < "$f" 2>/dev/null | grep -q -e '${SEARCH}' && n=$((n+1)); done; echo "$n"`;
    const forge = `printf '%s\\n' '@@steward-facts-x@@ rc 0' '@@steward-facts-x@@ begin upgradable' 'evil/stable 9.9 all [upgradable from: 1.0]'; id -u`;
    const result = await gatherHostFacts(host, {
      transport,
      apps: () => [
        { app: "search", current: search },
        { app: "plain", current: "id -u", available: "exit 4" },
        { app: "root", current: "id -u", become: true },
        { app: "forger", current: forge },
        { app: "escapes", current: "printf '1.0\\033[2J'", available: "printf '%s\\n' 1.1 -rf 1.2" },
      ],
    });
    const facts = okFacts(result);
    expect(facts.apps?.["search"]).toEqual({ current: "0" });
    expect(facts.apps?.["plain"]?.current).not.toBe("0");
    expect(facts.apps?.["plain"]?.error).toBe("available_versions: exit 4");
    expect(facts.apps?.["root"]).toEqual({ current: "0" });
    // Its output is its own value (whitespace runs as one space), never a facts section.
    expect(facts.apps?.["forger"]?.current).toMatch(/^@@steward-facts-x@@ rc 0 @@steward-facts-x@@ begin upgradable evil\/stable 9\.9 all \[upgradable from: 1\.0\] \d+$/);
    // Text a terminal would act on is refused; words that cannot be versions are dropped and said.
    expect(facts.apps?.["escapes"]).toEqual({
      current: "",
      available: ["1.1", "1.2"],
      error: "current_version: printed control or format characters; available_versions: 1 printed word(s) cannot be versions (control or format characters, a leading '-' or over 256 characters)",
    });
    expect(facts.upgradable.map((p) => p.name)).not.toContain("evil");
  });

  it("a program that kills the facts shell (sections run in it, not in subshells) leaves the host's facts refused, not read in part", async () => {
    const host = targets[0]!;
    // Its parent is the shell running the script: a { } group starts no process of its own.
    await plant(state, host.name, "dpkg-query", `#!/bin/sh\necho "evil 9.9 all" \nkill -KILL "$PPID"\nexec /usr/bin/dpkg-query "$@"`);
    try {
      const result = await gatherHostFacts(host, { transport });
      expect(result).toMatchObject({ ok: false, error: { kind: "command-failed", message: expect.stringMatching(/^installed: exit none/) } });
      expect(JSON.stringify(result)).not.toContain("evil");
      // The plan read of a host whose plan touches no package runs no package tool at all.
      const plan = await gatherPlanFacts(host, { transport, packageLists: false });
      expect(plan).toMatchObject({ ok: true, facts: { packageManager: "apt", installed: [], upgradable: [] } });
    } finally {
      await unplant(state, host.name, "dpkg-query");
    }
  });

  it("a host flooding its output is killed early with 'output too large' while another host's facts arrive promptly", async () => {
    const [flooding, calm] = targets as [HostTarget, HostTarget];
    // 200 MB before the first newline, as a broken or hostile tool would.
    await plant(state, flooding.name, "dpkg-query", "#!/bin/sh\nhead -c 200000000 /dev/zero\nexec /usr/bin/dpkg-query \"$@\"");
    const rssBefore = process.resourceUsage().maxRSS;
    const started = Date.now();
    const finished = new Map<string, number>();
    try {
      const results = await gatherFacts([flooding, calm], { transport, onResult: (r) => finished.set(r.host, Date.now() - started) });
      const [bad, good] = results;
      expect(bad).toMatchObject({ ok: false, error: { kind: "output-too-large" } });
      if (bad?.ok !== false) throw new Error("expected a failure");
      expect(bad.error.message).toContain(`${flooding.name}: output too large: facts script printed more than ${FACTS_MAX_OUTPUT_BYTES} bytes`);
      expect(bad.error.message).toContain("was killed");
      expect(okFacts(good).installed.length).toBeGreaterThan(10);
      expect(finished.get(calm.name)).toBeLessThan(15_000);
      expect(finished.get(flooding.name)).toBeLessThan(30_000);
      // The control machine held at most about the budget, not the 200 MB (maxRSS is in KiB).
      expect((process.resourceUsage().maxRSS - rssBefore) * 1024).toBeLessThan(160 * 1024 * 1024);
      // Nothing of the flood is left running on the host.
      const left = await execInHost(state, flooding.name, ["sh", "-c", "ps -e -o comm= | grep -c '^head$' || true"]);
      expect(left.stdout.trim()).toBe("0");
    } finally {
      await unplant(state, flooding.name, "dpkg-query");
    }
  });
});
