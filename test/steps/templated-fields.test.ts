import { describe, expect, it } from "vitest";
import type { Runbook } from "../../src/model/types.ts";
import { templatedFields } from "../../src/validate/rules/templates.ts";

describe("templated fields come from the step kinds", () => {
  it("lists every template of every kind and of the gate, with its pointer and scope", () => {
    const runbook: Runbook = {
      name: "all",
      file: "runbooks/all.yaml",
      targets: "all",
      rollout: { gate: { checks: [{ type: "load", max_per_cpu: 2 }, { type: "command", command: "gate {{host.name}}" }] } },
      steps: [
        { kind: "check", name: "c", checks: [{ type: "disk", mount: "/", max_used: "90%" }, { type: "command", command: "check {{vars.x}}" }] },
        { kind: "packages", name: "p", action: "upgrade" },
        { kind: "app-upgrade", name: "a", app: "shop", version: "^2", current_version: "cur", available_versions: "avail", install: "inst {{app.version}}" },
        { kind: "command", name: "cmd", command: "run {{run.id}}", stdin: "not a template", creates: "/tmp/x" },
        { kind: "service", name: "s", service: "nginx", action: "restart" },
        { kind: "reboot", name: "r" },
        { kind: "backup", name: "b", tool: "restic", repository: "/srv/{{host.name}}", paths: ["/etc"], pre_command: "pre" },
        { kind: "verify-backup", name: "v", backup: "b" },
        { kind: "compliance", name: "k", rules: [{ id: "r1", check: { type: "sysctl", key: "a", value: "1" } }, { id: "r2", check: { type: "command", command: "comp", expect: { exit_code: 0 } } }] },
      ],
    };
    expect(templatedFields(runbook)).toEqual([
      ["/steps/0/checks/1/command", "check {{vars.x}}", "run"],
      ["/steps/2/current_version", "cur", "probe"],
      ["/steps/2/install", "inst {{app.version}}", "install"],
      ["/steps/2/available_versions", "avail", "probe"],
      ["/steps/3/command", "run {{run.id}}", "run"],
      ["/steps/6/repository", "/srv/{{host.name}}", "run"],
      ["/steps/6/pre_command", "pre", "run"],
      ["/steps/8/rules/1/check/command", "comp", "run"],
      ["/rollout/gate/checks/1/command", "gate {{host.name}}", "run"],
    ]);
  });
});
