import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { UsageError } from "../../core/errors.ts";
import { validateRepository } from "../../validate/index.ts";
import { formatGithub, formatJson, formatText } from "../../validate/format.ts";
import { appendJobSummary } from "../../report/summary.ts";
import { ExitCode } from "../exit-codes.ts";
import type { Command } from "../io.ts";
import { jobSummaryFile } from "../out-path.ts";

const FORMATS = ["text", "json", "github"] as const;

export const validate: Command = {
  summary: "check every inventory and runbook file (schema and semantic rules)",
  usage: `usage: steward validate [--root DIR] [--format text|json|github] [--strict]

  --root DIR      repository root (default: the current directory)
  --format FMT    text (default), json, or github (workflow annotations; the full
                  list goes to $GITHUB_STEP_SUMMARY when it is set)
  --strict        treat warnings as errors

Exit codes: 0 valid, 3 invalid input (see README, Exit codes).`,
  async run(argv, io) {
    const { values } = parseFlags({
      args: argv,
      options: { root: { type: "string" }, format: { type: "string", default: "text" }, strict: { type: "boolean", default: false } },
      strict: true,
      allowPositionals: false,
    });
    const format = values.format as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`unknown format '${values.format}'`, `use one of: ${FORMATS.join(", ")}`);
    const root = resolve(io.cwd, values.root ?? ".");
    // Checked before anything is printed: a refused summary path leaves no half-written output.
    const summaryFile = format === "github" ? await jobSummaryFile(io.env, io.cwd, root) : undefined;
    const result = await validateRepository(root);
    if (format === "json") io.stdout(formatJson(result));
    else if (format === "github") {
      const { log, summary } = formatGithub(result);
      io.workflowCommands(log);
      if (summaryFile !== undefined) await appendJobSummary(summaryFile, summary);
    } else {
      io.stdout(formatText(result, result.texts));
    }
    const failed = result.errors > 0 || (values.strict && result.warnings > 0);
    return failed ? ExitCode.invalidInput : ExitCode.ok;
  },
};
