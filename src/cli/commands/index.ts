import type { Command } from "../io.ts";
import { apply } from "./apply.ts";
import { audit } from "./audit.ts";
import { facts } from "./facts.ts";
import { plan } from "./plan.ts";
import { publish } from "./publish.ts";
import { report } from "./report.ts";
import { results } from "./results.ts";
import { run } from "./run.ts";
import { sandbox } from "./sandbox.ts";
import { validate } from "./validate.ts";

/**
 * Every CLI command, registered in one place. test/cli/commands.test.ts checks that
 * every file in this folder is registered here.
 */
export const commands: Record<string, Command> = {
  apply,
  audit,
  facts,
  plan,
  publish,
  report,
  results,
  run,
  sandbox,
  validate,
};
