import { lstat, readFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { parseFlags } from "../args.ts";
import { resultsProblems, type RunResults } from "../../apply/results.ts";
import { readPlanFile } from "../../apply/index.ts";
import { RUN_ID } from "../../audit/entry.ts";
import { readAuditLog } from "../../audit/log.ts";
import { StewardError, UsageError } from "../../core/errors.ts";
import { isGitRepository } from "../../core/git.ts";
import { terminalText } from "../../core/text.ts";
import { planPublication, resultsPublication } from "../../publish/compose.ts";
import { publisherFor } from "../../publish/select.ts";
import { incidentReports } from "../../publish/incidents.ts";
import { isoWeekOf, isoWeekStart } from "../../publish/markers.ts";
import { readReportParts, reportPublication } from "../../publish/report.ts";
import { writeJobSummary } from "../../report/summary.ts";
import { postmortemToPublish } from "../../report/postmortem/command.ts";
import { isIncident } from "../../report/postmortem/write.ts";
import type { PublishedChange, Publisher, PublishFile } from "../../publish/types.ts";
import { ExitCode } from "../exit-codes.ts";
import { jobSummaryFile } from "../out-path.ts";
import { parsePlanTime } from "../../plan/clock.ts";
import type { Command, CommandIO } from "../io.ts";


function describe(what: string, change: PublishedChange): string[] {
  const lines = [`${what}: ${change.action}${change.committed ? `, committed ${change.commit.slice(0, 12)} to ${change.branch}` : ` (${change.branch} already at ${change.commit.slice(0, 12)})`}`, `  review: ${change.review.url} (${change.review.state})`];
  for (const s of change.superseded) lines.push(`  superseded: ${s.url}`);
  return lines;
}

async function readResults(root: string, runId: string): Promise<RunResults> {
  const path = join(root, "runs", runId, "results.json");
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StewardError("usage", code === "ENOENT" ? `there is no run ${runId} (runs/${runId}/results.json does not exist)` : `runs/${runId}/results.json is not JSON`, "name a run steward apply finished: steward publish results <run-id>");
  }
  const problems = resultsProblems(value);
  if (problems.length > 0) throw new StewardError("stale-plan", `runs/${runId}/results.json is not a results file steward writes: ${problems.slice(0, 3).join("; ")}`, "restore it from Git; `steward audit verify` names what changed");
  return value as RunResults;
}

/** The first week `--week` may name: reports are dated from 2000 on, like every other date steward reads. */
const FIRST_WEEK = "2000-W01";

/**
 * The week to publish: `--week`, else the ISO week (UTC) of `--now` or of today.
 * `--week` must be a real ISO 8601 week (`YYYY-Www`, W53 only in a year that has
 * one), from {@link FIRST_WEEK} to the week a year after `today`: a week further out
 * is a typo, and would open a branch and pull request no report will ever fill. The
 * week worked out from `--now` is held to the same range (measured from the real
 * `today`, not from `--now`), so `--now` is no way around it.
 * @throws UsageError (exit 2) naming the week (and the `--now` it came from) and the allowed form and range.
 */
export function weekArg(week: string | undefined, now: string | undefined, today: Date = new Date()): string {
  if (week === undefined && now === undefined) return isoWeekOf(today);
  if (week !== undefined && now !== undefined) throw new UsageError("give --week or --now, not both", "steward publish report status.md --week 2026-W50");
  const latest = isoWeekOf(new Date(Date.UTC(today.getUTCFullYear() + 1, today.getUTCMonth(), Math.min(today.getUTCDate(), 28))));
  const form = `name the week as YYYY-Www (ISO 8601: W01 to W52, W53 only in a year that has one), from ${FIRST_WEEK} to ${latest}, e.g. ${isoWeekOf(today)}`;
  let start: Date;
  let named: string;
  if (week === undefined) {
    week = isoWeekOf(parsePlanTime(now!));
    start = isoWeekStart(week);
    named = `--now ${JSON.stringify(now)} falls in ${week}, which`;
  } else {
    try {
      start = isoWeekStart(week);
    } catch (error) {
      throw new UsageError(`--week ${(error as Error).message}`, form);
    }
    named = `--week ${week}`;
  }
  if (start < isoWeekStart(FIRST_WEEK)) throw new UsageError(`${named} is before ${FIRST_WEEK}`, form);
  if (start > isoWeekStart(latest)) throw new UsageError(`${named} is more than a year after this week (${isoWeekOf(today)})`, form);
  return week;
}

export const publish: Command = {
  summary: "commit a plan or a run's results to its branch and open or update its pull request (git or GitHub)",
  usage: `usage: steward publish plan <plans/<id>.json> [--root DIR] [--publisher git|github]
       steward publish results <run-id> [--root DIR] [--publisher git|github]
       steward publish preview <plans/<id>.json> --pull-request N [--root DIR]
       steward publish report <report.md>... [<report.json>...] [--week YYYY-Www] [--now ISO] [--job-summary]

  plan       commits the plan's .json and .md to steward/plan/<runbook> and opens or
             updates its pull request; an older plan's pull request is closed
  results    commits runs/<run-id>/ and runs/audit.jsonl to steward/results/<run-id>,
             opens or updates its pull request, and opens, updates or closes the
             runbook's incident (a failed or halted run opens; a clean run closes)
  preview    the plan as a sticky comment on pull request N (edited in place)
  report     the weekly report: the Markdown reports given, each once (steward report
             status, trends, forecast --out FILE), joined into reports/<week>.md, the JSON ones
             into reports/<week>.json, committed to steward/report/<week> with one pull
             request per week, updated in place; the week is --week (ISO 8601, W53
             only in years that have one, from 2000-W01 to a year after this week),
             else the ISO week of --now (held to the same range) or today (UTC). --job-summary also appends it to the Actions job
             summary (GITHUB_STEP_SUMMARY, within GitHub's 1 MiB)
  --publisher  github when GITHUB_REPOSITORY and a credential are set, else git (a
             local branch; review bodies in .steward/reviews/, incidents in incidents/)

Publishing twice changes nothing: no duplicate commit, pull request, comment or issue.
Exit codes: 0 published, 2 usage, 5 a run's results are not steward's, 6 environment
(git or GitHub refused; the error names the permission to grant).`,
  async run(argv, io) {
    const { values, positionals } = parseFlags({
      args: argv,
      options: { root: { type: "string" }, publisher: { type: "string" }, "pull-request": { type: "string" }, week: { type: "string" }, now: { type: "string" }, "job-summary": { type: "boolean" } },
      strict: true,
      allowPositionals: true,
    });
    const [what, target, ...extra] = positionals;
    const many = what === "report";
    if (what === undefined || target === undefined || (extra.length > 0 && !many) || !["plan", "results", "preview", "report"].includes(what)) throw new UsageError("name what to publish", "steward publish plan plans/<id>.json | steward publish results <run-id> | steward publish report status.md trends.md …");
    if (!many && (values.week !== undefined || values.now !== undefined || values["job-summary"] !== undefined)) throw new UsageError("--week, --now and --job-summary are for publish report", "steward publish report status.md --week 2026-W50");
    const root = resolve(io.cwd, values.root ?? ".");
    if (!(await isGitRepository(root))) throw new StewardError("environment", `${root} is not a git repository: publishing commits plans and results to it`, "run steward in a clone of the repository (git init, or git clone)");
    const lines: string[] = [];
    if (what === "report") {
      const week = weekArg(values.week, values.now);
      // Checked before anything is read or published: a refused summary path publishes nothing.
      const summaryFile = values["job-summary"] === true ? await jobSummaryFile(io.env, io.cwd, root) : undefined;
      const parts = await readReportParts([target, ...extra].map((f) => ({ path: resolve(io.cwd, f), shown: f })));
      const publication = reportPublication(week, parts);
      if (values["job-summary"] === true) {
        const summary = await writeJobSummary(String(publication.files[0]!.content), { ...(summaryFile !== undefined ? { path: summaryFile } : {}), env: io.env, fullTextPath: publication.files[0]!.path });
        lines.push(summary.written ? `job summary: ${summary.bytes} bytes${summary.sectionsOmitted > 0 || summary.cut ? `, ${summary.sectionsOmitted} section(s) left out to fit 1 MiB` : ""}` : `job summary: not written (${summary.reason})`);
      }
      lines.push(...describe(`report ${week}`, await publisherFor(values.publisher, root, io).publishReport(publication)));
      io.stdout(`${lines.map((l) => terminalText(l)).join("\n")}\n`);
      return ExitCode.ok;
    }
    const publisher = publisherFor(values.publisher, root, io);
    if (what === "plan" || what === "preview") {
      const planPath = resolve(io.cwd, target);
      const inside = relative(root, planPath);
      if (inside.startsWith("..") || isAbsolute(inside)) throw new UsageError(`${JSON.stringify(target)} is outside the repository ${root}: only a plan in its plans/ can be published`, "steward publish plan plans/<id>.json");
      const info = await lstat(planPath).catch(() => null);
      if (info !== null && !info.isFile()) throw new UsageError(`${JSON.stringify(target)} is ${info.isSymbolicLink() ? "a symbolic link" : "not a regular file"}: publish the plan file steward plan wrote`, "steward publish plan plans/<id>.json");
      const plan = await readPlanFile(planPath, target);
      const publication = await planPublication(root, plan);
      if (what === "preview") {
        const n = Number(values["pull-request"]);
        if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError("preview needs --pull-request N", "steward publish preview plans/<id>.json --pull-request 12");
        const outcome = await publisher.stickyComment({ pullRequest: n, key: `plan-preview-${plan.runbook.name}`, body: publication.body });
        lines.push(`plan preview: ${outcome.action} ${outcome.url}`);
      } else lines.push(...describe(`plan ${plan.id}`, await publisher.publishPlan(publication)));
    } else {
      if (!RUN_ID.test(target)) throw new UsageError(`${JSON.stringify(target)} is not a run id`, "use the run id steward apply printed");
      const results = await readResults(root, target);
      const plan = await readPlanFile(join(root, "plans", `${results.plan.id}.json`), `plans/${results.plan.id}.json`);
      const log = await readAuditLog(root);
      const entry = log.entries.filter((e) => e.entry.runId === target).at(-1)?.entry;
      const extra: PublishFile[] = [];
      const links: string[] = [];
      // A failed or halted run's write-up goes with its results, and its incident links it (never over a hand-edited one).
      const postmortem = isIncident(results) ? await postmortemToPublish(root, target) : undefined;
      if (postmortem !== undefined) {
        extra.push({ path: postmortem.path, content: postmortem.content });
        lines.push(`post-incident report: ${postmortem.path} (${postmortem.action === "kept" ? "edited by hand, published as it is" : "generated"})`);
      }
      for (const found of incidentReports(results, plan, io.env, `runs/${target}/report.md`)) {
        const report = postmortem === undefined || found.status !== "failing" ? found : { ...found, body: { ...found.body, summary: `${found.body.summary}\n\nPost-incident write-up: \`${postmortem.path}\` (on \`steward/results/${target}\`).` } };
        const outcome = await publisher.incident(report);
        if (outcome.action === "none") continue;
        lines.push(`incident ${report.runbook} ${report.severity}: ${outcome.action}${outcome.review ? ` ${outcome.review.url}` : ""}`);
        if (outcome.review !== undefined) {
          // Only an open incident is linked: what a re-publish finds is then the same, so the body is too.
          if (report.status === "failing") links.push(`${report.severity} incident: ${outcome.review.url}`);
          if (publisher.kind === "git") extra.push({ path: outcome.review.url, content: await readFile(join(root, outcome.review.url)) });
        }
      }
      const publication = await resultsPublication(root, results, plan.runbook.name, entry, extra);
      if (links.length > 0) publication.body = { ...publication.body, summary: `${publication.body.summary}\n\n${links.map((l) => `- ${l}`).join("\n")}` };
      lines.push(...describe(`results ${target}`, await publisher.publishResults(publication)));
    }
    io.stdout(`${lines.map((l) => terminalText(l)).join("\n")}\n`);
    return ExitCode.ok;
  },
};
