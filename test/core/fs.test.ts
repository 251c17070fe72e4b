import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { EnvironmentError } from "../../src/core/errors.ts";
import { writeFileAtomic, writeFilesAtomic } from "../../src/core/fs.ts";
import { readCachedFacts, writeCachedFacts } from "../../src/facts/cache.ts";
import type { FactsResult } from "../../src/facts/types.ts";
import { parsePlan, planJson, writePlan } from "../../src/plan/artifact.ts";
import { plan } from "../../src/plan/planner.ts";
import type { Plan } from "../../src/plan/types.ts";
import { failed, host, INPUTS, inventory, NOW, ok, runbook, up, withUpgrades } from "../plan/fixtures.ts";

// Real filesystems in the states the writers must survive: a small tmpfs that fills
// up, and one mounted read-only (tests run as root, so chmod would not stop a write).

let base: string;
const mounts: string[] = [];

async function tmpfs(name: string, options: string): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
  mounts.push(dir);
  return dir;
}

const remountReadOnly = (dir: string): void => void execFileSync("mount", ["-o", "remount,ro", dir]);

beforeAll(async () => void (base = await mkdtemp(join(tmpdir(), "steward-fs-"))));
afterAll(async () => {
  for (const dir of mounts.reverse()) execFileSync("umount", [dir]);
  await rm(base, { recursive: true, force: true });
});

/** The error `promise` rejects with. */
async function rejection(promise: Promise<unknown>): Promise<EnvironmentError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentError);
    return error as EnvironmentError;
  }
  throw new Error("expected the write to fail");
}

function bigPlan(count: number): Plan {
  const hosts = Array.from({ length: count }, (_, i) => host(`host-${String(i).padStart(4, "0")}`, ["web"]));
  const facts = new Map(hosts.map((h) => [h.name, ok(h.name, withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1"), up(`pkg-${h.name}`, "1.0-1", "1.0-2")]))]));
  return plan({ inventory: inventory(hosts), runbook: runbook(), facts, now: NOW, toolVersion: "0.1.0", inputs: INPUTS });
}

describe("writeFilesAtomic", () => {
  it("writes every file whole and leaves nothing else", async () => {
    const dir = join(base, "plain");
    await writeFilesAtomic([
      { path: join(dir, "a.json"), text: "a\n" },
      { path: join(dir, "a.md"), text: "b\n" },
    ]);
    await writeFileAtomic(join(dir, "a.json"), "c\n");
    expect((await readdir(dir)).sort()).toEqual(["a.json", "a.md"]);
    expect(await readFile(join(dir, "a.json"), "utf8")).toBe("c\n");
  });

  it("on a full disk fails with ENOSPC as an environment error, leaving the old pair and no temporary file", async () => {
    const dir = await tmpfs("full", "size=64k");
    await writeFilesAtomic([
      { path: join(dir, "p.json"), text: "old json\n" },
      { path: join(dir, "p.md"), text: "old md\n" },
    ]);
    // The JSON fits, the Markdown does not: neither may change.
    const error = await rejection(
      writeFilesAtomic([
        { path: join(dir, "p.json"), text: "j".repeat(20_000) },
        { path: join(dir, "p.md"), text: "m".repeat(80_000) },
      ]),
    );
    expect(error.code).toBe("environment");
    expect(error.message).toBe(`cannot write ${join(dir, "p.md")}: no space left on the device holding ${dir} (ENOSPC while writing the file)`);
    expect(error.hint).toMatch(/free space/);
    expect((await readdir(dir)).sort()).toEqual(["p.json", "p.md"]);
    expect(await readFile(join(dir, "p.json"), "utf8")).toBe("old json\n");
    expect(await readFile(join(dir, "p.md"), "utf8")).toBe("old md\n");
  });

  it("never leaves a truncated file when a single write does not fit", async () => {
    const dir = await tmpfs("short", "size=64k");
    const error = await rejection(writeFileAtomic(join(dir, "big.json"), "x".repeat(200_000)));
    expect(error.message).toContain("ENOSPC");
    expect(await readdir(dir)).toEqual([]);
  });

  it("changes nothing when the second of two files cannot be replaced", async () => {
    const dir = join(base, "rollback");
    await mkdir(join(dir, "new.md"), { recursive: true });
    await mkdir(join(dir, "old.md"), { recursive: true });
    await writeFile(join(dir, "old.json"), "old json\n");
    for (const name of ["new", "old"]) {
      const error = await rejection(
        writeFilesAtomic([
          { path: join(dir, `${name}.json`), text: "new json\n" },
          { path: join(dir, `${name}.md`), text: "new md\n" },
        ]),
      );
      expect(error.message).toBe(`${join(dir, `${name}.md`)} is a folder: steward writes files atomically by replacing them, and will not replace that`);
    }
    // No new JSON beside the old Markdown, no temporary file: refused before anything was written.
    expect((await readdir(dir)).sort()).toEqual(["new.md", "old.json", "old.md"]);
    expect(await readFile(join(dir, "old.json"), "utf8")).toBe("old json\n");
  });

  it("never replaces a device, a pipe or a folder (--out /dev/null must not turn /dev/null into a file)", async () => {
    const dir = join(base, "special");
    await mkdir(join(dir, "a-folder"), { recursive: true });
    // A private copy of /dev/null's device node (character 1,3) and a named pipe.
    execFileSync("mknod", ["-m", "666", join(dir, "null"), "c", "1", "3"]);
    execFileSync("mkfifo", [join(dir, "pipe")]);
    for (const [name, what] of [["null", "a device, pipe or socket"], ["pipe", "a device, pipe or socket"], ["a-folder", "a folder"]] as const) {
      const error = await rejection(writeFileAtomic(join(dir, name), "report\n", { elsewhere: "omit --out to print the report" }));
      expect(error.message).toBe(`${join(dir, name)} is ${what}${name === "a-folder" ? "" : ", not a regular file"}: steward writes files atomically by replacing them, and will not replace that`);
      expect(error.hint).toBe("omit --out to print the report");
    }
    expect((await stat(join(dir, "null"))).isCharacterDevice()).toBe(true);
    expect((await stat(join(dir, "pipe"))).isFIFO()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(["a-folder", "null", "pipe"]);
  });

  it("names a folder that holds no files (/proc) and a name too long, as environment errors", async () => {
    const proc = await rejection(writeFileAtomic("/proc/steward-report.md", "x\n"));
    expect(proc.message).toContain("cannot write /proc/steward-report.md: no file can be created in /proc");
    const long = join(base, `${"x".repeat(300)}.md`);
    const error = await rejection(writeFileAtomic(long, "x\n"));
    expect(error.message).toContain("the name is longer than the filesystem allows");
  });

  it("refuses a read-only folder", async () => {
    const dir = await tmpfs("ro", "size=64k");
    await mkdir(join(dir, "plans"));
    remountReadOnly(dir);
    const error = await rejection(writeFileAtomic(join(dir, "plans", "x.json"), "{}\n"));
    expect(error.message).toBe(`cannot write ${join(dir, "plans", "x.json")}: ${join(dir, "plans")} is on a read-only filesystem (EROFS while writing the file)`);
    expect(error.hint).toMatch(/remount it read-write/);
    const missing = await rejection(writeFileAtomic(join(dir, "new", "x.json"), "{}\n", { root: dir }));
    expect(missing.message).toContain("EROFS while creating the folder");
  });
});

describe("links are refused, never followed", () => {
  it("a symlinked output folder, naming the link", async () => {
    const repo = join(base, "repo-link");
    const elsewhere = join(base, "elsewhere");
    await mkdir(elsewhere, { recursive: true });
    await mkdir(repo, { recursive: true });
    await symlink(elsewhere, join(repo, "plans"));
    const error = await rejection(writePlan(bigPlan(2), join(repo, "plans"), { root: repo }));
    expect(error.message).toBe(`${join(repo, "plans")} is a symbolic link (to ${elsewhere}); steward does not write through links`);
    expect(error.hint).toBe(`replace ${join(repo, "plans")} with a real folder or file, or write the plan elsewhere with --out DIR`);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it("a symlinked folder between the root and the output", async () => {
    const repo = join(base, "repo-mid");
    const elsewhere = join(base, "elsewhere-mid");
    await mkdir(elsewhere, { recursive: true });
    await mkdir(repo, { recursive: true });
    await symlink(elsewhere, join(repo, ".steward"));
    const error = await rejection(writeCachedFacts(join(repo, ".steward", "facts"), failed("web-01")));
    expect(error.message).toContain(`${join(repo, ".steward")} is a symbolic link`);
    // `steward facts` has no --out: the hint names no option it does not have.
    expect(error.hint).toBe(`replace ${join(repo, ".steward")} with a real folder or file`);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it("a target file that is a symlink", async () => {
    const dir = join(base, "file-link");
    await mkdir(dir, { recursive: true });
    const victim = join(base, "victim.txt");
    await writeFile(victim, "keep\n");
    const p = bigPlan(1);
    await symlink(victim, join(dir, `${p.id}.md`));
    const error = await rejection(writePlan(p, dir));
    expect(error.message).toContain(`${join(dir, `${p.id}.md`)} is a symbolic link (to ${victim})`);
    expect(await readFile(victim, "utf8")).toBe("keep\n");
    expect((await readdir(dir)).sort()).toEqual([`${p.id}.md`]);
  });
});

describe("the facts cache writer", () => {
  it("fails on a full or read-only disk as an environment error, leaving no temporary file", async () => {
    const dir = await tmpfs("facts-full", "size=64k");
    await writeFile(join(dir, "filler"), Buffer.alloc(60 * 1024));
    const cache = join(dir, ".steward", "facts");
    const big = ok("web-01", withUpgrades(Array.from({ length: 400 }, (_, i) => up(`package-number-${i}`, "1.0.0-1", "1.0.1-1"))));
    const error = await rejection(writeCachedFacts(cache, big));
    expect(error.message).toMatch(new RegExp(`^cannot write ${join(cache, "web-01.json")}: no space left`));
    expect(await readdir(cache)).toEqual([]);
    await rm(join(dir, "filler"));
    await writeCachedFacts(cache, failed("web-02"));
    remountReadOnly(dir);
    const ro = await rejection(writeCachedFacts(cache, failed("web-02")));
    expect(ro.message).toContain("read-only filesystem (EROFS");
    expect(await readCachedFacts(cache, "web-02")).toEqual(failed("web-02"));
  });

  it("redacts every string before writing", async () => {
    const cache = join(base, "facts-redact", ".steward", "facts");
    const result: FactsResult = { host: "web-03", ok: false, gatheredAt: "2026-11-22T00:00:00.000Z", error: { kind: "auth-failed", message: 'token s3cr"t rejected' } };
    await writeCachedFacts(cache, result, { redact: (t) => t.split('s3cr"t').join("***") });
    const text = await readFile(join(cache, "web-03.json"), "utf8");
    expect(text).not.toContain("s3cr");
    expect(JSON.parse(text)).toMatchObject({ error: { message: "token *** rejected" } });
    expect((await stat(join(cache, "web-03.json"))).isFile()).toBe(true);
  });
});

describe("steward plan on a hostile filesystem", () => {
  const fixture = new URL("../fixtures/base", import.meta.url).pathname;
  let repo: string;

  async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd: repo };
    return { code: await main(argv, io), stdout, stderr };
  }

  beforeAll(async () => {
    repo = join(base, "cli-repo");
    await cp(fixture, repo, { recursive: true });
    await writeFile(join(repo, "runbooks/patches.yaml"), "name: patches\ntargets: group:prod\nsteps:\n  - kind: packages\n    name: updates\n    action: upgrade\n");
    const facts = join(repo, ".steward/facts");
    await mkdir(facts, { recursive: true });
    await writeFile(join(facts, "db-01.json"), JSON.stringify(ok("db-01", withUpgrades([up("openssl", "3.0.11-1", "3.0.13-1")]))));
  });

  it("exits 6 with the file, the condition and the fix for a read-only --out, and no stack trace", async () => {
    const ro = await tmpfs("cli-ro", "ro,size=64k");
    const r = await run(["plan", "patches", "--now", "2026-11-24T01:30:00Z", "--out", ro]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(new RegExp(`^steward plan: cannot write ${ro}/patches-20261124T0130-[0-9a-f]{12}\\.json: ${ro} is on a read-only filesystem \\(EROFS while writing the file\\)\\n  hint: remount it read-write, or write the plan elsewhere with --out DIR\\n`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 6 for a plans/ folder that is a symbolic link", async () => {
    const elsewhere = join(base, "cli-elsewhere");
    await mkdir(elsewhere);
    await symlink(elsewhere, join(repo, "plans"));
    const r = await run(["plan", "patches", "--now", "2026-11-24T01:30:00Z"]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`${join(repo, "plans")} is a symbolic link (to ${elsewhere})`);
    expect(await readdir(elsewhere)).toEqual([]);
    await rm(join(repo, "plans"));
    const fine = await run(["plan", "patches", "--now", "2026-11-24T01:30:00Z"]);
    expect(fine.code, fine.stderr).toBe(0);
    const [json] = (await readdir(join(repo, "plans"))).filter((f) => f.endsWith(".json"));
    expect(parsePlan(await readFile(join(repo, "plans", json!), "utf8"), json!).id).toBe(json!.replace(/\.json$/, ""));
    expect(planJson(parsePlan(await readFile(join(repo, "plans", json!), "utf8"), json!))).toBe(await readFile(join(repo, "plans", json!), "utf8"));
  });
});
