import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { resultsProblems, type RunResults } from "../../src/apply/results.ts";
import type { HostResult } from "../../src/apply/types.ts";
import { splitFramed } from "../../src/facts/script.ts";
import type { ComplianceRule } from "../../src/model/types.ts";
import { complianceSection } from "../../src/report/compliance.ts";
import { allUnknown, complianceDetail, judgeRules, type ComplianceEvidence, type RuleEvidence } from "../../src/steps/compliance/execute.ts";
import { complianceScript } from "../../src/steps/compliance/script.ts";

const at = "2026-12-01T10:00:00.000Z";
const rule = (id: string, status: RuleEvidence["status"], extra: Partial<RuleEvidence> = {}): RuleEvidence => ({ id, type: "sshd", severity: "high", status, observed: `${id} observed`, expected: `${id} expected`, observedAt: at, ...extra });

function results(hosts: Array<{ host: string; rules: RuleEvidence[]; extra?: Partial<ComplianceEvidence> }>): RunResults {
  const hostResults: HostResult[] = hosts.map(({ host, rules, extra }) => ({
    host,
    wave: 0,
    outcome: rules.every((r) => r.status === "compliant") ? "unchanged" : "failed",
    detail: "",
    startedAt: at,
    finishedAt: at,
    steps: [{ step: "baseline", kind: "compliance", outcome: "unchanged", startedAt: at, finishedAt: at, durationMs: 5, detail: "", evidence: { compliance: { observedAt: at, rules, ...extra } } }],
  }));
  return {
    format: 1, runId: "baseline-20261201T100000Z-abcd", plan: { id: "baseline-20261201T1000-0123456789ab", digest: "0".repeat(64) }, startedAt: at, finishedAt: at, status: "hosts-failed", exitCode: 1, halt: null,
    failureBudget: { failures: 0, haltsAt: 1 }, resumes: 0,
    counts: { changed: 0, unchanged: 1, failed: 2, unreachable: 0, "skipped:stale": 0, "cancelled:precheck": 0, "not-started:budget": 0, "not-started:window": 0, "not-started:signal": 0, interrupted: 0 },
    hosts: hostResults,
  };
}

describe("the report's compliance section", () => {
  const run = results([
    { host: "web-01", rules: [rule("root-login", "compliant"), rule("keys", "compliant")] },
    { host: "web-02", rules: [rule("root-login", "non-compliant", { observed: "PermitRootLogin yes" }), rule("keys", "compliant")] },
    { host: "web-03", rules: [rule("root-login", "unknown", { observed: "(not read)", reason: "sshd -T failed: a command is missing on the host" }), rule("keys", "non-compliant", { findings: Array.from({ length: 7 }, (_, i) => `key ${i} | not allowed`) })], extra: { sudo: { rights: [{ user: "root", rules: ["(ALL : ALL) ALL"], root: true, allCommands: true }], unanswered: [] }, securityUpdates: [] } },
  ]);

  it("is valid results.json, and lists per rule the hosts failing it and per host the rules it fails", () => {
    expect(resultsProblems(run)).toEqual([]);
    const text = complianceSection(run);
    expect(text).toContain("3 compliant, 2 non-compliant and 1 unknown verdict(s) over 3 host(s)");
    expect(text).toContain("| root-login | high | web-02 | web-03 |");
    expect(text).toContain("| keys | high | web-03 | — |");
    expect(text).toContain("| web-02 | root-login | — |");
    expect(text).toContain("| web-03 | keys | root-login |");
    expect(text).toContain(`| web-02 | root-login | non-compliant | PermitRootLogin yes | root-login expected | ${at} |`);
    expect(text).toContain("| web-03 | root-login | unknown | (not read): sshd -T failed: a command is missing on the host |");
    // Host text is escaped for Markdown: a pipe cannot open a new cell.
    expect(text).toContain("key 0 \\| not allowed");
    expect(text).toContain("… 2 more in results.json");
    expect(text).toContain("| web-03 | not read | — | root (all) | 0 |");
    expect(text).not.toMatch(/\| web-01 \|/);
  });

  it("says every rule is met, and is empty without compliance steps", () => {
    expect(complianceSection(results([{ host: "web-01", rules: [rule("a", "compliant")] }]))).toContain("Every rule is met on every host.");
    const none = results([]);
    expect(complianceSection(none)).toBe("");
  });

  it("stays under its size budget by cutting the evidence, never the tables", () => {
    const many = results(Array.from({ length: 300 }, (_, i) => ({ host: `host-${i}`, rules: [rule("root-login", "non-compliant", { observed: "x".repeat(200) })] })));
    const text = complianceSection(many, 20_000);
    expect(text.length).toBeLessThanOrEqual(20_500);
    expect(text).toContain("| host-299 | root-login | — |");
    expect(text).toContain("the compliance evidence is cut here");
  });
});

describe("compliance output that breaks the framing", () => {
  const rules: ComplianceRule[] = [
    { id: "forger", check: { type: "command", command: "printf '%s rc 0\\n' @@steward-compliance-00112233445566778899aabbccddeeff@@", expect: { exit_code: 0 } } },
    { id: "other", check: { type: "command", command: "true", expect: { exit_code: 0 } } },
  ];

  it("is refused whole: every rule unknown, naming the forgery", () => {
    const { script, marker, sections } = complianceScript(rules, rules.map((r) => (r.check.type === "command" ? r.check.command : undefined)), "00112233445566778899aabbccddeeff");
    const out = spawnSync("/bin/sh", ["-s"], { input: script, encoding: "utf8" });
    let evidence: ComplianceEvidence;
    try {
      evidence = judgeRules(rules, splitFramed(out.stdout, out.stderr, marker, sections, "compliance output"), new Date(at));
    } catch (error) {
      evidence = allUnknown(rules, (error as Error).message, new Date(at));
    }
    expect(evidence.rules.map((r) => r.status)).toEqual(["unknown", "unknown"]);
    expect(evidence.rules[0]!.reason).toMatch(/^compliance output stdout: line \d+: .*; refusing the host's compliance output/);
    expect(complianceDetail(evidence)).toMatch(/^0 compliant, 0 non-compliant, 2 unknown — unknown: forger/);
  });
});
