import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { keyBlobProblem } from "../../src/validate/rules/key-blob.ts";

/** Real public keys from ssh-keygen, one per type steward accepts without a security key. */
const dir = await mkdtemp(join(tmpdir(), "steward-keys-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const keys: Array<[string, string]> = [];
for (const [type, bits] of [["ed25519", []], ["rsa", ["-b", "2048"]], ["ecdsa", ["-b", "256"]], ["ecdsa", ["-b", "384"]], ["ecdsa", ["-b", "521"]]] as const) {
  const file = join(dir, `${type}${bits.join("")}`);
  execFileSync("ssh-keygen", ["-q", "-t", type, ...bits, "-N", "", "-f", file]);
  const [keyType, blob] = (await readFile(`${file}.pub`, "utf8")).split(" ") as [string, string];
  keys.push([keyType, blob]);
}

describe("SSH public key blobs", () => {
  it.each(keys)("a whole %s key is accepted", (type, blob) => {
    expect(keyBlobProblem(type, blob)).toBeUndefined();
  });

  it.each(keys)("a %s key cut short anywhere is refused", (type, blob) => {
    for (const cut of [4, 8, 20, blob.length - 4, blob.length - 1]) expect(keyBlobProblem(type, blob.slice(0, cut)), `cut at ${cut}`).toBeDefined();
  });

  it("refuses a blob whose inner type differs, or with bytes left over", () => {
    const [, ed] = keys[0]!;
    const [, rsa] = keys[1]!;
    expect(keyBlobProblem("ssh-rsa", ed)).toContain('of type "ssh-ed25519"');
    expect(keyBlobProblem("ssh-rsa", Buffer.concat([Buffer.from(rsa, "base64"), Buffer.from([0, 0, 0, 0])]).toString("base64"))).toContain("too many");
  });
});
