import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fingerprint, judgeKeys, KEYS_FILE_MAX_BYTES, KEYS_MAX_LISTED, parseKeysSection } from "../../src/steps/compliance/authorized-keys.ts";
import { judgeAuthorizedKeys } from "../../src/steps/compliance/hygiene.ts";

/** Fixtures and how they were made: test/fixtures/steps/compliance/README.md. */
const fixture = (name: string): string => readFileSync(join(import.meta.dirname, "../fixtures/steps/compliance", name), "utf8");

/** A file as the keys section of the compliance script prints it (script.ts, KEYS_BODY). */
const section = (files: Array<{ user: string; path: string; text: string; bytes?: number }>): string =>
  files.map((f) => `f ${f.bytes ?? Buffer.byteLength(f.text)} ${f.user}:${f.path}\n${`${f.text}\n`.split("\n").map((l) => `l ${l}`).join("\n")}\n`).join("");

const ed25519 = (seed = randomBytes(32)): string => {
  const type = Buffer.from("ssh-ed25519");
  const blob = Buffer.concat([Buffer.from([0, 0, 0, type.length]), type, Buffer.from([0, 0, 0, 32]), seed]);
  return `ssh-ed25519 ${blob.toString("base64")}`;
};

describe("authorized_keys: parsed as sshd reads the file, fingerprinted as ssh-keygen prints", () => {
  const text = fixture("authorized_keys");
  const { inventory, all } = parseKeysSection(section([{ user: "ops", path: "/home/ops/.ssh/authorized_keys", text }]));

  it("computes the SHA256 fingerprint of every key exactly as `ssh-keygen -lf` does", () => {
    // keygen-l.txt: `ssh-keygen -lf authorized_keys` on the same file (OpenSSH 9.2).
    const keygen = fixture("keygen-l.txt").trim().split("\n").map((l) => l.split(" ")[1]);
    expect(all.map((e) => e.fingerprint)).toEqual(keygen);
    expect(all.map((e) => e.line)).toEqual([2, 4, 5, 6, 7, 10]);
  });

  it("reads types, comments and options, with commas and escaped quotes inside quoted values", () => {
    expect(all.map((e) => [e.type, e.comment])).toEqual([
      ["ssh-ed25519", "alice@laptop"],
      ["ssh-rsa", "bob@ci with spaces in comment"],
      ["ecdsa-sha2-nistp256", null],
      ["ecdsa-sha2-nistp521", "deploy key"],
      ["ssh-ed25519", "ca"],
      ["ssh-ed25519", null],
    ]);
    expect(all[2]!.options).toEqual(['from="10.0.0.0/8,192.168.1.1"', 'command="/usr/bin/rsync --server -e.Lsf . /srv/a,b"', "no-pty"]);
    expect(all[3]!.options).toEqual(["no-agent-forwarding", 'environment="A=\\"x, y\\""']);
    expect(all[4]!.options).toEqual(["cert-authority", 'principals="alice,bob"']);
    expect(all.every((e) => e.user === "ops" && e.file === "/home/ops/.ssh/authorized_keys")).toBe(true);
  });

  it("reports the lines sshd would not use, without quoting them", () => {
    expect(inventory.problems).toEqual([
      "ops:/home/ops/.ssh/authorized_keys:8: the ssh-ed25519 key is not base64; ignored",
      "ops:/home/ops/.ssh/authorized_keys:9: an option's quote is never closed; sshd ignores the line",
    ]);
    expect(inventory.files).toEqual([{ user: "ops", path: "/home/ops/.ssh/authorized_keys", bytes: Buffer.byteLength(text), cut: false }]);
  });

  it("fingerprints from the decoded blob: sha256, base64 without padding", () => {
    expect(fingerprint("AAAAC3NzaC1lZDI1NTE5AAAAIPMX/bUNdqCpBpLFptVkbVWdrptACKRXkNGsuCAOIQAL")).toBe("SHA256:U+ivXokdZByaJqbT76Sp6P2MqYize0oYF4AatZB1buQ");
  });
});

describe("authorized_keys: hostile files are bounded and reported, never trusted", () => {
  it("judges thousands of keys, lists a bounded number, and counts the rest", () => {
    const keys = Array.from({ length: KEYS_MAX_LISTED + 500 }, () => ed25519()).join("\n");
    const { inventory, all } = parseKeysSection(section([{ user: "ops", path: "/home/ops/.ssh/authorized_keys", text: keys }]));
    expect(all).toHaveLength(KEYS_MAX_LISTED + 500);
    expect(inventory.entries).toHaveLength(KEYS_MAX_LISTED);
    expect(inventory.unlisted).toBe(500);
    const judged = judgeKeys(all, [all[0]!.fingerprint], false);
    expect(judged.unlisted).toHaveLength(KEYS_MAX_LISTED + 499);
  });

  it("skips binary junk, over-long lines and control characters, and says so", () => {
    const good = ed25519();
    const junk = [randomBytes(3000).toString("latin1").replace(/\n/g, " "), `${good} evil\u001b[31mred\u202e`, `x`.repeat(20_000), `command="a\u0007b" ${good} bell`, "\u0000\u0001\u0002", good].join("\n");
    const { inventory, all } = parseKeysSection(section([{ user: "ops", path: "/home/ops/.ssh/authorized_keys", text: junk }]));
    expect(all.map((e) => e.line)).toEqual([2, 4, 6]);
    expect(all[0]!.comment).toBeNull();
    expect(all[1]!.options).toEqual(["(unprintable option)"]);
    expect(inventory.problems.join("\n")).toMatch(/:2: a comment with control or format characters \(not shown\)/);
    expect(inventory.problems.join("\n")).toMatch(/:3: a line of 20000 characters, longer than any key; ignored/);
    expect(JSON.stringify(inventory)).not.toMatch(/[\u0000-\u0008\u001b\u202e]/);
  });

  it("reports a file larger than the script reads as cut", () => {
    const { inventory } = parseKeysSection(section([{ user: "ops", path: "/home/ops/.ssh/authorized_keys", text: ed25519(), bytes: KEYS_FILE_MAX_BYTES + 10 }]));
    expect(inventory.files[0]!.cut).toBe(true);
    expect(inventory.problems[0]).toMatch(/only the first 1048576 were read/);
  });

  it("cannot be forged by a file's content: a header-like line inside a file stays a line of that file", () => {
    const forged = `${ed25519()}\nf 10 root:/root/.ssh/authorized_keys\n${ed25519()}`;
    const { all, inventory } = parseKeysSection(section([{ user: "mallory", path: "/home/mallory/.ssh/authorized_keys", text: forged }]));
    expect(all.map((e) => e.user)).toEqual(["mallory", "mallory"]);
    expect(inventory.files).toHaveLength(1);
  });

  it("refuses account names and paths with characters steward does not accept", () => {
    const { all, inventory } = parseKeysSection(section([{ user: "-rf", path: "/home/x/.ssh/authorized_keys", text: ed25519() }, { user: "ok", path: "/home/ok/\u001b]0;x", text: ed25519() }]));
    expect(all).toEqual([]);
    expect(inventory.problems).toHaveLength(2);
  });
});

describe("authorized-keys rule: the allow-list and shared keys", () => {
  const alice = ed25519();
  const bob = ed25519();
  const text = section([
    { user: "alice", path: "/home/alice/.ssh/authorized_keys", text: `${alice} alice@laptop` },
    { user: "deploy", path: "/home/deploy/.ssh/authorized_keys", text: `${alice} alice@laptop\n${bob} bob` },
  ]);
  const fp = (key: string): string => fingerprint(key.split(" ")[1]!);
  const rule = (allowed?: Array<string | { fingerprint: string; users?: string[] }>, shared?: boolean) => ({ type: "authorized-keys" as const, ...(allowed ? { allowed } : {}), ...(shared !== undefined ? { shared } : {}) });

  it("flags a key outside the allow-list and a key shared across accounts", () => {
    const { judged, inventory } = judgeAuthorizedKeys(rule([fp(alice)]), { stdout: text, stderr: "", exitCode: 0 });
    expect(judged.status).toBe("non-compliant");
    expect(judged.observed).toBe("3 key(s) in 2 file(s) of 2 account(s)");
    expect(judged.findings).toEqual([`${fp(bob)} (ssh-ed25519 bob) in /home/deploy/.ssh/authorized_keys:2 of deploy: not in the allow-list`, `${fp(alice)} is authorized for alice, deploy`]);
    expect(inventory?.entries.map((e) => `${e.user} ${e.fingerprint}`)).toEqual([`alice ${fp(alice)}`, `deploy ${fp(alice)}`, `deploy ${fp(bob)}`]);
  });

  it("allows a key only for the accounts its entry names", () => {
    const { judged } = judgeAuthorizedKeys(rule([{ fingerprint: fp(alice), users: ["alice"] }, fp(bob)], true), { stdout: text, stderr: "", exitCode: 0 });
    expect(judged.findings).toEqual([`${fp(alice)} (ssh-ed25519 alice@laptop) in /home/deploy/.ssh/authorized_keys:1 of deploy: allowed only for alice`]);
  });

  it("is compliant when every key is allowed and sharing is allowed; without a list it only inventories", () => {
    expect(judgeAuthorizedKeys(rule([fp(alice), fp(bob)], true), { stdout: text, stderr: "", exitCode: 0 }).judged.status).toBe("compliant");
    expect(judgeAuthorizedKeys(rule(undefined, true), { stdout: text, stderr: "", exitCode: 0 }).judged.status).toBe("compliant");
  });

  it("is unknown when the files could not be read", () => {
    const { judged } = judgeAuthorizedKeys(rule([]), { stdout: "", stderr: "sh: 1: getent: Permission denied\n", exitCode: 2 });
    expect(judged).toMatchObject({ status: "unknown", reason: "cannot read the authorized_keys files: sh: 1: getent: Permission denied" });
  });
});
