import { resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { budgetCount } from "../../apply/results.ts";
import { mergeShards } from "../../apply/shard/merge.ts";
import { parseWave } from "../../apply/shard/partition.ts";
import { UsageError } from "../../core/errors.ts";
import { terminalText } from "../../core/text.ts";
import { displayPath as shownPath } from "../display-path.ts";
import type { Command, CommandIO } from "../io.ts";
import { summariseRuns } from "../../apply/summarise.ts";

export const results: Command = {
  summary: "merge the shards of a sharded run's next wave; write the summaries reports read for older runs",
  usage: `usage: steward results merge <run-id> [--root DIR] [--plan FILE] [--wave K] [--accept-unknown] [--accept-stopped]
       steward results summarise [<run-id>...] [--root DIR]

  merge       merges runs/<run-id>/shards/w<K>-*-of-<N>/ (every shard of the next wave,
              steward apply --shard) into runs/<run-id>/journal.jsonl, results.json and
              report.md, enforces the cumulative failure budget and the gate, and
              records one audit entry
  --plan FILE the plan (default plans/<plan-id>.json, the id the shards' journals name)
  --wave K    the wave to merge; refused unless it is the next one
  --accept-unknown
              merge although a shard left hosts holding a step of unknown effect
              (refused without it, exit 2: once merged, the shards cannot be resumed
              with --retry-unknown)
  --accept-stopped
              merge although a shard was stopped by SIGINT/SIGTERM: the run halts
              there (halted:signal). Refused without it (exit 2), naming the shard:
              continue it first (steward apply <plan> --resume <run-id> --shard I/N
              --wave K), as a crashed one

Refused (exit 5), naming the shard: a missing shard (and what records that it started:
its lock left behind, a commit holding its journal; or that nothing does), a duplicated
or moved one, shards of another plan or run, a shard that never finished (continue it:
steward apply <plan> --resume <run-id> --shard I/N --wave K), or one run with another
budget share. Torn journal lines a shard's resume cut off are named on standard error.
A merge killed at any point (a lost runner, kill -9) is completed by running the same
command again: the wave is in the run's journal whole or not at all, and the audit
entry, written last, marks it done; the re-run writes what is missing, once.
Exit codes: 0 the next wave may start (or the run ended ok), 1 some hosts failed within
the budget, 2 usage, 4 halted (budget, gate or signal): the hosts left are
not-started:budget and no further wave is applied, 5 a shard cannot be merged.

  summarise   writes runs/<run-id>/summary.json (the compact form reports read) for
              each named run, or every run, that has none or a wrong one, derived
              from its results.json; refuses (exit 5), naming it, a results.json that
              is not the one runs/audit.jsonl recorded. A name that is not a run id,
              a run with no folder under runs/, or a run named twice is a usage error
              (exit 2); a named run with no results.json yet (still applying, or
              stopped: resume it) is invalid input (exit 3); both are refused before
              anything is written. Exit 0 when every run has its summary. Commit the
              summaries it writes.`,
  async run(argv, io) {
    const { values, positionals } = parseFlags({ args: argv, options: { root: { type: "string" }, plan: { type: "string" }, wave: { type: "string" }, "accept-unknown": { type: "boolean" }, "accept-stopped": { type: "boolean" } }, strict: true, allowPositionals: true });
    const [what, runId, ...extra] = positionals;
    if (what === "summarise" || what === "summarize") {
      if (values.plan !== undefined || values.wave !== undefined) throw new UsageError(`--${values.plan !== undefined ? "plan" : "wave"} is an option of results merge`, "steward results summarise [<run-id>...]");
      return summarise(resolve(io.cwd, values.root ?? "."), positionals.slice(1), io);
    }
    if (what !== "merge" || runId === undefined || extra.length > 0) throw new UsageError(what === undefined || what === "merge" ? "name the run to merge" : `unknown results command '${what}'`, "steward results merge <run-id>");
    const root = resolve(io.cwd, values.root ?? ".");
    const wave = values.wave === undefined ? undefined : parseWave(values.wave);
    const merged = await mergeShards({ root, runId, secrets: io.secrets, env: io.env, ...(values.plan !== undefined ? { planFile: resolve(io.cwd, values.plan) } : {}), ...(wave !== undefined ? { wave } : {}), acceptUnknown: values["accept-unknown"] === true, acceptStopped: values["accept-stopped"] === true });
    for (const note of merged.notes) io.stderr(`steward results: note: ${terminalText(note)}\n`);
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

/** `steward results summarise`: one line per run written or refused, and a count; exit 5 when any was refused. */
async function summarise(root: string, runIds: string[], io: CommandIO): Promise<number> {
  const outcomes = await summariseRuns(root, runIds);
  const written = outcomes.filter((o) => o.action === "written").map((o) => `wrote runs/${o.runId}/summary.json`);
  const refused = outcomes.filter((o) => o.action === "refused").map((o) => `refused ${o.runId}: ${o.reason ?? ""}`);
  const n = (a: string): number => outcomes.filter((o) => o.action === a).length;
  const total = `${outcomes.length} run(s): ${n("written")} written, ${n("unchanged")} already summarised, ${n("refused")} refused${n("skipped") > 0 ? `, ${n("skipped")} without results yet` : ""}`;
  io.stdout(`${[...written, total].map((l) => terminalText(l)).join("\n")}\n`);
  if (refused.length > 0) io.stderr(`${refused.map((l) => terminalText(l)).join("\n")}\n`);
  return n("refused") > 0 ? 5 : 0;
}
