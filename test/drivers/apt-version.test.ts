import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { compareDebianVersions, parseDebianVersion } from "../../src/drivers/apt/version.ts";
import { prng } from "../support/prng.ts";


const UPSTREAM_CHARS = ["0", "1", "2", "9", "00", "01", "10", "a", "b", "z", "A", "Z", ".", "+", "~", "-"];
const REVISION_CHARS = ["0", "1", "2", "9", "00", "a", "z", "A", ".", "+", "~"];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** Valid Debian versions: upstream starts with a digit; ':' only in the epoch; '-' only before a revision. */
function generateVersion(random: () => number): string {
  const epoch = random() < 0.2 ? `${pick(random, ["0", "1", "2", "01", "10"])}:` : "";
  let upstream = pick(random, ["0", "1", "2", "10", "007"]);
  const length = Math.floor(random() * 6);
  for (let i = 0; i < length; i++) upstream += pick(random, UPSTREAM_CHARS);
  let revision = "";
  if (random() < 0.5 || upstream.includes("-")) {
    revision = "-";
    const revLength = 1 + Math.floor(random() * 4);
    for (let i = 0; i < revLength; i++) revision += pick(random, REVISION_CHARS);
  }
  return `${epoch}${upstream}${revision}`;
}

/** A near neighbour of `version`: one character changed, added or removed, so the hard cases come up often. */
function mutate(random: () => number, version: string): string {
  const at = 1 + Math.floor(random() * Math.max(1, version.length - 1));
  const choice = random();
  const insert = pick(random, ["~", "0", "1", "a", "+", ".", "00"]);
  const candidate =
    choice < 0.4 ? version.slice(0, at) + insert + version.slice(at) : choice < 0.7 ? version.slice(0, at) + version.slice(at + 1) : version + pick(random, ["~", "~rc1", "+b1", ".0", "a", "-1"]);
  // Keep it valid: no ':' outside the epoch, no trailing '-', starts like a version.
  const valid = /^(\d+:)?\d[0-9A-Za-z.+~-]*(-[0-9A-Za-z.+~]+)?$/.test(candidate) && !candidate.endsWith("-") && !candidate.includes("--");
  return valid ? candidate : version;
}

/** Runs dpkg --compare-versions over every pair in one shell per chunk (not one spawn per pair). */
function dpkgCompare(pairs: ReadonlyArray<readonly [string, string]>): Promise<number[]> {
  const script = `while read -r a b; do
  if dpkg --compare-versions "$a" lt "$b"; then echo -1
  elif dpkg --compare-versions "$a" eq "$b"; then echo 0
  else echo 1; fi
done`;
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", script], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0 || err !== "") reject(new Error(`dpkg loop failed (${code}): ${err}`));
      else resolve(out.trim().split("\n").map(Number));
    });
    child.stdin.end(pairs.map(([a, b]) => `${a} ${b}\n`).join(""));
  });
}

describe("Debian version comparison", () => {
  it("splits epoch, upstream and revision as dpkg does", () => {
    expect(parseDebianVersion("1:2.3-4-5")).toEqual({ epoch: 1, upstream: "2.3-4", revision: "5" });
    expect(parseDebianVersion("2.3")).toEqual({ epoch: 0, upstream: "2.3", revision: "" });
  });

  it.each([
    ["1.0~rc1", "1.0", -1],
    ["1.0", "1.0+b1", -1],
    ["1.0~~", "1.0~", -1],
    ["1.0a", "1.0.", -1],
    ["1.010", "1.9", 1],
    ["1.01", "1.1", 0],
    ["1:0.1", "2.0", 1],
    ["1.0", "1.0-0", 0],
    ["1.0-1", "1.0-1~bpo1", 1],
    ["2.0.0", "1.1.0", 1],
  ] as const)("%s vs %s is %d", (a, b, expected) => {
    expect(compareDebianVersions(a, b)).toBe(expected);
    expect(compareDebianVersions(b, a)).toBe(-expected || 0);
  });

  it("agrees with dpkg --compare-versions on 2,000 generated pairs", async () => {
    const random = prng(20240517);
    const pairs: Array<[string, string]> = [];
    while (pairs.length < 2000) {
      const a = generateVersion(random);
      const b = random() < 0.5 ? mutate(random, a) : generateVersion(random);
      pairs.push([a, b]);
    }
    const chunks = 4;
    const size = Math.ceil(pairs.length / chunks);
    const parts = await Promise.all(Array.from({ length: chunks }, (_, i) => dpkgCompare(pairs.slice(i * size, (i + 1) * size))));
    const expected = parts.flat();
    expect(expected).toHaveLength(pairs.length);
    const disagreements = pairs
      .map(([a, b], i) => ({ a, b, dpkg: expected[i], ours: compareDebianVersions(a, b) }))
      .filter((r) => r.dpkg !== r.ours);
    expect(disagreements).toEqual([]);
    // The generator must exercise every outcome and the tricky characters.
    expect(new Set(expected)).toEqual(new Set([-1, 0, 1]));
    expect(expected.filter((r) => r === 0).length).toBeGreaterThan(50);
    const all = pairs.flat().join(" ");
    for (const c of ["~", "+", ":", "-", "a", "Z", ".0"]) expect(all).toContain(c);
  }, 120_000);
});
