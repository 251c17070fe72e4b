import type { Diagnostic } from "../../core/diagnostic.ts";
import { diagnosticAt } from "../../load/yaml-source.ts";
import type { StepKindModule } from "../types.ts";
import { noDependencies, noDetail, willRun } from "../will-run.ts";

/**
 * `backup`: a restic or tar backup of the step's paths to its repository, after an
 * optional `pre_command`. Both of those are templates; it plans as "will run". The
 * executing half is execute.ts (restic) and tar.ts.
 */
export const kind: StepKindModule<"backup">["kind"] = "backup";
export const defaultTimeoutMs: StepKindModule<"backup">["defaultTimeoutMs"] = 2 * 3_600_000;
export const templatedFields: StepKindModule<"backup">["templatedFields"] = (step) => [
  { path: ["repository"], text: step.repository, scope: "run" },
  ...(step.pre_command !== undefined ? [{ path: ["pre_command"], text: step.pre_command, scope: "run" as const }] : []),
];

/**
 * restic needs a password (a repository has none otherwise); the restic-only fields
 * (`password`, `init`, `retention`, `tags`) mean nothing to tar; a tar archive's path
 * is absolute, so it never lands relative to the login's home.
 */
export const validate: StepKindModule<"backup">["validate"] = (step, { source, index }) => {
  const at = (field: string, rule: string, message: string, hint: string): Diagnostic => diagnosticAt(source, `/steps/${index}/${field}`, rule, message, { hint });
  const out: Diagnostic[] = [];
  if (step.tool === "restic" && step.password === undefined) out.push(at("tool", "steps/backup-password", "a restic backup needs the repository's `password`", "add `password: { env: RESTIC_PASSWORD }` (set the variable in your CI's secret store)"));
  if (step.tool === "tar") {
    for (const field of ["password", "init", "retention", "tags"] as const) {
      if (step[field] !== undefined) out.push(at(field, "steps/backup-tar-field", `\`${field}\` applies to restic only; tar ignores it`, "remove it, or use `tool: restic`"));
    }
    if (!step.repository.startsWith("/") && !step.repository.startsWith("{{")) out.push(at("repository", "steps/backup-tar-path", "a tar backup's repository is the archive's absolute path", 'e.g. repository: "/srv/backup/{{host.name}}/etc.tar.gz"'));
  }
  return out;
};
export const plan: StepKindModule<"backup">["plan"] = (step, index) => willRun("backup", step, index);
export const dependsOn: StepKindModule<"backup">["dependsOn"] = noDependencies;
export const render: StepKindModule<"backup">["render"] = noDetail;
