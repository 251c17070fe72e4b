import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { StewardError } from "../core/errors.ts";
import { writeFilesAtomic } from "../core/fs.ts";
import { scanJsonShape } from "../core/json-shape.ts";
import { redactStrings, type RedactText } from "../core/redact-value.ts";
import { sortKeys } from "./digest.ts";
import { checkFormat, fromDocument, planDigest, REPLAN_HINT, planId, sealPlan, toDocument, type PlanDocument } from "./document.ts";
import { renderPlanMarkdown } from "./markdown.ts";
import type { Plan } from "./types.ts";

/**
 * The plan as files: plans/<id>.json (schemas/plan.schema.json; package decisions
 * written once and referenced by index, see document.ts) and plans/<id>.md.
 * Both are pure functions of the plan: keys sorted, two-space indentation, a final
 * newline, and no time but the plan's own `createdAt`, so the same inputs give the
 * same bytes and a re-plan that changed nothing shows no diff.
 *
 * The JSON carries the plan's `digest` (planDigest) and the Markdown shows it, so what
 * reviewers read is tied to what apply will run; parsePlan refuses a file whose
 * content no longer matches its digest.
 */

export function planJson(plan: Plan): string {
  return `${JSON.stringify(sortKeys(toDocument(plan)), null, 2)}\n`;
}

/**
 * Reads a plan file's text back into a plan, refusing anything but a plan exactly as
 * steward wrote it. In order: JSON without a repeated key (JSON.parse keeps the last,
 * so a decoy `createdAt` put before the real one would show readers another value than
 * apply uses; the duplicate is named by its JSON pointer), the format (an unknown one says to re-plan), the
 * schema (schemas/plan.schema.json), the digest over the content, the id made from
 * the digest, and the package indices. `file` names the file in errors; the file's
 * content is never quoted in them.
 * @throws StewardError "stale-plan" (exit 5) for each of these.
 */
export function parsePlan(text: string, file: string): Plan {
  const replan = REPLAN_HINT;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new StewardError("stale-plan", `${file}: not JSON${jsonErrorPlace(text, error)}; the plan file is damaged`, replan);
  }
  // Plans nest as deep as the runbook's variables, which no rule bounds: only repeated keys are looked for.
  const duplicate = scanJsonShape(text, Number.POSITIVE_INFINITY).duplicate;
  if (duplicate !== undefined) {
    throw new StewardError("stale-plan", `${file}: the key ${duplicate} appears twice; steward never writes that, so the plan was changed after it was written`, replan);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new StewardError("stale-plan", `${file}: not a steward plan`, replan);
  checkFormat((doc as { format?: unknown }).format, file);
  const validate = planValidator();
  if (!validate(doc)) {
    const problems = (validate.errors ?? []).slice(0, 5).map(describeError).join("; ");
    throw new StewardError("stale-plan", `${file}: not a plan as steward writes it (${problems}); it was changed after it was written, or is damaged`, replan);
  }
  const plan = doc as PlanDocument;
  if (planDigest(plan) !== plan.digest) {
    throw new StewardError("stale-plan", `${file}: the plan was changed after it was written: its content no longer matches its digest sha256:${plan.digest}`, replan);
  }
  if (planId(plan.runbook.name, plan.createdAt, plan.digest) !== plan.id) {
    throw new StewardError("stale-plan", `${file}: the plan was changed after it was written: its id ${plan.id} is not the one its runbook, time and digest make`, replan);
  }
  return fromDocument(plan, file);
}

/**
 * Where JSON.parse stopped, as " (line L, column C)". Only the place: V8's message
 * may quote the text around it, and a plan file is never quoted in an error.
 */
function jsonErrorPlace(text: string, error: unknown): string {
  const position = /at position (\d+)/.exec(error instanceof Error ? error.message : "");
  if (position === null) return "";
  const before = text.slice(0, Number(position[1]));
  const line = before.split("\n").length;
  return ` (line ${line}, column ${before.length - before.lastIndexOf("\n")})`;
}

/** "at /hosts/3/wave: must be integer", without the offending value. */
function describeError(error: ErrorObject): string {
  const extra = error.keyword === "additionalProperties" ? ` (\`${String((error.params as { additionalProperty?: unknown }).additionalProperty)}\`)` : "";
  return `at ${error.instancePath || "/"}: ${error.message ?? error.keyword}${extra}`;
}

let compiled: ValidateFunction | undefined;

/** schemas/plan.schema.json compiled once, with the runbook schema its policy refers to (and the inventory schema that one refers to). */
function planValidator(): ValidateFunction {
  if (compiled !== undefined) return compiled;
  const read = (name: string): object => JSON.parse(readFileSync(new URL(`../../schemas/${name}.schema.json`, import.meta.url), "utf8")) as object;
  // ajv-formats ships CommonJS; its default export arrives wrapped under ESM interop.
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true, strictRequired: false, discriminator: true }));
  // Wording keys of the runbook schema, meaningful to `steward validate` only.
  ajv.addVocabulary(["x-message", "x-format"]);
  ajv.addSchema(read("inventory"), "inventory.schema.json");
  ajv.addSchema(read("runbook"), "runbook.schema.json");
  ajv.addSchema(read("plan"), "plan.schema.json");
  compiled = ajv.getSchema("plan.schema.json")!;
  return compiled;
}

export { renderPlanMarkdown };

export interface WritePlanOptions {
  /** The repository root: no folder between it and the output may be a symbolic link (src/core/fs.ts). */
  root?: string;
  /**
   * Applied before anything is written: to every string of the plan document (keys
   * and values), then the digest and id are computed over the redacted content, then
   * the Markdown is rendered from that plan and the redactor applied to its text too.
   * So the digest covers exactly the bytes written, and the id names them.
   */
  redact?: RedactText;
}

export interface WrittenPlan {
  json: string;
  markdown: string;
  /** The plan as written: the input plan, or its redacted and re-sealed form when redaction changed it. */
  plan: Plan;
}

/**
 * Writes plans/<id>.json and <id>.md as a pair with writeFilesAtomic: both complete
 * and fsync'd, or neither changed; never through a symbolic link.
 * @throws EnvironmentError (exit 6) when the folder is a link, read-only, forbidden or full.
 */
export async function writePlan(plan: Plan, dir: string, options: WritePlanOptions = {}): Promise<WrittenPlan> {
  let written = plan;
  let markdownText: (p: Plan) => string = (p) => renderPlanMarkdown(p);
  if (options.redact !== undefined) {
    const redact = options.redact;
    const { id: _id, digest: _digest, ...body } = toDocument(plan);
    const clean = redactStrings(body, redact);
    if (clean !== body) written = sealPlan(fromDocument(clean));
    markdownText = (p) => redact(renderPlanMarkdown(p));
  }
  const json = join(dir, `${written.id}.json`);
  const markdown = join(dir, `${written.id}.md`);
  await writeFilesAtomic(
    [
      { path: json, text: planJson(written) },
      { path: markdown, text: markdownText(written) },
    ],
    { ...(options.root === undefined ? {} : { root: options.root }), elsewhere: "write the plan elsewhere with --out DIR" },
  );
  return { json, markdown, plan: written };
}
