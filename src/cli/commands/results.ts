import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { budgetCount } from "../../apply/results.ts";
import { mergeShards } from "../../apply/shard/merge.ts";
import { parseWave } from "../../apply/shard/partition.ts";
import { UsageError } from "../../core/errors.ts";
import { terminalText } from "../../core/text.ts";
import { displayPath as shownPath } from "../display-path.ts";
import type { Command } from "../io.ts";

export const results: Command = {
  summary: "merge the shards of a sharded run's next wave into the run's results, journal and audit entry",
  usage: `usage: steward results merge <run-id> [--root DIR] [--plan FILE] [--wave K]

  merge       merges runs/<run-id>/shards/w<K>-*-of-<N>/ (every shard of the next wave,
              steward apply --shard) into runs/<run-id>/journal.jsonl, results.json and
              report.md, enforces the cumulative failure budget and the gate, and
              records one audit entry
  --plan FILE the plan (default plans/<plan-id>.json, the id the shards' journals name)
  --wave K    the wave to merge; refused unless it is the next one

Refused (exit 5), naming the shard: a missing shard, a duplicated or moved one, shards
of another plan or run, a shard that never finished, or one run with another budget share.
Exit codes: 0 the next wave may start (or the run ended ok), 1 some hosts failed within
the budget, 2 usage, 4 halted (budget, gate or signal): the hosts left are
not-started:budget and no further wave is applied, 5 a shard cannot be merged.`,
  async run(argv, io) {
    const { values, positionals } = parseFlags({ args: argv, options: { root: { type: "string" }, plan: { type: "string" }, wave: { type: "string" } }, strict: true, allowPositionals: true });
    const [what, runId, ...extra] = positionals;
    if (what !== "merge" || runId === undefined || extra.length > 0) throw new UsageError(what === undefined || what === "merge" ? "name the run to merge" : `unknown results command '${what}'`, "steward results merge <run-id>");
    const root = resolve(io.cwd, values.root ?? ".");
    const wave = values.wave === undefined ? undefined : parseWave(values.wave);
    const merged = await mergeShards({ root, runId, secrets: io.secrets, env: io.env, ...(values.plan !== undefined ? { planFile: resolve(io.cwd, values.plan) } : {}), ...(wave !== undefined ? { wave } : {}) });
    const r = merged.results;
    const counts = Object.entries(r.counts).filter(([, n]) => n > 0).map(([o, n]) => `${n} ${o}`).join(", ");
    const lines = [
      `run ${r.runId} wave ${merged.wave + 1} merged from ${merged.shards} shard(s): ${r.status}${r.halt ? ` (${r.halt.detail})` : ""}`,
      `  hosts so far: ${counts || "none"}`,
      `  ${budgetCount(r.failureBudget.failures, r.hosts)}; the rollout halts at ${r.failureBudget.haltsAt}`,
      `wrote ${shownPath(io.cwd, resolve(root, "runs", r.runId, "results.json"))}`,
      `wrote ${shownPath(io.cwd, merged.report)}`,
      `recorded in runs/audit.jsonl (entry ${merged.audit.seq}, ${merged.audit.hash.slice(0, 12)}…)`,
      merged.ended ? `run ${r.runId} ended` : `next: wave ${merged.wave + 2} (steward apply <plan> --shard i/n --wave ${merged.wave + 2})`,
    ];
    io.stdout(`${lines.map((l) => terminalText(l)).join("\n")}\n`);
    return r.exitCode;
  },
};
