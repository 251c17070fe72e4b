import { checkRange, decideApp } from "./decide.ts";
import type { StepKindModule } from "../types.ts";

/**
 * `app-upgrade`: an application outside the package manager. Its `current_version`
 * and `available_versions` probes run when facts are gathered (probes.ts renders
 * them); the plan picks the newest available version inside the step's semver range
 * (decide.ts); apply runs `install` with `{{app.version}}` and reads the version back.
 */
export const kind: StepKindModule<"app-upgrade">["kind"] = "app-upgrade";
export const defaultTimeoutMs: StepKindModule<"app-upgrade">["defaultTimeoutMs"] = 15 * 60_000;

export const templatedFields: StepKindModule<"app-upgrade">["templatedFields"] = (step) => [
  { path: ["current_version"], text: step.current_version, scope: "probe" },
  { path: ["install"], text: step.install, scope: "install" },
  ...(step.available_versions !== undefined ? [{ path: ["available_versions"], text: step.available_versions, scope: "probe" as const }] : []),
];

export const validate: StepKindModule<"app-upgrade">["validate"] = (step, { source, index }) => checkRange(source, index, step.version);

export const plan: StepKindModule<"app-upgrade">["plan"] = (step, index, host) => {
  host.managesApps = true;
  host.dependOnApp(step.app);
  const decision = decideApp(step.app, step.version, host.facts.apps?.[step.app], host.runbookName);
  if (decision.status === "upgrade") host.changes++;
  return { step: step.name, index, kind: "app-upgrade", ...decision };
};

export const dependsOn: StepKindModule<"app-upgrade">["dependsOn"] = (a) => ({ packages: [], apps: [a.app], host: true });

export const render: StepKindModule<"app-upgrade">["render"] = (a) => ({
  notes: [a.status === "upgrade" ? `${a.step}: ${a.app} ${a.current} → ${a.to} (${a.updateType}, in ${a.range}; ${a.detail})` : `${a.step}: ${a.app} ${a.status === "current" ? "stays" : "cannot be planned"}: ${a.detail}`],
});
