import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { RunSecrets } from "../../src/core/secrets.ts";
import { appProbes } from "../../src/facts/apps.ts";
import { gatherFacts } from "../../src/facts/gather.ts";
import { hostTarget } from "../../src/facts/target.ts";
import type { FactsResult } from "../../src/facts/types.ts";
import { downFleet, execInHost, upFleet, type FleetState } from "../../src/sandbox/index.ts";
import { createTransport } from "../../src/transport/registry.ts";
import { validateRepository } from "../../src/validate/index.ts";

/**
 * One secret, from the environment through `{ env: REGISTRY_TOKEN }` in the inventory,
 * pushed through every output path steward has: a host that prints it back in its facts,
 * probes that echo it plain and encoded, a probe that fails with it on stderr, a probe
 * that times out while printing it (its error once carried the whole facts script, the
 * secret rendered in), and an error message that quotes it. Then every file steward wrote and
 * everything it printed is searched for every form of it.
 */

// Own subnet: test files run in parallel and every fleet needs its own addresses.
const SUBNET = 231;
const PROJECT = resolve(import.meta.dirname, "../..");
const NOW = "2026-11-30T00:00:00Z";
// Characters each encoding changes: quotes (JSON, shell), slash, plus, space and & (URL), _ (Markdown).
const SECRET = `Reg_t0ken "x/y" it's+ok&more`;

/** The forms to search for, written out independently of the code under test. */
const b64 = Buffer.from(SECRET).toString("base64");
const FORMS: Record<string, string> = {
  plain: SECRET,
  json: JSON.stringify(SECRET).slice(1, -1),
  url: encodeURIComponent(SECRET),
  base64: b64,
  "base64 unpadded": b64.replace(/=+$/, ""),
  // Any long run of the encoding, as `echo "$s" | base64` (with its newline) would print.
  "base64 prefix": b64.slice(0, 24),
  shell: `'${SECRET.replace(/'/g, `'\\''`)}'`,
  markdown: SECRET.replace(/[\\`*_[\]|<>~&]/g, "\\$&"),
  // A value cut short (an error quoting the first 80 characters of output) still shows its tail.
  "the value's tail": `s+ok&more`,
};

// current_version prints every encoding; the host has base64, od and awk, not python or jq.
const URL_ENCODE =
  "od -An -v -tu1 | awk '{ for (i = 1; i <= NF; i++) { c = $i + 0; if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 46 || c == 95 || c == 126 || c == 33 || c == 39 || c == 40 || c == 41 || c == 42) printf \"%c\", c; else printf \"%%%02X\", c } }'";
const RUNBOOK_LEAKY = `name: leaky
targets: group:sandbox
steps:
  - kind: app-upgrade
    name: echo every form
    app: echoer
    version: "^1"
    current_version: >-
      s={{vars.registry_token}};
      echo "echoer 1.0.0 plain=$s";
      printf 'b64=%s\\n' "$(printf '%s' "$s" | base64 -w0)";
      printf 'b64nl=%s\\n' "$(echo "$s" | base64 -w0)";
      printf 'json=%s\\n' "$(printf '%s' "$s" | sed 's/\\\\/\\\\\\\\/g; s/"/\\\\"/g')";
      printf 'url=%s\\n' "$(printf '%s' "$s" | ${URL_ENCODE})"
    available_versions: echo registry refused token {{vars.registry_token}} >&2; exit 3
    install: "true"
`;
const RUNBOOK_SLOW = `name: slow
targets: group:sandbox
steps:
  - kind: app-upgrade
    name: slow probe
    app: slowpoke
    version: "^1"
    current_version: echo slowpoke 1.0.0 {{vars.registry_token}}; sleep 60
    install: "true"
`;

interface Printed {
  code: number;
  stdout: string;
  stderr: string;
}

describe("a secret through every output path", () => {
  let base: string;
  let repo: string;
  let state: FleetState;
  const env: NodeJS.ProcessEnv = { REGISTRY_TOKEN: SECRET };
  const printed: Record<string, Printed> = {};

  async function steward(label: string, args: string[]): Promise<Printed> {
    let stdout = "";
    let stderr = "";
    const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd: repo };
    const result = { code: await main(args, io), stdout, stderr };
    printed[label] = result;
    return result;
  }

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "steward-secrets-"));
    state = await upFleet({ dir: join(base, "fleet"), count: 2, subnet: SUBNET, hide: [PROJECT] });
    repo = join(base, "repo");
    await mkdir(join(repo, "inventory"), { recursive: true });
    await mkdir(join(repo, "runbooks"));
    await copyFile(state.inventory, join(repo, "inventory/sandbox.yaml"));
    // The generated inventory names known_hosts relative to the fleet's folder, its repository root.
    await copyFile(state.knownHosts, join(repo, "known_hosts"));
    await writeFile(join(repo, "inventory/secrets.yaml"), "groups:\n  sandbox:\n    vars:\n      registry_token: { env: REGISTRY_TOKEN }\n");
    await writeFile(join(repo, "runbooks/leaky.yaml"), RUNBOOK_LEAKY);
    await writeFile(join(repo, "runbooks/slow.yaml"), RUNBOOK_SLOW);
    // A compromised host that learnt the secret prints it back in its facts.
    const name = `Debian ${b64} ${encodeURIComponent(SECRET)}`;
    const leak = await execInHost(state, "sandbox-01", ["sh", "-c", `sed -i '/^PRETTY_NAME=/d' /etc/os-release && printf 'PRETTY_NAME="%s"\\n' "$1" >> /etc/os-release`, "sh", name]);
    expect(leak.code, leak.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (!base) return;
    if (state) await downFleet(state.dir);
    await rm(base, { recursive: true, force: true });
  });

  it("the repository is valid and every probe reads the secret", async () => {
    const r = await steward("validate", ["validate"]);
    expect(r.code, r.stdout).toBe(0);
  });

  it("steward facts --cache --json: the host's echo is redacted in the output and the cache", async () => {
    const r = await steward("facts", ["facts", "--cache", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [first] = JSON.parse(r.stdout) as FactsResult[];
    if (!first?.ok) throw new Error(JSON.stringify(first));
    expect(first.facts.os.prettyName).toBe("Debian *** ***");
  });

  it("steward plan --gather: echoed, encoded and failing probes are redacted where they enter", async () => {
    const r = await steward("plan --gather", ["plan", "leaky", "--gather", "--now", NOW]);
    expect(r.code, r.stderr).toBe(0);
    const cached = JSON.parse(await readFile(join(repo, ".steward/facts/sandbox-01.json"), "utf8")) as FactsResult;
    if (!cached.ok) throw new Error(JSON.stringify(cached));
    const echoer = cached.facts.apps?.["echoer"];
    // Each line proves its probe ran and printed its form, which arrived as ***.
    expect(echoer?.current).toContain("echoer 1.0.0 plain=***");
    expect(echoer?.current).toMatch(/(^| )b64=\*\*\*( |$)/);
    expect(echoer?.current).toMatch(/(^| )b64nl=\*\*\*[A-Za-z0-9+/=]{0,4}( |$)/);
    expect(echoer?.current).toMatch(/(^| )json=\*\*\*( |$)/);
    expect(echoer?.current).toMatch(/(^| )url=\*\*\*( |$)/);
    expect(echoer?.error).toBe("available_versions: exit 3: registry refused token ***");
  });

  it("a probe that times out: its error names the probe, not its command", async () => {
    const { inventory, runbooks } = await validateRepository(repo);
    const secrets = new RunSecrets(env);
    secrets.registerRepository(inventory, runbooks);
    const slow = runbooks.find((r) => r.name === "slow")!;
    const transport = createTransport({ knownHostsFiles: [state.knownHosts], redactor: secrets.redactor, env });
    try {
      const probes = appProbes(slow, inventory, secrets);
      const [result] = await gatherFacts([hostTarget(inventory, inventory.hosts.get("sandbox-02")!)], {
        transport,
        timeoutMs: 3_000,
        cacheDir: join(repo, ".steward/facts"),
        apps: (target) => probes(target.name),
      });
      if (result?.ok !== true) throw new Error(`expected facts with a timed-out probe, got ${JSON.stringify(result)}`);
      // The probe runs apart from the facts script: it times out alone, and its error
      // names the probe, never its command text with the secret rendered in.
      expect(result.facts.apps?.["slowpoke"]?.error).toBe("current_version: sandbox-02: command timed out after 3000 ms and was killed: current_version probe of slowpoke");
      printed["gatherFacts result"] = { code: 0, stdout: JSON.stringify(result), stderr: "" };
    } finally {
      await transport.close();
    }
    // Plan from that cache: the timed-out host is skipped with its message.
    const r = await steward("plan", ["plan", "leaky", "--now", NOW, "--out", "plans-after-timeout"]);
    expect(r.code, r.stderr).toBe(0);
    const file = (await readdir(join(repo, "plans-after-timeout"))).find((f) => f.endsWith(".md"))!;
    expect(await readFile(join(repo, "plans-after-timeout", file), "utf8")).toContain("sandbox-02");
  }, 60_000);

  it("an error message that quotes the secret is redacted by the CLI", async () => {
    const r = await steward("unknown runbook", ["plan", SECRET]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no runbook is named '***'");
  });

  it("no form of the secret is in any file steward wrote or anything it printed", async () => {
    expect(Object.keys(printed).sort()).toEqual(["facts", "gatherFacts result", "plan", "plan --gather", "unknown runbook", "validate"]);
    const texts = new Map<string, string>();
    for (const [label, { stdout, stderr }] of Object.entries(printed)) texts.set(`${label} (printed)`, stdout + stderr);
    for (const entry of await readdir(repo, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) texts.set(join(entry.parentPath, entry.name), await readFile(join(entry.parentPath, entry.name), "utf8"));
    }
    const written = [...texts.keys()].map((path) => path.slice(repo.length + 1));
    // The walk saw what steward wrote: cache, both plans and the plan after the timeout.
    expect(written).toEqual(expect.arrayContaining([".steward/facts/sandbox-01.json", ".steward/facts/sandbox-02.json"]));
    expect(written.filter((p) => /^plans(-after-timeout)?\/.*\.(json|md)$/.test(p))).toHaveLength(4);
    for (const [where, text] of texts) {
      for (const [form, value] of Object.entries(FORMS)) expect(text.includes(value), `${form} form in ${where}: …${text.slice(text.indexOf(value) - 200, text.indexOf(value) + 100)}…`).toBe(false);
    }
    // The redaction marks are there: the paths really carried the secret.
    // (sandbox-02's cache was last written by the timed-out run, whose probe output was dropped.)
    expect(texts.get(join(repo, ".steward/facts/sandbox-01.json"))).toContain("***");
    expect([...texts.values()].join("\n").split("***").length).toBeGreaterThan(10);
  });
});
