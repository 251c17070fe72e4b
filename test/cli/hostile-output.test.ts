import { describe, expect, it } from "vitest";
import { factsTable } from "../../src/cli/commands/facts.ts";
import { ExitCode } from "../../src/cli/exit-codes.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import type { FactsResult } from "../../src/facts/types.ts";
import { facts, ok } from "../plan/fixtures.ts";
import { HOSTILE } from "../core/hostile-text.ts";

/** Every table line: a header, then one per host, nothing a host's text can add. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

describe("steward facts table", () => {
  it("prints hostile OS names and error messages as plain text, one line per host", () => {
    const results: FactsResult[] = Object.entries(HOSTILE).flatMap(([kind, value], i): FactsResult[] => [
      ok(`host-${i}`, facts({ os: { id: value, versionId: `12${value}`, prettyName: value } })),
      { host: `fail-${i}`, ok: false, gatheredAt: "2026-11-22T00:00:00.000Z", error: { kind: "command-failed", message: `${kind}: ${value}\nsecond line` } } as FactsResult,
    ]);
    const table = factsTable(results);
    const lines = table.trimEnd().split("\n");
    expect(lines).toHaveLength(results.length + 1);
    expect(table).not.toMatch(CONTROL);
    expect(table).not.toContain("second line");
    const carriage = lines.find((l) => l.startsWith("host-5 "));
    expect(carriage).toContain("ok # Injected heading 12ok # Injected heading");
    expect(lines.find((l) => l.startsWith("host-0 "))).toContain("pkgname 12pkgname");
    expect(lines.find((l) => l.startsWith("fail-1 "))).toContain("title: pkgname");
    expect(lines.find((l) => l.startsWith("host-12 "))).toContain("| cell | 12| cell |");
  });
});

describe("CLI error output", () => {
  it("prints an error quoting hostile text without its escape sequences", async () => {
    const root = new URL("../fixtures/base/", import.meta.url).pathname;
    let stderr = "";
    const io: CliIO = { stdout: () => undefined, stderr: (t) => void (stderr += t), env: {}, cwd: root };
    const code = await main(["facts", "--limit", `nohost-${HOSTILE.clear}${HOSTILE.title}\r# forged`], io);
    expect(code).toBe(ExitCode.usage);
    expect(stderr).toContain("--limit: unexpected U+001B; join terms");
    expect(stderr).not.toMatch(/[\x1b\x07\r]/);
    const unknown = { stderr: "" };
    await main([`x\x1b]0;t\x07\u202Ey`], { ...io, stderr: (t) => void (unknown.stderr += t) });
    expect(unknown.stderr).toContain("unknown command 'xy'");
  });

  it.each([
    ["web-0[12", "--limit: this '[' is never closed"],
    ["(".repeat(10_000), "--limit: the selector nests '(' and '!' more than 64 deep"],
  ])("reports a bad --limit %# as a usage error, not an internal one", async (limit, message) => {
    const root = new URL("../fixtures/base/", import.meta.url).pathname;
    let stderr = "";
    const io: CliIO = { stdout: () => undefined, stderr: (t) => void (stderr += t), env: {}, cwd: root };
    expect(await main(["facts", "--limit", limit], io)).toBe(ExitCode.usage);
    expect(stderr).toContain(message);
    stderr = "";
    expect(await main(["plan", "runbooks/base.yaml", "--limit", limit], io)).toBe(ExitCode.usage);
    expect(stderr).toContain(message);
  });
});
