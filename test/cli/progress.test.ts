import { describe, expect, it } from "vitest";
import type { ApplyEvent } from "../../src/core/events.ts";
import { createProgress, eventLine } from "../../src/cli/progress.ts";

const T = "2026-11-30T01:02:03.000Z";
const failedStep: ApplyEvent = { type: "step-end", time: T, host: "web-01", result: { step: "upgrade", kind: "packages", outcome: "failed", startedAt: T, finishedAt: T, durationMs: 5, detail: "dpkg said \u001b[2Jno\u202e" } };

describe("apply progress", () => {
  it("writes one plain line per event that matters, sanitised for a terminal", () => {
    expect(eventLine({ type: "wave-start", time: T, wave: 0, hosts: ["a", "b"] })).toBe("01:02:03 wave 1: 2 host(s)");
    expect(eventLine({ type: "host-start", time: T, host: "a", wave: 0, attempt: 1 })).toBeUndefined();
    const line = eventLine(failedStep)!;
    expect(line).toMatch(/^01:02:03 {3}web-01: upgrade failed: dpkg said/);
    expect(line).not.toMatch(/[\u001b\u202e]/);
    expect(eventLine({ type: "signal", time: T, mode: "graceful", reason: "SIGINT" })).toContain("A second signal stops at once");
    expect(eventLine({ type: "budget", time: T, failures: 2, haltsAt: 2, host: "web-02" })).toContain("failure budget tripped at web-02");
    // A host waiting on another run's host lock is never silent.
    const wait = "waiting for the host lock held by run kernel-20261130T010000Z-ab12 (pid 4242 on ctl-1), at most 30 minutes: another run is changing this host";
    expect(eventLine({ type: "host-wait", time: T, host: "web-01", detail: wait })).toBe(`01:02:03   web-01: ${wait}`);
  });

  it("prints every event as one JSON line with --json, and a live view redraws in place", () => {
    let out = "";
    const json = createProgress("json", (t) => void (out += t));
    json.on(failedStep);
    expect(JSON.parse(out.trim())).toEqual(failedStep);
    let screen = "";
    const live = createProgress("live", (t) => void (screen += t));
    live.on({ type: "run-start", time: T, runId: "r", planId: "p", hosts: 2, waves: 1, resumed: false, failuresCarried: 0 });
    live.on({ type: "wave-start", time: T, wave: 0, hosts: ["web-01", "web-02"] });
    live.on({ type: "host-start", time: T, host: "web-01", wave: 0, attempt: 1 });
    live.on({ type: "step-start", time: T, host: "web-01", step: "upgrade", kind: "packages" });
    live.on({ type: "host-start", time: T, host: "web-02", wave: 0, attempt: 1 });
    live.on({ type: "host-wait", time: T, host: "web-02", detail: "waiting for the host lock held by run r2 (pid 7 on m)" });
    live.done();
    expect(screen).toContain("wave 1 (2 hosts)  done 0/2, failed 0, running 2");
    expect(screen).toContain("web-02: waiting for another run's host lock");
    expect(screen).toContain("web-02: waiting for the host lock held by run r2 (pid 7 on m)");
    expect(screen).toContain("web-01: upgrade (packages)");
  });
});
