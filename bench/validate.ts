import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import jsYaml from "js-yaml";
import { loadRepository } from "../src/load/repository.ts";
import { validateRepository, validateSources } from "../src/validate/index.ts";
import { generateRepository } from "./generate.ts";
import { cpuMs, fmt, summarise } from "./stats.ts";

const RUNS = 5;

/**
 * Validation of 10,000 hosts in 200 groups plus 50 runbooks. The reference is the
 * floor no validator can beat: reading the same YAML into values with the fastest
 * parser we have. Target: well under 1 s of CPU for the whole validation.
 */
export async function benchValidate(work: string): Promise<void> {
  const repo = await generateRepository(work);
  console.log(`repository: ${repo.hosts} hosts, ${repo.groups} groups, ${repo.runbooks} runbooks, ${(repo.bytes / 1048576).toFixed(1)} MiB of YAML and known_hosts`);
  const files: string[] = [];
  for (const dir of ["inventory", "runbooks"]) for (const f of await readdir(join(work, dir))) if (f.endsWith(".yaml")) files.push(await readFile(join(work, dir, f), "utf8"));

  const reference: number[] = [];
  const total: number[] = [];
  const semantic: number[] = [];
  let errors = -1;
  for (let i = 0; i < RUNS; i++) {
    reference.push(await cpuMs(() => files.forEach((text) => jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA }))));
    let loaded: Awaited<ReturnType<typeof loadRepository>> | undefined;
    let knownHosts = "";
    const load = await cpuMs(async () => {
      loaded = await loadRepository(work);
      knownHosts = await readFile(join(work, "inventory/known_hosts"), "utf8");
    });
    const options = { now: new Date("2026-11-22T00:00:00Z"), knownHosts: { file: "inventory/known_hosts", text: knownHosts } };
    const check = await cpuMs(() => (errors = validateSources(loaded!.inventory, loaded!.runbooks, options).errors));
    total.push(load + check);
    semantic.push(check);
  }
  if (errors !== 0) throw new Error(`the generated repository should be valid, got ${errors} errors`);
  // The same run through the public entry point must agree: no warnings either.
  const whole = await validateRepository(work, { now: new Date("2026-11-22T00:00:00Z") });
  if (whole.diagnostics.length !== 0) throw new Error(`validateRepository reported ${whole.diagnostics.length} problems on the generated repository`);
  const r = summarise(reference);
  const t = summarise(total);
  console.log(`reference (parse the YAML only): ${fmt(r)}`);
  console.log(`steward validate (load + schema + rules): ${fmt(t)} CPU`);
  console.log(`  of which schema + semantic rules: ${fmt(summarise(semantic))}`);
  console.log(`ratio validate / parse floor (median): ${(t.median / r.median).toFixed(2)}x`);
  console.log(`target: < 1000 ms CPU — ${t.median < 1000 ? "met" : "NOT met"} (median ${t.median.toFixed(0)} ms)`);
}
