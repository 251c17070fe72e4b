import type { Diagnostic } from "../../core/diagnostic.ts";
import { diagnosticAt } from "../../load/yaml-source.ts";
import type { StepKindModule } from "../types.ts";
import { noDependencies, noDetail, willRun } from "../will-run.ts";

/**
 * `compliance`: declared expectations about a host's configuration (files, packages,
 * services, sshd settings, sysctl keys, commands) and its security hygiene (authorized
 * keys, listening sockets, sudo rights, pending security updates), judged read-only
 * on the host in one round trip (execute.ts). Read-only, so it plans as "will run".
 */
export const kind: StepKindModule<"compliance">["kind"] = "compliance";
export const defaultTimeoutMs: StepKindModule<"compliance">["defaultTimeoutMs"] = 5 * 60_000;
export const templatedFields: StepKindModule<"compliance">["templatedFields"] = (step) =>
  step.rules.flatMap((r, j) => (r.check.type === "command" ? [{ path: ["rules", j, "check", "command"], text: r.check.command, scope: "run" as const }] : []));

/**
 * Rules beyond the schema: rule ids are unique within a step (results and the report
 * name rules by id), and a listening port is at most 65535.
 */
export const validate: StepKindModule<"compliance">["validate"] = (step, { source, index }) => {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  step.rules.forEach((rule, j) => {
    if (seen.has(rule.id)) out.push(diagnosticAt(source, `/steps/${index}/rules/${j}/id`, "compliance/duplicate-rule-id", `rule id \`${rule.id}\` is used twice in this step`, { hint: "give every rule of a step its own id: results and the report name rules by id" }));
    seen.add(rule.id);
    if (rule.check.type === "listening-ports") {
      rule.check.allowed.forEach((entry, k) => {
        const port = Number(/(\d+)(?:\/(?:tcp|udp))?$/.exec(entry)?.[1]);
        if (port > 65535) out.push(diagnosticAt(source, `/steps/${index}/rules/${j}/check/allowed/${k}`, "compliance/port-range", `port ${port} is out of range`, { hint: "ports are 0 to 65535" }));
      });
    }
  });
  return out;
};
export const plan: StepKindModule<"compliance">["plan"] = (step, index) => willRun("compliance", step, index);
export const dependsOn: StepKindModule<"compliance">["dependsOn"] = noDependencies;
export const render: StepKindModule<"compliance">["render"] = noDetail;
