// Takes a plan's lock and holds it until killed. argv: <runs dir> <plan id> <run id>.
// Prints "locked" once it holds the lock, or the refusal's message and hint.
import { lockPlan } from "../../../src/apply/lock.ts";
import { StewardError } from "../../../src/core/errors.ts";

const [runsDir, planId, runId] = process.argv.slice(2) as [string, string, string];
try {
  await lockPlan(runsDir, planId, { runId, staleMs: 2000 });
  process.stdout.write("locked\n");
  setInterval(() => undefined, 1000);
} catch (error) {
  if (!(error instanceof StewardError)) throw error;
  process.stdout.write(`refused: ${error.message} | ${error.hint ?? ""}\n`);
  process.exit(4);
}
