import { analyzeTemplate, compileTemplate, type RenderFn } from "../../template/index.ts";
import type { StepOf } from "../types.ts";

/**
 * An app-upgrade step's version probes, compiled once per runbook: `current_version`
 * and `available_versions` in shell mode (every value quoted). They read `host.*`,
 * `vars.*`, `app.name` and `app.range` (template-context.ts, scope "probe").
 */
export interface CompiledProbes {
  app: string;
  range: string;
  /** Probes run without become unless the step says `become: true`. */
  become: boolean;
  current: RenderFn;
  available: RenderFn | undefined;
  /** The top-level `vars` keys the probes read without tolerating their absence. */
  reads: ReadonlySet<string>;
}

export function compileProbes(step: StepOf<"app-upgrade">): CompiledProbes {
  return {
    app: step.app,
    range: step.version,
    become: step.become === true,
    current: compileTemplate(step.current_version, "shell"),
    available: step.available_versions === undefined ? undefined : compileTemplate(step.available_versions, "shell"),
    reads: varsRead([step.current_version, step.available_versions]),
  };
}

/** The probes' `app.*`: what is known of the app before its versions are read. */
export const probeAppFields = (probes: CompiledProbes): Record<string, unknown> => ({ name: probes.app, range: probes.range });

function varsRead(templates: ReadonlyArray<string | undefined>): Set<string> {
  const keys = new Set<string>();
  for (const template of templates) {
    if (template === undefined) continue;
    for (const ref of analyzeTemplate(template).references) if (!ref.optional && ref.path[0] === "vars" && ref.path[1] !== undefined) keys.add(ref.path[1]);
  }
  return keys;
}
