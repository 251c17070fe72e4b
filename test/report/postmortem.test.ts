import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runEngine } from "../../src/apply/engine.ts";
import { readJournal } from "../../src/apply/journal-replay.ts";
import { RunSecrets } from "../../src/core/secrets.ts";
import { runPostmortem } from "../../src/report/postmortem/command.ts";
import { renderPostmortem } from "../../src/report/postmortem/render.ts";
import { isGenerated, postmortemPath, writePostmortem } from "../../src/report/postmortem/write.ts";
import { FakeFleet, newJournal, rolloutPlan } from "../apply/fixtures.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A run of 6 hosts in 2 waves by the real engine and journal; web-02's failing step gets an exit code and an output tail. */
async function run(scripts: ConstructorParameters<typeof FakeFleet>[1], haltsAt = 3) {
  const plan = rolloutPlan({ hosts: Array.from({ length: 6 }, (_, i) => ({ name: `web-0${i + 1}`, wave: i < 2 ? 0 : 1 })), haltsAt });
  const dir = await mkdtemp(join(tmpdir(), "steward-postmortem-"));
  dirs.push(dir);
  const journal = await newJournal(plan, "run-1", dir);
  const results = await runEngine({ plan, journal, runHost: new FakeFleet(plan, scripts).runHost });
  for (const h of results.hosts) {
    for (const s of h.steps) {
      if (s.outcome !== "failed") continue;
      s.exitCode = 100;
      s.stderrTail = "Reading package lists...\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n```\n| not a table | @alice #12";
    }
  }
  const { records } = await readJournal(journal.path);
  return { plan, results, journal: records, planFile: `plans/${plan.id}.json`, root: dir };
}

describe("post-incident report", () => {
  it("has the timeline, impact, what failed with its exit code and output, the state left, and action items to own", async () => {
    const input = await run({ "web-02": { outcome: "failed" }, "web-04": { outcome: "unreachable" } });
    const text = renderPostmortem(input);
    expect(text).toMatch(/^<!-- steward:postmortem run=run-1 digest=[0-9a-f]{64} -->\n# Post-incident report: /);
    expect(text).toMatch(/## Timeline \(UTC\)\n\n- \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ run run-1 started: plan /);
    expect(text).toMatch(/\| web-02 \| medium \| failed \| SEV\d \|/);
    expect(text).toContain("### web-02: step ");
    expect(text).toContain("- Outcome: failed; exit code: 100");
    // The output's own ``` cannot close the block it is shown in.
    expect(text).toContain("````text\nReading package lists...\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n```\n| not a table | @alice #12\n````");
    expect(text).toMatch(/## State left\n\n\| Host \| Left in state \|\n\|---\|---\|\n\| web-02 \| /);
    expect(text).toContain("unknown: steward could not reach it");
    expect(text).toContain("## Contributing factors");
    expect(text).toContain("| Action | Owner | Due | Status |");
    expect(text).toContain(`| Fix the cause, then re-plan the failed hosts: \`steward plan ${input.plan.runbook.name} --gather\` |  |  | open |`);
    expect(text).toContain("| Find out why web-04 could not be reached |");
    expect(isGenerated(text)).toBe(true);
  });

  it("a halted run's action items say how to resume it", async () => {
    const input = await run({ "web-01": { outcome: "failed" }, "web-02": { outcome: "failed" } }, 1);
    expect(input.results.status).toBe("halted:budget");
    const text = renderPostmortem(input);
    expect(text).toContain(`\`steward apply ${input.planFile} --resume run-1\``);
    expect(text).toMatch(/failure budget tripped at web-0[12]/);
  });

  it("is written once, rewritten while untouched, and never over a person's edits", async () => {
    const input = await run({ "web-02": { outcome: "failed" } });
    const file = join(input.root, postmortemPath("run-1"));
    expect(await writePostmortem(input.root, input)).toMatchObject({ path: "incidents/postmortems/run-1.md", action: "written" });
    expect(await writePostmortem(input.root, input)).toMatchObject({ action: "unchanged" });
    // A resume changed the results: the untouched write-up is regenerated.
    input.results.hosts[1]!.detail = "failed again after resume";
    expect(await writePostmortem(input.root, input)).toMatchObject({ action: "written" });
    expect(await readFile(file, "utf8")).toContain("failed again after resume");
    // Someone fills in the contributing factors: steward keeps their text from then on.
    const edited = (await readFile(file, "utf8")).replace("### Trigger\n", "### Trigger\n\nThe mirror served a truncated package.\n");
    await writeFile(file, edited);
    expect(isGenerated(edited)).toBe(false);
    input.results.hosts[1]!.detail = "and again";
    expect(await writePostmortem(input.root, input)).toMatchObject({ action: "kept", content: edited });
    expect(await readFile(file, "utf8")).toBe(edited);
    // Removing the marker is an edit too.
    await writeFile(file, edited.split("\n").slice(1).join("\n"));
    expect((await writePostmortem(input.root, input)).action).toBe("kept");
  });

  it("a clean run has nothing to write up; a bad run id is a usage error", async () => {
    const input = await run({});
    await expect(writePostmortem(input.root, input)).rejects.toThrow(/completed cleanly/);
    const io = { stdout: () => undefined, stderr: () => undefined, workflowCommands: () => undefined, env: {}, cwd: input.root, secrets: new RunSecrets({}) };
    await expect(runPostmortem(["../etc"], io)).rejects.toThrow(/is not a run id/);
    await expect(runPostmortem(["run-9"], io)).rejects.toThrow(/there is no run run-9/);
  });
});
