/**
 * What a step's templates may read, by when they are rendered: `host.*`, `vars.*`,
 * `run.*` on a host during a run; an app-upgrade's install command also `app.*`; an
 * app-upgrade's version probes run when facts are gathered, before any run exists, so
 * they read `host.*`, `vars.*`, `app.name` and `app.range`. Validate enforces these
 * lists and the renderers (fact probes, apply) build exactly these values.
 */
import type { Host } from "../model/types.ts";

export const HOST_FIELDS = ["name", "address", "port", "user", "criticality", "groups", "tags"] as const;
export const RUN_FIELDS = ["id", "runbook", "plan_id", "started_at"] as const;
export const APP_FIELDS = ["name", "range", "current", "version"] as const;
export const PROBE_APP_FIELDS = ["name", "range"] as const;

/** When a template is rendered, which decides what it may read. */
export type TemplateScope = "run" | "install" | "probe";

/** The roots each scope may read. */
export const SCOPE_ROOTS: Readonly<Record<TemplateScope, readonly string[]>> = { run: ["host", "vars", "run"], install: ["host", "vars", "run", "app"], probe: ["host", "vars", "app"] };

/** The host fields templates may read (`host.*`), exactly those validate allows. */
export const hostTemplateFields = (h: Host): Record<string, unknown> => Object.fromEntries(HOST_FIELDS.map((field) => [field, h[field]]));
