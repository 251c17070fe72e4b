import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  fingerprint,
  hostFieldMatches,
  knownHostsName,
  parseKnownHosts,
  parsePinnedKey,
  preferredAlgorithms,
} from "../../src/transport/ssh/known-hosts.ts";
import { run } from "./sshd-server.ts";

const fixtures = join(import.meta.dirname, "../fixtures/known-hosts");
const read = (name: string): string => readFileSync(join(fixtures, name), "utf8");

/** What `ssh-keygen -F name -f file` reports: "line[ MARKER]" for each matching line. */
async function openSshMatches(file: string, name: string): Promise<string[]> {
  const { stdout } = await run("ssh-keygen", ["-F", name, "-f", join(fixtures, file)]).catch(() => ({ stdout: "" }));
  return [...stdout.matchAll(/^# Host .* found: line (\d+) ?(\S*)$/gm)].map((m) => `${m[1]}${m[2] ? ` ${m[2]}` : ""}`);
}

function ourMatches(file: string, name: string): string[] {
  const label = { revoked: " REVOKED", "cert-authority": " CA" } as const;
  return parseKnownHosts(read(file), file)
    .entries.filter((entry) => hostFieldMatches(entry.hostField, name))
    .map((entry) => `${entry.source.split(":")[1]}${entry.marker === undefined ? "" : label[entry.marker]}`);
}

const names = [
  "web1.example.com",
  "192.0.2.10",
  "[web1.example.com]:2222",
  "[web1.example.com]:2223",
  "a.db.example.com",
  "deep.a.db.example.com",
  "secret.db.example.com",
  "db.example.com",
  "10.1.7.5",
  "10.1.77.5",
  "x.corp.example.com",
  "indented.example.com",
  "unknown.example.com",
];

describe("known_hosts parsing agrees with OpenSSH", () => {
  for (const file of ["plain", "hashed", "removed"]) {
    it(`matches the same lines as ssh-keygen -F in ${file}`, async () => {
      for (const name of names) {
        expect({ name, lines: ourMatches(file, name) }).toEqual({ name, lines: await openSshMatches(file, name) });
      }
    });
  }

  it("matches case-insensitively, as ssh lowercases host names", async () => {
    expect(ourMatches("plain", "WEB1.Example.COM")).toEqual(await openSshMatches("plain", "WEB1.Example.COM"));
    // A hashed entry stands for the lowercased name that ssh looks up.
    expect(ourMatches("hashed", "WEB1.EXAMPLE.COM")).toEqual(ourMatches("hashed", "web1.example.com"));
  });

  it("skips comments and blank lines and reads every entry", () => {
    const parsed = parseKnownHosts(read("plain"), "plain");
    expect(parsed.problems).toEqual([]);
    expect(parsed.entries.map((e) => e.source)).toEqual([3, 4, 5, 6, 7, 8, 9].map((n) => `plain:${n}`));
    expect(parsed.entries.map((e) => e.marker)).toEqual([undefined, undefined, undefined, undefined, "cert-authority", "revoked", undefined]);
  });

  it("reads ssh-keyscan output, plain and hashed, with every key type", () => {
    const serverKeys = read("keyscan-server-keys.pub").trim().split("\n");
    const name = knownHostsName("127.0.0.1", 2299);
    for (const file of ["keyscan", "keyscan-hashed"]) {
      const parsed = parseKnownHosts(read(file), file);
      expect(parsed.problems).toEqual([]);
      const found = parsed.entries
        .filter((e) => hostFieldMatches(e.hostField, name))
        .map((e) => `${e.keyType} ${e.key.toString("base64")}`);
      expect(found.sort()).toEqual([...serverKeys].sort());
      expect(parsed.entries.filter((e) => hostFieldMatches(e.hostField, "[127.0.0.1]:2298"))).toEqual([]);
    }
  });

  it("computes the same SHA256 fingerprints as ssh-keygen -l", async () => {
    const { stdout } = await run("ssh-keygen", ["-l", "-f", join(fixtures, "keyscan-server-keys.pub")]);
    const theirs = stdout.trim().split("\n").map((line) => line.split(" ")[1]);
    const ours = read("keyscan-server-keys.pub")
      .trim()
      .split("\n")
      .map((line) => {
        const key = parsePinnedKey(line, "test");
        return "key" in key ? fingerprint(key.key) : key.message;
      });
    expect(ours).toEqual(theirs);
  });

  it("writes port 22 bare and other ports bracketed", () => {
    expect(knownHostsName("host", 22)).toBe("host");
    expect(knownHostsName("10.0.0.1", 2222)).toBe("[10.0.0.1]:2222");
  });

  it("reports malformed lines instead of trusting them", () => {
    const ed = read("keyscan-server-keys.pub").split("\n").find((l) => l.startsWith("ssh-ed25519")) ?? "";
    const [, blob] = ed.split(" ");
    const text = [
      `@bogus host ${ed}`,
      "host-only",
      `host ssh-rsa ${blob}`,
      "host ssh-ed25519 not*base64",
      `|1|short|hash ${ed}`,
      `ok.example.com ${ed}`,
    ].join("\n");
    const parsed = parseKnownHosts(text, "kh");
    expect(parsed.entries.map((e) => e.source)).toEqual(["kh:6"]);
    expect(parsed.problems.map((p) => p.source)).toEqual(["kh:1", "kh:2", "kh:3", "kh:4", "kh:5"]);
    expect(parsed.problems[2]?.message).toMatch(/does not match the key's own type ssh-ed25519/);
  });

  it("offers the algorithms of keys on record first", () => {
    const all = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
    expect(preferredAlgorithms(["ssh-rsa"], all)).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256"]);
    expect(preferredAlgorithms([], all)).toEqual(all);
  });
});
