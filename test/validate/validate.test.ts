import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/core/diagnostic.ts";
import { validateRepository } from "../../src/validate/index.ts";

const root = new URL("../../", import.meta.url).pathname;
const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const NOW = new Date("2026-11-22T12:00:00Z");
const work = await mkdtemp(join(tmpdir(), "steward-validate-"));
afterAll(() => rm(work, { recursive: true, force: true }));

const show = (list: Diagnostic[]): string => list.map((d) => `${d.file}:${d.line}:${d.column} ${d.rule} ${d.message}`).join("\n");

/** A copy of test/fixtures/base/ with extra files written into it. */
async function repoWith(name: string, files: Record<string, string>): Promise<string> {
  const repo = join(work, name);
  await cp(join(fixtures, "base"), repo, { recursive: true });
  for (const [path, text] of Object.entries(files)) await writeFile(join(repo, path), text);
  return repo;
}

// Two files, eight independent mistakes. None is a schema error in the inventory, so
// every check that needs the merged inventory still runs.
const INVENTORY = `hosts:
  web-09:
    address: 10.0.1.9
    groups: [wbe]
    via: bastion-1
    vars:
      api_token: s3cr3t-value
`;
const RUNBOOK = `name: several-mistakes
targets: group:web & !tag:canery
window:
  timezone: Europe/Berln
  days: [tue]
  start: "02:00"
  duration: 2h
rollout:
  waves: [2, 1]
steps:
  - kind: command
    name: show
    command: echo {{vars.app_prot}}
  - kind: command
    name: show
    command: uptime
`;
const EXPECTED: Array<[string, number, number, string]> = [
  ["inventory/zz-mistakes.yaml", 4, 14, "inventory/unknown-group"],
  ["inventory/zz-mistakes.yaml", 5, 10, "inventory/unknown-host"],
  ["inventory/zz-mistakes.yaml", 7, 18, "secrets/inline"],
  ["runbooks/zz-mistakes.yaml", 2, 23, "selector/unknown-name"],
  ["runbooks/zz-mistakes.yaml", 4, 13, "window/unknown-timezone"],
  ["runbooks/zz-mistakes.yaml", 9, 14, "rollout/waves-not-increasing"],
  ["runbooks/zz-mistakes.yaml", 13, 21, "template/unknown-variable"],
  ["runbooks/zz-mistakes.yaml", 15, 11, "steps/duplicate-name"],
];

describe("validateRepository", () => {
  it("accepts the repository's own inventory and runbooks without an error or a warning", async () => {
    const result = await validateRepository(root, { now: NOW });
    expect(result.diagnostics, show(result.diagnostics)).toEqual([]);
    expect(result.errors).toBe(0);
    expect(result.diagnostics.map((d) => d.severity)).not.toContain("error");
    expect(result.files).toBeGreaterThan(0);
  });

  it("reports every mistake across files, not only the first", async () => {
    const repo = await repoWith("several", { "inventory/zz-mistakes.yaml": INVENTORY, "runbooks/zz-mistakes.yaml": RUNBOOK });
    const result = await validateRepository(repo, { now: NOW });
    const ours = result.diagnostics.filter((d) => d.file.includes("zz-mistakes"));
    for (const [file, line, column, rule] of EXPECTED) {
      expect(
        ours.some((d) => d.file === file && d.line === line && d.column === column && d.rule === rule),
        `${file}:${line}:${column} ${rule} missing; got:\n${show(ours)}`,
      ).toBe(true);
    }
    expect(ours.filter((d) => d.severity === "error").length, show(ours)).toBe(EXPECTED.length);
    expect(result.errors).toBeGreaterThanOrEqual(EXPECTED.length);
  });

  it("keeps reporting other files when one file cannot be parsed or fails its schema", async () => {
    const repo = await repoWith("mixed", {
      "inventory/zz-broken.yaml": "hosts:\n  web-09:\n    address: \"10.0.1.9\n",
      "runbooks/zz-bad-schema.yaml": "name: bad-schema\ntargets: group:web\nsteps: []\n",
      "runbooks/zz-bad-selector.yaml": "name: bad-selector\ntargets: (group:web\nsteps:\n  - kind: command\n    name: a\n    command: uptime\n",
    });
    const result = await validateRepository(repo, { now: NOW });
    const rules = result.diagnostics.map((d) => `${d.file} ${d.rule}`);
    expect(rules, show(result.diagnostics)).toEqual(
      expect.arrayContaining(["inventory/zz-broken.yaml yaml/missing-char", "runbooks/zz-bad-schema.yaml schema/too-few", "runbooks/zz-bad-selector.yaml selector/syntax"]),
    );
    // base has three YAML files; the broken one counts although it never parsed.
    expect(result.files).toBe(6);
  });

  it("reports a host's schema error without echoes from the checks of the whole host", async () => {
    const repo = await repoWith("no-echo", {
      "inventory/zz.yaml": 'hosts:\n  web-09:\n    address: 10.0.1.9\n    host_keys: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAUqZXZTPdUyhWeyIsDUlsE/kRSMMZLgqRNq8KxNmoRg"\n  web-10:\n    address: 10.0.1.10\n    via: web-09\n',
    });
    const result = await validateRepository(repo, { now: NOW });
    const inFile = result.diagnostics.filter((d) => d.file === "inventory/zz.yaml").map((d) => `${d.line}:${d.column} ${d.rule}`);
    // web-09 is cut for its host_keys but still exists: web-10's via is no unknown host; web-10 itself has no key on record.
    expect(inFile, show(result.diagnostics)).toEqual(["4:16 schema/wrong-type", "5:3 host-keys/none"]);
  });

  it("sorts diagnostics by file and position, and returns the same list on every run", async () => {
    const repo = await repoWith("sorted", { "inventory/zz-mistakes.yaml": INVENTORY, "runbooks/zz-mistakes.yaml": RUNBOOK });
    const first = await validateRepository(repo, { now: NOW });
    const second = await validateRepository(repo, { now: NOW });
    expect(second.diagnostics).toEqual(first.diagnostics);
    for (let i = 1; i < first.diagnostics.length; i++) {
      const a = first.diagnostics[i - 1]!;
      const b = first.diagnostics[i]!;
      const order = a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule) || a.message.localeCompare(b.message);
      expect(order, `${a.file}:${a.line}:${a.column} before ${b.file}:${b.line}:${b.column}`).toBeLessThanOrEqual(0);
    }
  });

  it("gives every diagnostic of the corpus a rule, a message and a position of at least 1:1, and never throws", async () => {
    const names = (await readdir(join(fixtures, "invalid"))).filter((n) => /\.ya?ml$/.test(n)).sort();
    const extra: Record<string, string> = {
      "empty.yaml": "",
      "list.yaml": "- a\n- b\n",
      "null-steps.yaml": "name: x\ntargets: all\nsteps: [null]\n",
      "blank-selector.yaml": "name: x\ntargets: '   '\nsteps:\n  - kind: command\n    name: a\n    command: a\n",
      "self-alias.yaml": "a: &a [*a]\n",
      "partial-template.yaml": "name: x\ntargets: group:web\nsteps:\n  - kind: command\n    name: a\n    command: '{{#each vars.x}}{{/each}} {{@root.vars.nope}}'\n",
    };
    const cases: Array<[string, string, string]> = [];
    for (const name of names) {
      const text = await readFile(join(fixtures, "invalid", name), "utf8");
      cases.push([name, /^# target: inventory$/m.test(text) ? "inventory" : "runbooks", text]);
    }
    for (const [name, text] of Object.entries(extra)) cases.push([name, "runbooks", text], [`inv-${name}`, "inventory", text]);
    for (const [name, folder, text] of cases) {
      const repo = await repoWith(`all-${folder}-${name}`, { [`${folder}/zz-case.yaml`]: text });
      const result = await validateRepository(repo, { now: NOW });
      for (const d of result.diagnostics) {
        expect(d.line, `${name}: ${d.rule}`).toBeGreaterThanOrEqual(1);
        expect(d.column, `${name}: ${d.rule}`).toBeGreaterThanOrEqual(1);
        expect(d.rule, name).toMatch(/^[a-z-]+\/[a-z0-9-]+$/);
        expect(d.message.length, `${name}: ${d.rule}`).toBeGreaterThan(0);
      }
    }
  });
});
