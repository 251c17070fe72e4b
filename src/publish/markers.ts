/**
 * Names steward gives what it publishes, so the next publish finds the same thing
 * again: deterministic branches and hidden markers in bodies.
 *
 * A marker is an HTML comment GitHub does not render, `<!-- steward:plan runbook=x
 * plan=y -->`, at the top of a pull request, comment or issue. Values are limited to
 * `[A-Za-z0-9._:/-]` so a marker can neither be broken out of nor forged by a value.
 */
import type { Severity } from "../report/severity.ts";
import { PublishInputError } from "./errors.ts";

/** The kinds of things steward publishes, one marker kind each. */
export type MarkerKind = "plan" | "results" | "comment" | "incident" | "recommendation" | "postmortem" | "report";

export interface Marker {
  kind: MarkerKind;
  fields: Record<string, string>;
}

const VALUE = /^[A-Za-z0-9._:/-]{1,200}$/;
const MARKER = /<!-- steward:(plan|results|comment|incident|recommendation|postmortem|report)((?: [a-z]+=[A-Za-z0-9._:/-]+)*) -->/;

/** The marker's text. @throws PublishInputError for a value outside `[A-Za-z0-9._:/-]`. */
export function formatMarker(marker: Marker): string {
  const fields = Object.entries(marker.fields).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [key, value] of fields) {
    if (!VALUE.test(value)) throw new PublishInputError(`cannot mark a ${marker.kind} with ${key} ${JSON.stringify(value)}: only letters, digits and . _ : / - are allowed`);
  }
  return `<!-- steward:${marker.kind}${fields.map(([k, v]) => ` ${k}=${v}`).join("")} -->`;
}

/** The first steward marker in a body, or undefined. */
export function parseMarker(body: string | null | undefined): Marker | undefined {
  const match = MARKER.exec(body ?? "");
  if (match === null) return undefined;
  const fields: Record<string, string> = {};
  for (const pair of match[2]!.trim().split(" ").filter(Boolean)) {
    const [key, value] = pair.split("=") as [string, string];
    fields[key] = value;
  }
  return { kind: match[1] as MarkerKind, fields };
}

/** True when `body` carries a marker of `kind` whose fields include all of `fields`. */
export function hasMarker(body: string | null | undefined, kind: MarkerKind, fields: Record<string, string>): boolean {
  const marker = parseMarker(body);
  return marker !== undefined && marker.kind === kind && Object.entries(fields).every(([k, v]) => marker.fields[k] === v);
}

export const planMarker = (runbook: string, planId: string): Marker => ({ kind: "plan", fields: { runbook, plan: planId } });
export const resultsMarker = (runId: string): Marker => ({ kind: "results", fields: { run: runId } });
export const commentMarker = (key: string): Marker => ({ kind: "comment", fields: { key } });
export const incidentMarker = (runbook: string, severity: Severity): Marker => ({ kind: "incident", fields: { runbook, severity } });
/** A recommendation (report forecast): its stable id; `state=resolved` once steward closed it (a closed one without it was closed by a person). */
export const recommendationMarker = (id: string, resolved = false): Marker => ({ kind: "recommendation", fields: resolved ? { id, state: "resolved" } : { id } });
/** The branch the git publisher proposes recommendation files on. */
export const RECOMMENDATIONS_BRANCH = "steward/recommendations";
export const reportMarker = (week: string): Marker => ({ kind: "report", fields: { week: isoWeekName(week) } });

/** An ISO 8601 week, `YYYY-Www` (weeks 01 to 53). */
const ISO_WEEK = /^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$/;

/**
 * Checks an ISO 8601 week name (`2026-W50`): the weekly report's branch, file and marker.
 * @throws PublishInputError for anything else, week 53 of a year that has 52 included.
 */
export function isoWeekName(week: string): string {
  const m = ISO_WEEK.exec(week);
  // A year has 53 ISO weeks when 28 December falls in week 53 (ISO 8601: the week with the year's last Thursday).
  if (m === null || (m[2] === "53" && isoWeekOf(new Date(Date.UTC(Number(m[1]), 11, 28))) !== week)) {
    throw new PublishInputError(`${JSON.stringify(week.slice(0, 40))} is not an ISO 8601 week`, "name the week as YYYY-Www, e.g. 2026-W50");
  }
  return week;
}

/**
 * The first moment of an ISO 8601 week: its Monday, 00:00 UTC (week 1 is the week
 * holding 4 January).
 * @throws PublishInputError as {@link isoWeekName}.
 */
export function isoWeekStart(week: string): Date {
  isoWeekName(week);
  const year = Number(week.slice(0, 4));
  const jan4 = Date.UTC(year, 0, 4);
  const monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * 86_400_000;
  return new Date(monday + (Number(week.slice(6)) - 1) * 7 * 86_400_000);
}

/**
 * The ISO 8601 week (`YYYY-Www`, UTC) a moment falls in: weeks start on Monday, and
 * week 1 is the one holding the year's first Thursday, so 2027-01-01 is in 2026-W53.
 */
export function isoWeekOf(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides its year
  const year = day.getUTCFullYear();
  const week = Math.ceil(((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/**
 * A branch name component, checked with git's rules (git-check-ref-format): no `..`,
 * no control characters, space, `~^:?*[\`, no leading `-` or `.`, no trailing `.` or
 * `.lock`, no `@{`; and, stricter, at most 100 characters of `[A-Za-z0-9._-]`, so the
 * name is also safe in a marker and a URL.
 * @throws PublishInputError naming `what` and the rule broken.
 */
export function branchComponent(value: string, what: string): string {
  const problem = !/^[A-Za-z0-9._-]{1,100}$/.test(value)
    ? "use 1 to 100 letters, digits, '.', '_' or '-'"
    : value.startsWith("-") || value.startsWith(".")
      ? "it may not start with '-' or '.'"
      : value.endsWith(".") || value.endsWith(".lock") || value.includes("..")
        ? "it may not end with '.' or '.lock' or contain '..'"
        : undefined;
  if (problem !== undefined) throw new PublishInputError(`${what} ${JSON.stringify(value)} cannot name a git branch: ${problem}`, `rename the ${what}`);
  return value;
}

export const planBranch = (runbook: string): string => `steward/plan/${branchComponent(runbook, "runbook name")}`;
export const resultsBranch = (runId: string): string => `steward/results/${branchComponent(runId, "run id")}`;
export const reportBranch = (week: string): string => `steward/report/${isoWeekName(week)}`;

/**
 * Checks a repository path of a file to publish: relative, POSIX, no empty, `.` or
 * `..` component, nothing under `.git`, no control characters.
 * @throws PublishInputError naming the path.
 */
export function checkFilePath(path: string): string {
  const parts = path.split("/");
  const bad = path === "" || path.startsWith("/") || /[\x00-\x1f\x7f\\]/.test(path) || parts.some((p) => p === "" || p === "." || p === ".." || p.toLowerCase() === ".git");
  if (bad) throw new PublishInputError(`cannot publish the file ${JSON.stringify(path)}: a path must be relative, use '/', and have no empty, '.', '..' or '.git' part`);
  return path;
}
