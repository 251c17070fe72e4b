import { execFileSync } from "node:child_process";
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * Shared by the fixture corpora (test/fixtures/invalid/ and valid/): each file is one
 * inventory or runbook file, dropped into a copy of test/fixtures/base/. Its header
 * comments say where it goes and what it needs around it:
 *   # target: inventory|runbook      the folder it is written to (as zz-fixture.yaml)
 *   # path: PATH                     write it there instead
 *   # remove: PATH | # mkdir: PATH | # fifo: PATH | # symlink: PATH -> TARGET
 * applied in order, paths relative to the repository. The file is copied byte for
 * byte, so encoding cases are real; a header in UTF-16 (BOM FF FE) is read as such.
 */
export const fixtures = new URL("../fixtures/", import.meta.url).pathname;

const SETUP = /^# (path|remove|mkdir|fifo|symlink): (.+?)\r?$/;

export interface Fixture {
  name: string;
  bytes: Buffer;
  /** The header text, decoded. */
  header: string;
  target: "inventory" | "runbook";
}

export async function fixtureNames(corpus: "invalid" | "valid"): Promise<string[]> {
  return (await readdir(join(fixtures, corpus))).filter((n) => /\.ya?ml$/.test(n)).sort();
}

export async function readFixture(corpus: "invalid" | "valid", name: string): Promise<Fixture> {
  const bytes = await readFile(join(fixtures, corpus, name));
  const header = (bytes[0] === 0xff && bytes[1] === 0xfe ? bytes.toString("utf16le") : bytes.toString("utf8")).replace(/^\ufeff/, "");
  const target = /^# target: (inventory|runbook)\r?$/m.exec(header)?.[1];
  if (target !== "inventory" && target !== "runbook") throw new Error(`${name}: missing '# target: inventory|runbook'`);
  return { name, bytes, header, target };
}

/** Builds the repository for a fixture under `work`; returns its root and the fixture's repository path. */
export async function materialize(work: string, fixture: Fixture): Promise<{ repo: string; file: string }> {
  const repo = join(work, fixture.name);
  await cp(join(fixtures, "base"), repo, { recursive: true });
  let file = `${fixture.target === "inventory" ? "inventory" : "runbooks"}/zz-fixture.yaml`;
  for (const m of fixture.header.split("\n").map((l) => SETUP.exec(l))) {
    if (!m) continue;
    const [, action, arg] = m as unknown as [string, string, string];
    if (action === "path") file = arg;
    else if (action === "remove") await rm(join(repo, arg), { recursive: true, force: true });
    else if (action === "mkdir") await mkdir(join(repo, arg), { recursive: true });
    else if (action === "fifo") execFileSync("mkfifo", [join(repo, arg)]);
    else {
      const [link, target] = arg.split(" -> ") as [string, string];
      await symlink(target, join(repo, link));
    }
  }
  await mkdir(dirname(join(repo, file)), { recursive: true });
  await writeFile(join(repo, file), fixture.bytes);
  return { repo, file };
}
