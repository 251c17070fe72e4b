import { describe, expect, it } from "vitest";
import type { HostOutcome, HostResult, StepOutcome, StepResult } from "../../src/apply/types.ts";
import type { StepKind } from "../../src/model/types.ts";
import { failureKind, hostSeverity, runSeverity } from "../../src/report/severity.ts";

const step = (kind: StepKind, outcome: StepOutcome): StepResult => ({ step: `${kind} step`, kind, outcome, startedAt: "2026-11-30T01:00:00.000Z", finishedAt: "2026-11-30T01:00:01.000Z", durationMs: 1000, detail: "" });
/** A packages step that got as far as starting its transaction (its job id recorded). */
const started = (outcome: StepOutcome): StepResult => ({ ...step("packages", outcome), evidence: { job: "tx-20261130T010000Z-0123456789ab" } });
const host = (outcome: HostOutcome, steps: StepResult[] = []): HostResult => ({ host: "h", wave: 0, outcome, detail: "", startedAt: null, finishedAt: null, steps });

describe("failure kinds", () => {
  it("a package step failed after starting its transaction, or a reboot that never returned, is a broken host", () => {
    expect(failureKind(host("failed", [step("check", "unchanged"), started("failed")]))).toBe("broken");
    expect(failureKind(host("failed", [step("packages", "unknown")]))).toBe("broken");
    expect(failureKind(host("failed", [step("packages", "changed"), step("reboot", "failed")]))).toBe("broken");
    expect(failureKind(host("failed", [step("app-upgrade", "unknown")]))).toBe("broken");
  });

  it("a package step refused before its transaction (no job recorded) left the host untouched", () => {
    expect(failureKind(host("failed", [step("check", "unchanged"), step("packages", "failed")]))).toBe("untouched");
    expect(hostSeverity(host("failed", [step("packages", "failed")]), "high")).toBe("SEV3");
  });

  it("a command failing after a change is partial; before any change, untouched", () => {
    expect(failureKind(host("failed", [step("command", "changed"), step("command", "failed")]))).toBe("partial");
    expect(failureKind(host("failed", [step("command", "unchanged"), step("service", "failed")]))).toBe("untouched");
  });

  it("unreachable and pre-check cancellations keep their own kind; hosts that did not fail have none", () => {
    expect(failureKind(host("unreachable"))).toBe("unreachable");
    expect(failureKind(host("cancelled:precheck", [step("check", "failed")]))).toBe("precheck");
    for (const outcome of ["changed", "unchanged", "skipped:stale", "not-started:budget", "not-started:window", "interrupted"] as const) {
      expect(failureKind(host(outcome))).toBeUndefined();
    }
  });
});

describe("severity", () => {
  it("grades by what was left behind and the host's criticality", () => {
    const broken = host("failed", [started("failed")]);
    expect(hostSeverity(broken, "critical")).toBe("SEV1");
    expect(hostSeverity(broken, "high")).toBe("SEV2");
    expect(hostSeverity(broken, "low")).toBe("SEV3");
    expect(hostSeverity(host("unreachable"), "critical")).toBe("SEV2");
    expect(hostSeverity(host("unreachable"), "medium")).toBe("SEV4");
    expect(hostSeverity(host("cancelled:precheck"), "critical")).toBe("SEV3");
    expect(hostSeverity(host("changed"), "critical")).toBeUndefined();
  });

  it("a run takes its worst host, and a halted rollout is at least SEV3", () => {
    expect(runSeverity([{ result: host("unreachable"), criticality: "low" }, { result: host("failed", [step("reboot", "failed")]), criticality: "high" }], false)).toBe("SEV2");
    expect(runSeverity([{ result: host("unreachable"), criticality: "low" }], true)).toBe("SEV3");
    expect(runSeverity([{ result: host("failed", [started("failed")]), criticality: "critical" }], true)).toBe("SEV1");
    expect(runSeverity([{ result: host("changed"), criticality: "critical" }], false)).toBeUndefined();
  });
});
