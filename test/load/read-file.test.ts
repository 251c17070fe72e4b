import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeUtf8 } from "../../src/load/encoding.ts";
import { readRepositoryFile } from "../../src/load/read-file.ts";
import { loadRepository, readNamedFile } from "../../src/load/repository.ts";
import { validateRepository } from "../../src/validate/index.ts";

const base = new URL("../fixtures/base/", import.meta.url).pathname;
let work: string;
let root: string;
beforeAll(async () => {
  work = await realpath(await mkdtemp(join(tmpdir(), "steward-load-")));
  root = join(work, "repo");
  await cp(base, root, { recursive: true });
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe("reading repository files", () => {
  it("refuses a socket among the runbooks instead of skipping or crashing", async () => {
    const repo = join(work, "socket");
    await cp(base, repo, { recursive: true });
    const server: Server = createServer();
    await new Promise<void>((done) => server.listen(join(repo, "runbooks", "control.yaml"), done));
    try {
      const loaded = await loadRepository(repo);
      expect(loaded.diagnostics).toContainEqual(expect.objectContaining({ file: "runbooks/control.yaml", rule: "load/not-a-file", message: expect.stringContaining("a socket") }));
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it("reports a file that vanished after it was listed", async () => {
    const result = await readRepositoryFile(root, join(root, "runbooks", "gone.yaml"), "runbooks/gone.yaml");
    expect(result).toEqual({ ok: false, problem: expect.objectContaining({ rule: "load/vanished" }) });
  });

  it("reports a file replaced by a directory after it was listed", async () => {
    await mkdir(join(root, "runbooks", "was-a-file.yaml"));
    const result = await readRepositoryFile(root, join(root, "runbooks", "was-a-file.yaml"), "runbooks/was-a-file.yaml");
    expect(result).toEqual({ ok: false, problem: expect.objectContaining({ rule: "load/not-a-file", message: expect.stringContaining("a directory") }) });
  });

  it("returns at once from a FIFO: it is never waited on", async () => {
    execFileSync("mkfifo", [join(root, "inventory", "pipe.yaml")]);
    const started = Date.now();
    const result = await readRepositoryFile(root, join(root, "inventory", "pipe.yaml"), "inventory/pipe.yaml");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.ok).toBe(false);
    await rm(join(root, "inventory", "pipe.yaml"));
  });

  it("refuses a named file reached through a linked folder that leads outside", async () => {
    const outside = join(work, "outside");
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, "known_hosts"), "10.0.0.1 ssh-ed25519 AAAA\n");
    await symlink(outside, join(root, "keys"));
    const loaded = await loadRepository(root);
    const named = await readNamedFile(loaded, "keys/known_hosts");
    expect(named).toEqual({ file: "keys/known_hosts", problem: expect.objectContaining({ rule: "load/symlink", message: expect.stringContaining("through a linked folder") }) });
    await rm(join(root, "keys"));
  });

  it("never reads a known_hosts outside the repository, so none of its lines reach the output", async () => {
    const repo = join(work, "escape");
    await cp(base, repo, { recursive: true });
    await writeFile(join(repo, "inventory", "host-keys.yaml"), "defaults:\n  known_hosts: ../../../../../../etc/passwd\n");
    const result = await validateRepository(repo);
    expect(result.diagnostics.filter((d) => d.rule.startsWith("known-hosts/") || d.message.includes("root:"))).toEqual([]);
    expect(result.diagnostics).toContainEqual(expect.objectContaining({ file: "inventory/host-keys.yaml", line: 2, column: 16, rule: "load/outside-repository" }));
    expect([...result.texts.keys()].some((f) => f.includes("passwd"))).toBe(false);
  });

  it("hashes the bytes on disk, BOM included, not the decoded text", async () => {
    const repo = join(work, "bom");
    await cp(base, repo, { recursive: true });
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("name: bom\r\ntargets: group:web\r\nsteps:\r\n  - kind: command\r\n    name: up\r\n    command: uptime\r\n")]);
    await writeFile(join(repo, "runbooks", "bom.yaml"), bytes);
    const result = await validateRepository(repo);
    expect(result.errors).toBe(0);
    expect(result.hashes.get("runbooks/bom.yaml")).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(result.texts.get("runbooks/bom.yaml")?.startsWith("name: bom")).toBe(true);
  });
});

describe("UTF-8 decoding", () => {
  const bytes = (...parts: Array<string | number[]>): Uint8Array => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

  it("accepts UTF-8 with or without a BOM, and drops the BOM", () => {
    expect(decodeUtf8(bytes([0xef, 0xbb, 0xbf], "a: é\n"))).toEqual({ ok: true, text: "a: é\n" });
    expect(decodeUtf8(bytes("a: 🚀\n"))).toEqual({ ok: true, text: "a: 🚀\n" });
  });

  it.each([
    [[0xff, 0xfe, 0x00, 0x00], "UTF-32 (little-endian)"],
    [[0x00, 0x00, 0xfe, 0xff], "UTF-32 (big-endian)"],
    [[0xff, 0xfe], "UTF-16 (little-endian)"],
    [[0xfe, 0xff], "UTF-16 (big-endian)"],
  ])("names the encoding of a %j byte order mark", (bom, name) => {
    expect(decodeUtf8(bytes(bom, "a"))).toMatchObject({ ok: false, line: 1, column: 1, message: `the file is encoded as ${name}, not UTF-8` });
  });

  it("recognises UTF-16 without a BOM by its NUL bytes", () => {
    expect(decodeUtf8(Buffer.from("name: x\n", "utf16le"))).toMatchObject({ ok: false, message: expect.stringContaining("UTF-16 or UTF-32") });
  });

  it("gives the line and character column of the first bad byte, after multi-byte characters", () => {
    // Line 2: "é🚀 " is 1 + 2 (UTF-16 columns, as the YAML parser counts) + 1 characters.
    expect(decodeUtf8(bytes("a: 1\n", "é🚀 ", [0xff]))).toMatchObject({ ok: false, line: 2, column: 5 });
    // Overlong encoding of '/', a surrogate half, and a code point past U+10FFFF.
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) expect(decodeUtf8(bytes("x", bad))).toMatchObject({ ok: false, line: 1, column: 2 });
  });
});
