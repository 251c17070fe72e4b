/**
 * Incidents as the git publisher commits them (src/publish/git/index.ts, `incident`):
 * `incidents/<runbook>-<sev>.md`, a front matter with `status: open|closed`, `runbook:`
 * and `severity:`, then the description and a `## Timeline` of lines
 * `- <ISO 8601 UTC> — failing (run <run-id>)…` or `- … — resolved (run <run-id>)…`.
 * The file is reopened by a later failure, so one file holds several episodes: an
 * episode opens at the first `failing` line after a `resolved` one (or the start) and
 * closes at the next `resolved` line; further `failing` lines in between are repeats.
 * Other files under incidents/ (post-incident write-ups) are not incidents and are
 * left alone.
 */
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { HistoryProblem } from "./runs.ts";

/** One incident episode: opened by a failing run, closed (or not yet) by a clean one. */
export interface IncidentEpisode {
  runbook: string;
  severity: "SEV1" | "SEV2" | "SEV3" | "SEV4";
  /** `incidents/<runbook>-<sev>.md`. */
  file: string;
  /** ISO 8601 UTC of the first failing line, and its run. */
  openedAt: string;
  openedBy: string;
  /** Failing lines in the episode (1 = it failed once). */
  failures: number;
  /** ISO 8601 UTC of the resolving line and its run; absent while open. */
  closedAt?: string;
  closedBy?: string;
}

const FILE = /^([a-z0-9][a-z0-9._-]*)-(sev[1-4])\.md$/;
const LINE = /^- (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z) — (failing|resolved) \(run ([A-Za-z0-9][A-Za-z0-9._-]{0,200})\)/;
/** Largest incident file read. */
const MAX_INCIDENT_BYTES = 16 * 1024 * 1024;

/**
 * The episodes of one incident file's text; problems (no front matter, a timeline line
 * out of order, a status that disagrees with the timeline) go to `onProblem`.
 */
export function incidentEpisodes(text: string, file: string, onProblem?: (p: HistoryProblem) => void): IncidentEpisode[] {
  const front = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (front === null) {
    onProblem?.({ file, line: 1, message: "has no front matter (status, runbook, severity); not read as an incident" });
    return [];
  }
  const field = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, "m").exec(front[1]!)?.[1]?.trim();
  const runbook = field("runbook");
  const severity = field("severity");
  const status = field("status");
  if (runbook === undefined || !/^[a-z0-9][a-z0-9._-]*$/.test(runbook) || severity === undefined || !/^SEV[1-4]$/.test(severity) || (status !== "open" && status !== "closed")) {
    onProblem?.({ file, line: 2, message: "has a front matter without a valid status, runbook and severity; not read as an incident" });
    return [];
  }
  const episodes: IncidentEpisode[] = [];
  let current: IncidentEpisode | undefined;
  let last = "";
  const lines = text.split("\n");
  const start = lines.indexOf("## Timeline");
  for (let i = start + 1; start !== -1 && i < lines.length; i++) {
    const m = LINE.exec(lines[i]!);
    if (m === null) {
      // Every timeline entry the publisher writes is a `- ` line: one that does not read is said, not skipped.
      if (lines[i]!.startsWith("- ")) onProblem?.({ file, line: i + 1, message: "is a timeline line steward cannot read (`- <ISO 8601 UTC> — failing|resolved (run <run-id>)`); left out" });
      continue;
    }
    const [, at, what, run] = m as unknown as [string, string, string, string];
    if (at < last) {
      onProblem?.({ file, line: i + 1, message: "is earlier than the line before it; the timeline is read in file order" });
    }
    last = at;
    if (what === "failing") {
      if (current === undefined) current = { runbook, severity: severity as IncidentEpisode["severity"], file, openedAt: at, openedBy: run, failures: 1 };
      else current.failures += 1;
    } else if (current !== undefined) {
      current.closedAt = at;
      current.closedBy = run;
      episodes.push(current);
      current = undefined;
    }
  }
  if (current !== undefined) episodes.push(current);
  if ((status === "open") !== (current !== undefined)) onProblem?.({ file, line: 2, message: `says status: ${status}, but its timeline ${current !== undefined ? "ends failing" : "ends resolved"}; the timeline is used` });
  return episodes;
}

/** Every incident episode of the repository, by file name then time. */
export async function readIncidents(root: string, onProblem?: (p: HistoryProblem) => void): Promise<{ episodes: IncidentEpisode[]; files: number }> {
  let names: string[];
  try {
    const info = await lstat(join(root, "incidents"));
    if (!info.isDirectory()) return { episodes: [], files: 0 };
    names = await readdir(join(root, "incidents"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { episodes: [], files: 0 };
    throw error;
  }
  const episodes: IncidentEpisode[] = [];
  let files = 0;
  for (const name of names.filter((n) => n.endsWith(".md") && !FILE.test(n)).sort()) {
    onProblem?.({ file: `incidents/${name}`, line: 0, message: "is not named <runbook>-<sev>.md (sev1 to sev4); not read as an incident" });
  }
  for (const name of names.filter((n) => FILE.test(n)).sort()) {
    const file = `incidents/${name}`;
    const info = await lstat(join(root, file));
    if (!info.isFile() || info.size > MAX_INCIDENT_BYTES) {
      onProblem?.({ file, line: 0, message: info.isFile() ? `is larger than ${MAX_INCIDENT_BYTES} bytes; not read` : "is not a regular file; not read" });
      continue;
    }
    files += 1;
    episodes.push(...incidentEpisodes(await readFile(join(root, file), "utf8"), file, onProblem));
  }
  return { episodes, files };
}
