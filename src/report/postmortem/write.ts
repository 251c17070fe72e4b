/**
 * Where a post-incident write-up lives, `incidents/postmortems/<run-id>.md`, and the
 * rule that keeps people's work: steward writes the file when it does not exist, and
 * rewrites it (after a resume, say) only while it is exactly what steward generated
 * — its marker's digest matches the text after the marker. A write-up a person edited
 * (the digest no longer matches, or the marker was removed) is never overwritten:
 * steward says so and leaves it.
 */
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { JournalRecord } from "../../apply/journal-records.ts";
import { readJournal } from "../../apply/journal-replay.ts";
import type { RunResults } from "../../apply/results.ts";
import { StewardError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/fs.ts";
import type { Plan } from "../../plan/types.ts";
import { digestOf, renderPostmortem } from "./render.ts";

/** Where write-ups are kept, relative to the repository root. */
export const POSTMORTEMS_DIR = "incidents/postmortems";

/** The repository path of a run's write-up. */
export const postmortemPath = (runId: string): string => `${POSTMORTEMS_DIR}/${runId}.md`;

/** True for a run the write-up is for: a host failed or the rollout halted. */
export function isIncident(results: RunResults): boolean {
  return results.status !== "ok";
}

export interface PostmortemWrite {
  /** Repository-relative path. */
  path: string;
  /** `written`: new or regenerated; `unchanged`: already this text; `kept`: a person edited it, left as it is. */
  action: "written" | "unchanged" | "kept";
  /** The file's content now (the person's text when kept). */
  content: string;
}

/** Whether a write-up on disk is still exactly what steward generated (its marker's digest holds). */
export function isGenerated(text: string): boolean {
  const newline = text.indexOf("\n");
  const m = /^<!-- steward:postmortem run=[A-Za-z0-9._:-]+ digest=([0-9a-f]{64}) -->$/.exec(newline === -1 ? text : text.slice(0, newline));
  return m !== null && digestOf(text.slice(newline + 1)) === m[1];
}

/**
 * Renders the write-up of a failed or halted run and writes it, unless a person edited
 * the one already there (see the module comment).
 * @throws StewardError (usage) for a run that neither failed nor halted; EnvironmentError
 * when the file cannot be written or its path is not a regular file.
 */
export async function writePostmortem(root: string, input: { plan: Plan; results: RunResults; journal: readonly JournalRecord[]; planFile: string }): Promise<PostmortemWrite> {
  const { results } = input;
  if (!isIncident(results)) throw new StewardError("usage", `run ${results.runId} completed cleanly (status ok): there is no incident to write up`, "name a run whose status is hosts-failed or halted");
  const path = postmortemPath(results.runId);
  const file = join(root, path);
  const text = renderPostmortem(input);
  const info = await lstat(file).catch(() => null);
  if (info !== null) {
    if (!info.isFile()) throw new StewardError("environment", `${path} is ${info.isSymbolicLink() ? "a symbolic link" : "not a regular file"}; steward writes a write-up only as a regular file`, `move it away, then run steward report postmortem ${results.runId} again`);
    const existing = await readFile(file, "utf8");
    if (existing === text) return { path, action: "unchanged", content: existing };
    if (!isGenerated(existing)) return { path, action: "kept", content: existing };
  }
  await writeFileAtomic(file, text, { root });
  return { path, action: "written", content: text };
}

/** Reads a run's journal records for a write-up. */
export async function journalOf(root: string, runId: string): Promise<JournalRecord[]> {
  return (await readJournal(join(root, "runs", runId, "journal.jsonl"))).records;
}
