import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";

/**
 * `steward run` refuses a destructive runbook (a restore) before anything is applied,
 * and leaves the plan it wrote for review. The one host listens nowhere (127.0.181.1,
 * loopback): facts fail fast and nothing leaves the machine.
 */
const work = await mkdtemp(join(tmpdir(), "steward-run-restore-"));
afterAll(() => rm(work, { recursive: true, force: true }));

describe("steward run", () => {
  it("refuses a restore runbook: it needs a reviewed plan", async () => {
    await mkdir(join(work, "inventory"), { recursive: true });
    await mkdir(join(work, "runbooks"), { recursive: true });
    await writeFile(join(work, "inventory/hosts.yaml"), "defaults:\n  user: steward\n  port: 2222\n  connect_timeout: 2s\nhosts:\n  h1:\n    address: 127.0.181.1\n");
    await writeFile(
      join(work, "runbooks/recovery.yaml"),
      "name: recovery\ntargets: all\nsteps:\n  - kind: restore\n    name: bring back\n    tool: restic\n    repository: /srv/restic\n    password: { env: RESTIC_PASSWORD }\n    snapshot: latest\n    paths: [/srv/data]\n    target: /\n",
    );
    let stdout = "";
    let stderr = "";
    const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { RESTIC_PASSWORD: "a-long-enough-password" }, cwd: work };
    const code = await main(["run", "recovery"], io);
    expect(code, stderr).toBe(3);
    expect(stderr).toMatch(/^steward run: step 'bring back' \(restore\) is destructive: it needs a reviewed plan; nothing was applied\n  hint: the plan was written to plans\/recovery-.*\.json: review it \(and its \.md\), then `steward apply` it\n$/);
    expect(stdout).toBe("");
    expect(await readdir(work)).not.toContain("runs");
    expect((await readdir(join(work, "plans"))).some((f) => f.endsWith(".md"))).toBe(true);
  }, 60_000);
});
