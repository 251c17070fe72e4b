import { describe, expect, it } from "vitest";
import { RowSlices } from "../../src/report/history/json-row.ts";
import { splitWriterRow } from "../../src/report/history/row-bytes.ts";
import { decodeRow } from "../../src/report/history/snapshot-grammar.ts";
import { prng } from "../support/prng.ts";

const BOOT = "0b7c4e2a-9d1f-4c3b-8a6e-5f4d3c2b1a09";
const ROW = ["h-0001", "2026-12-01T01:00:00.000Z", ["web", "db"], "debian 12", [["/", 53687091200, 13485280820], ["/var", 214748364800, 45754207479]], [8589934592, 5438175613], [0.81, 0.97, 0.92, 2], 28515600.25, BOOT, true, [["libc6", "2.36-9+deb12u4", "2.36-9+deb12u7", "security"]]];

/** The values splitWriterRow found, each as JSON.parse reads its bytes; null when it declines the line. */
function split(line: string): unknown[] | null {
  const b = Buffer.from(line, "utf8");
  const out = new RowSlices();
  if (!splitWriterRow(b, 0, b.length, out)) return null;
  return Array.from({ length: out.count }, (_, i) => JSON.parse(b.toString("utf8", out.starts[i], out.ends[i])) as unknown);
}

describe("a snapshot row in the writer's plain form, split and checked from its bytes", () => {
  it("splits what the writer writes, reachable or not, into the values JSON.parse gives", () => {
    expect(split(JSON.stringify(ROW))).toEqual(ROW);
    expect(split(JSON.stringify(["h-1", "2026-12-01T01:00:00.000Z", ["web"]]))).toEqual(["h-1", "2026-12-01T01:00:00.000Z", ["web"]]);
    const edge = [...ROW];
    edge[4] = [];
    edge[5] = [0, 0];
    edge[6] = [0, 0, 0, 65536];
    edge[7] = 0;
    edge[9] = false;
    edge[10] = [];
    expect(split(JSON.stringify(edge))).toEqual(edge);
  });

  it("declines a good row in another form and every value its grammar refuses, which the full reader then judges", () => {
    const good = JSON.stringify(ROW);
    const declined = [
      ` ${good}`,
      good.replace(",", ", "),
      good.replace("28515600.25", "2.851560025e7"),
      good.replace('"/var"', '"\\/var"'),
      good.replace("[0.81,", "[-0,"),
      good.replace("[0.81,", "[4194304,"),
      good.replace("53687091200,", "9007199254740992,"),
      good.replace("5438175613]", "8589934593]"),
      good.replace(",2],", ",0],"),
      good.replace(",2],", ",65537],"),
      good.replace(",2],", ",2.0],"),
      good.replace('"/var"', '"/"'),
      good.replace('"/var"', '"var"'),
      good.replace("28515600.25", "1e400"),
      good.replace("true,[[", "1,[["),
      good.replace("[8589934592,5438175613]", "null"),
      good.slice(0, -1),
      `${good}]`,
      JSON.stringify([...ROW, 1]),
      JSON.stringify(ROW.slice(0, 4)),
    ];
    for (const line of declined) expect(split(line), line).toBeNull();
  });

  it("accepts only rows the full grammar accepts, with the same values, over 20,000 mutations", () => {
    const next = prng(3);
    const int = (n: number): number => Math.floor(next() * n);
    const alphabet = ['"', "\\", "[", "]", ",", " ", "0", "1", "9", "-", ".", "e", "/", "a", "t", "f", "é", "\u0001"];
    const bases = [JSON.stringify(ROW), JSON.stringify(["h-1", "2026-12-01T01:00:00.000Z", ["web"]])];
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      let line = bases[int(bases.length)]!;
      for (let e = 1 + int(2); e > 0; e--) {
        const at = int(line.length + 1);
        const ch = alphabet[int(alphabet.length)]!;
        const op = int(3);
        line = op === 0 ? line.slice(0, at) + ch + line.slice(at) : op === 1 ? line.slice(0, at) + line.slice(at + 1) : line.slice(0, at) + ch + line.slice(at + 1);
      }
      const values = split(line);
      if (values === null) continue;
      accepted += 1;
      const parsed = JSON.parse(line) as unknown[];
      expect(values, line).toEqual(parsed);
      // Identity, reboot flag and updates are checked by the reader after the split; the rest must already keep the grammar.
      const problem = decodeRow(parsed);
      if (typeof problem === "string") expect(problem, line).toMatch(/host name|takenAt|groups|os|bootId|rebootRequired|upgradable/);
    }
    expect(accepted).toBeGreaterThan(500);
  });
});
