import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StewardError } from "../core/errors.ts";
import { sortKeys } from "./digest.ts";
import { fromDocument, toDocument, type PlanDocument } from "./document.ts";
import { renderPlanMarkdown } from "./markdown.ts";
import type { Plan } from "./types.ts";

/**
 * The plan as files: plans/<id>.json (schemas/plan.schema.json; package decisions
 * written once and referenced by index, see document.ts) and plans/<id>.md.
 * Both are pure functions of the plan: keys sorted, two-space indentation, a final
 * newline, and no time but the plan's own `createdAt`, so the same inputs give the
 * same bytes and a re-plan that changed nothing shows no diff.
 */

export function planJson(plan: Plan): string {
  return `${JSON.stringify(sortKeys(toDocument(plan)), null, 2)}\n`;
}

/** Reads a plan file's text back into a plan; `file` names it in errors. */
export function parsePlan(text: string, file: string): Plan {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new StewardError("invalid-input", `${file}: not JSON (${error instanceof Error ? error.message : String(error)})`, "plan again with `steward plan`");
  }
  if (typeof doc !== "object" || doc === null || !("packages" in doc) || !("hosts" in doc)) {
    throw new StewardError("invalid-input", `${file}: not a steward plan`, "plan again with `steward plan`");
  }
  return fromDocument(doc as PlanDocument, file);
}

export { renderPlanMarkdown };

export interface WrittenPlan {
  json: string;
  markdown: string;
}

/**
 * Writes both files atomically: each goes to a temporary file in the same directory
 * and is renamed over the target, so a reader (or a crash) never sees half a plan.
 */
export async function writePlan(plan: Plan, dir: string): Promise<WrittenPlan> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, `${plan.id}.json`);
  const markdown = join(dir, `${plan.id}.md`);
  await writeAtomic(json, planJson(plan));
  await writeAtomic(markdown, renderPlanMarkdown(plan));
  return { json, markdown };
}

export async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temp, text, { flag: "wx" });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
