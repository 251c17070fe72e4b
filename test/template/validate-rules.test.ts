import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/core/diagnostic.ts";
import { validateRepository } from "../../src/validate/index.ts";

/** The template rules of `steward validate`, on a copy of test/fixtures/base/ with one runbook added. */
const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const NOW = new Date("2026-11-22T12:00:00Z");
const work = await mkdtemp(join(tmpdir(), "steward-tpl-rules-"));
afterAll(() => rm(work, { recursive: true, force: true }));

let count = 0;
async function diagnosticsFor(command: string, extra = ""): Promise<Diagnostic[]> {
  const repo = join(work, String(count++));
  await cp(join(fixtures, "base"), repo, { recursive: true });
  await writeFile(join(repo, "runbooks/zz.yaml"), `name: zz\ntargets: group:web\n${extra}steps:\n  - kind: command\n    name: run\n    command: ${JSON.stringify(command)}\n`);
  const result = await validateRepository(repo, { now: NOW });
  return result.diagnostics.filter((d) => d.file === "runbooks/zz.yaml");
}
const brief = (list: Diagnostic[]): string[] => list.map((d) => `${d.line}:${d.column} ${d.severity} ${d.rule}`);

describe("template rules in steward validate", () => {
  it("accepts a read guarded by #if of the same variable, though no host sets it", async () => {
    expect(await diagnosticsFor("{{#if vars.http_proxy}}export http_proxy={{vars.http_proxy}}; {{/if}}apt-get update")).toEqual([]);
  });

  it("still refuses the same read unguarded", async () => {
    expect(brief(await diagnosticsFor("export http_proxy={{vars.http_proxy}}"))).toEqual(["6:35 error template/unknown-variable"]);
  });

  it("warns about raw outputs inside #each and #with too", async () => {
    const found = await diagnosticsFor("{{#each vars.list}}{{{this}}} {{/each}}{{#with vars.w}}{{{x}}}{{/with}}", "vars:\n  list: [a, b]\n  w: { x: y }\n");
    expect(brief(found)).toEqual(["9:34 warning template/unquoted", "9:70 warning template/unquoted"]);
    expect(found[0]!.message).toBe("`{{{this}}}` reaches the shell without quoting");
  });

  it("refuses a block that opens a quote on one branch", async () => {
    const found = await diagnosticsFor('echo {{#if vars.q}}"{{/if}}{{host.name}}', "vars:\n  q: 1\n");
    expect(brief(found)).toEqual(["8:20 error template/quoted-context"]);
    expect(found[0]!.message).toContain("a branch of {{#if}} ends inside double quotes");
  });

  it("reports a leading '-' only on the hosts whose value has one", async () => {
    const repo = join(work, "dash");
    await cp(join(fixtures, "base"), repo, { recursive: true });
    await writeFile(join(repo, "inventory/dash.yaml"), "hosts:\n  web-03:\n    address: 10.0.1.3\n    groups: [web]\n    vars: { pattern: --version }\n");
    await writeFile(join(repo, "runbooks/zz.yaml"), "name: zz\ntargets: group:web\nvars:\n  pattern: ntp.example\nsteps:\n  - kind: command\n    name: run\n    command: grep -q {{vars.pattern}} /etc/hosts && grep -q -- {{vars.pattern}} /etc/hosts\n");
    const found = (await validateRepository(repo, { now: NOW })).diagnostics.filter((d) => d.file === "runbooks/zz.yaml");
    expect(brief(found)).toEqual(["8:22 error template/leading-dash"]);
    expect(found[0]!.message).toBe("`{{vars.pattern}}` starts with '-' on web-03, where the command reads options");
  });
});
