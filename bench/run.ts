/**
 * `npm run bench`: speed and memory figures, each printed as a ratio to a reference
 * measured in the same run on the same machine, so results compare across machines.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchApply } from "./apply.ts";
import { benchFacts } from "./facts.ts";
import { benchPlan } from "./plan.ts";
import { benchReport } from "./report.ts";
import { benchTransport } from "./transport.ts";
import { benchValidate } from "./validate.ts";

const only = process.argv.slice(2);
const suites: Record<string, (work: string) => Promise<void>> = {
  validate: benchValidate,
  transport: benchTransport,
  facts: benchFacts,
  plan: benchPlan,
  apply: benchApply,
  report: benchReport,
};

const work = await mkdtemp(join(tmpdir(), "steward-bench-"));
try {
  for (const [name, suite] of Object.entries(suites)) {
    if (only.length > 0 && !only.includes(name)) continue;
    console.log(`\n## ${name}`);
    await suite(join(work, name));
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
