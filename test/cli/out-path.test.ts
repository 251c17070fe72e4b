import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { MANAGED_PATHS } from "../../src/cli/out-path.ts";

const fixture = new URL("../fixtures/base/", import.meta.url).pathname;
const NOW = "2026-03-01T00:00:00Z";

async function steward(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd };
  return { code: await main(argv, io), stdout, stderr };
}

describe("--out: - and steward's own record", () => {
  let root: string;
  let away: string;
  const AUDIT = '{"seq":1}\n';
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-out-"));
    away = await mkdtemp(join(tmpdir(), "steward-out-away-"));
    await cp(fixture, root, { recursive: true });
    for (const dir of ["runs", "plans", "facts/snapshots", "incidents", "schemas", ".git", ".steward/facts", "reports"]) await mkdir(join(root, dir), { recursive: true });
    await writeFile(join(root, "runs/audit.jsonl"), AUDIT);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(away, { recursive: true, force: true });
  });

  it("--out - prints the report, in every report that prints, and writes no file named -", async () => {
    for (const sub of ["status", "trends", "forecast"]) {
      const r = await steward(["report", sub, "--now", NOW, "--format", "json", "--out", "-"], root);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ report: sub });
    }
    expect(await readdir(root)).not.toContain("-");
  });

  it("plan writes two files into a folder: --out - or an empty --out is a usage error, and nothing named - appears", async () => {
    for (const out of ["-", ""]) {
      const r = await steward(["plan", "base", "--now", NOW, "--out", out], root);
      expect(r.code).toBe(ExitCode.usage);
      expect(r.stderr).toContain("names no folder: a plan is two files");
    }
    const empty = await steward(["report", "status", "--now", NOW, "--out", ""], root);
    expect(empty.code).toBe(ExitCode.usage);
    expect(empty.stderr).toContain("--out is empty");
    expect(await readdir(root)).not.toContain("-");
  });

  it("refuses every path inside the record, naming it and what it holds, and leaves the file as it was", async () => {
    for (const m of MANAGED_PATHS) {
      const target = m.path.endsWith(".jsonl") ? m.path : `${m.path}/out.md`;
      for (const argv of [["report", "status"], ["report", "trends"], ["report", "forecast"]]) {
        const r = await steward([...argv, "--now", NOW, "--out", target], root);
        expect(r.code, `${argv.join(" ")} --out ${target}`).toBe(ExitCode.usage);
        expect(r.stderr).toContain(`--out ${target}`);
        expect(r.stderr).toContain(m.holds);
        expect(r.stderr).toContain("steward never writes output over its own record");
      }
    }
    const audit = await steward(["report", "status", "--now", NOW, "--out", "runs/audit.jsonl"], root);
    expect(audit.stderr).toContain("runs/audit.jsonl holds the audit log");
    expect(await readFile(join(root, "runs/audit.jsonl"), "utf8")).toBe(AUDIT);
    // From another folder with --root: the root's record is what is protected.
    const elsewhere = await steward(["report", "status", "--root", root, "--now", NOW, "--out", join(root, "plans/x.md")], away);
    expect(elsewhere.code).toBe(ExitCode.usage);
    expect(elsewhere.stderr).toContain("plans/ holds the saved plans");
  });

  it("sees through .. and through symbolic links in the folders above and in the name", async () => {
    const dotdot = await steward(["report", "status", "--now", NOW, "--out", "reports/../runs/audit.jsonl"], root);
    expect(dotdot.code).toBe(ExitCode.usage);
    expect(dotdot.stderr).toContain("--out runs/audit.jsonl");
    // A folder outside the repository linked to runs/, and a link inside it to the audit log.
    await symlink(join(root, "runs"), join(away, "runs-link"));
    const linked = await steward(["report", "status", "--root", root, "--now", NOW, "--out", join(away, "runs-link/audit.jsonl")], away);
    expect(linked.code).toBe(ExitCode.usage);
    expect(linked.stderr).toContain(`it resolves to ${join(root, "runs/audit.jsonl")}`);
    expect(linked.stderr).toContain("the audit log");
    const deeper = await steward(["report", "trends", "--root", root, "--now", NOW, "--out", join(away, "runs-link/new/report.md")], away);
    expect(deeper.code).toBe(ExitCode.usage);
    await symlink(join(root, "runs/audit.jsonl"), join(root, "audit-link.jsonl"));
    const file = await steward(["report", "status", "--now", NOW, "--out", "audit-link.jsonl"], root);
    expect(file.code).toBe(ExitCode.usage);
    expect(file.stderr).toContain("the audit log");
    // The repository reached through a linked root is the same repository.
    await symlink(root, join(away, "repo"));
    const viaRoot = await steward(["report", "status", "--root", join(away, "repo"), "--now", NOW, "--out", join(root, "runs/r.md")], away);
    expect(viaRoot.code).toBe(ExitCode.usage);
    expect(await readFile(join(root, "runs/audit.jsonl"), "utf8")).toBe(AUDIT);
  });

  it("plan: its own plans/ (the default) only; any other folder of the record is refused before planning", async () => {
    for (const out of ["runs", "runs/plans", "inventory", "plans/../runbooks", ".steward/facts", "plans/older"]) {
      const r = await steward(["plan", "base", "--now", NOW, "--out", out], root);
      expect(r.code, out).toBe(ExitCode.usage);
      expect(r.stderr).toContain("steward never writes output over its own record");
    }
    expect(await readdir(join(root, "runs"))).toEqual(["audit.jsonl"]);
  });

  it("refuses an --out whose name holds a control or format character, quoted escaped, and writes nothing", async () => {
    for (const [argv, shown] of [
      [["report", "status", "--out", join(away, "a\nb.md")], JSON.stringify(join(away, "a\nb.md"))],
      [["report", "forecast", "--out", "x\u001b[2Jy.md"], '"x\\u001b[2Jy.md"'],
      [["report", "trends", "--out", "r\u202eevil.md"], '"r\\u202eevil.md"'],
      [["plan", "runbooks/base.yaml", "--out", "p\rq"], '"p\\rq"'],
    ] as const) {
      const r = await steward([...argv, "--now", NOW], root);
      expect(r.code, argv.join(" ")).toBe(ExitCode.usage);
      expect(r.stderr).toContain(`--out ${shown} holds a control or format character`);
      expect(r.stderr.split("\n").filter((l) => l !== "").length, r.stderr).toBeLessThanOrEqual(2);
    }
    expect(await readdir(away)).toEqual([]);
    expect((await readdir(root)).filter((n) => /[\x00-\x1f\u202e]/.test(n))).toEqual([]);
  });

  it("writes anywhere else, as before", async () => {
    const r = await steward(["report", "status", "--now", NOW, "--out", "reports/status.md"], root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("report written to reports/status.md");
    expect(await readFile(join(root, "reports/status.md"), "utf8")).toMatch(/^# Fleet status/);
    const outside = await steward(["report", "forecast", "--root", root, "--now", NOW, "--out", join(away, "forecast.md")], away);
    expect(outside.code, outside.stderr).toBe(0);
  });
});
