/**
 * runs/<run-id>/summary.json: the part of a run's results that reports read, in a
 * compact single-line form, derived from results.json by one pure function
 * ({@link summariseResults}) and written with it as one atomic pair (results.ts,
 * writeRunFiles), so the two never disagree on disk.
 *
 * Why: a year of daily runs over a thousand hosts is about 300 MB of pretty-printed
 * results.json, whose reading and JSON.parse alone take longer than a report may. The
 * summary keeps, per run, its id, plan, times and status and, per host, outcome, wave
 * and times; per packages step the packages as observed (from → to) and the step's end;
 * per compliance step each rule's id, severity, status and observedAt; per backup and
 * verify-backup step its outcome, end, tool, snapshot id or archive and test restore.
 * Nothing else (no output tails, no details): a post-incident write-up still reads
 * results.json.
 *
 * Compact: every repeated string (outcomes, package names and versions, rule ids,
 * severities, tools…) is an index into `strings`; a time is the number of ms after the
 * run's `startedAt` when the text is exactly that instant's canonical ISO form
 * (`Date#toISOString`), else the text itself, so decoding gives back the same string.
 *
 * Trust: the summary carries the sha256 and size of the results.json bytes it was
 * derived from; `steward audit verify` derives it again from results.json and names a
 * summary that differs. Format: schemas/run-summary.schema.json.
 */
import { schemaCheck } from "../core/schema-check.ts";
import { createHash } from "node:crypto";
import type { RunResults } from "./results.ts";

/** The file name of a run's summary inside runs/<run-id>/. */
export const SUMMARY_FILE = "summary.json";

/** The summary format this code writes and reads; a change of what it holds is a new format. */
export const SUMMARY_FORMAT = 1;

/** The value of `kind`, so a summary is never mistaken for another steward file. */
export const SUMMARY_KIND = "steward-run-summary";

/** A time: ms after the run's startedAt (canonical ISO text), or the text itself. */
export type SummaryTime = number | string;

/** [host name, outcome (string index), wave, startedAt, finishedAt]. */
export type SummaryHost = [string, number, number, SummaryTime | null, SummaryTime | null];
/** One package a packages step observed: [host index, the step's finishedAt, name, from, to] (names and versions: string indexes; null: not installed). */
export type SummaryPackage = [number, SummaryTime, number, number | null, number | null];
/** One compliance rule's verdict: [host index, rule id, severity, status, observedAt] (strings: indexes). */
export type SummaryRule = [number, number, number, number, SummaryTime];
/**
 * One backup or verify-backup step: [host index, kind, outcome, finishedAt, tool,
 * snapshotId, archive, testRestore] — kind, outcome, tool, snapshotId and archive are
 * string indexes ("" when the evidence has none); testRestore is [ok (1/0), files
 * compared] or null when the step made no test restore.
 */
export type SummaryBackup = [number, number, number, SummaryTime, number, number, number, [0 | 1, number] | null];

/** runs/<run-id>/summary.json (see the module comment). */
export interface RunSummary {
  format: typeof SUMMARY_FORMAT;
  kind: typeof SUMMARY_KIND;
  runId: string;
  planId: string;
  startedAt: string;
  finishedAt: string;
  status: RunResults["status"];
  /** The results.json bytes this summary was derived from. */
  results: { sha256: string; bytes: number };
  strings: string[];
  hosts: SummaryHost[];
  packages: SummaryPackage[];
  rules: SummaryRule[];
  backups: SummaryBackup[];
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/**
 * Encodes a time for a summary whose run started at `base` ms (see the module comment).
 * Exported for the tests of the decoder.
 */
export function encodeTime(text: string, base: number): SummaryTime {
  const t = Date.parse(text);
  if (Number.isNaN(t) || !Number.isFinite(base) || new Date(t).toISOString() !== text) return text;
  return t - base;
}

/**
 * The summary of `results`, whose serialised bytes are `resultsText` (results.json as
 * written; its sha256 and size are recorded). Pure: the same results and bytes give the
 * same summary, field for field and in the same order, so its text is the same too.
 */
export function summariseResults(results: RunResults, resultsText: string | Uint8Array): RunSummary {
  const bytes = typeof resultsText === "string" ? Buffer.from(resultsText, "utf8") : resultsText;
  const base = Date.parse(results.startedAt);
  const strings: string[] = [];
  const index = new Map<string, number>();
  const s = (v: string): number => {
    let i = index.get(v);
    if (i === undefined) {
      i = strings.length;
      strings.push(v);
      index.set(v, i);
    }
    return i;
  };
  const t = (text: string): SummaryTime => encodeTime(text, base);
  const hosts: SummaryHost[] = [];
  const packages: SummaryPackage[] = [];
  const rules: SummaryRule[] = [];
  const backups: SummaryBackup[] = [];
  results.hosts.forEach((h, i) => {
    hosts.push([h.host, s(h.outcome), h.wave, h.startedAt === null ? null : t(h.startedAt), h.finishedAt === null ? null : t(h.finishedAt)]);
    for (const step of h.steps) {
      if (step.kind === "packages" && Array.isArray(step.packages)) {
        const at = t(step.finishedAt);
        for (const p of step.packages) packages.push([i, at, s(p.name), p.from === null ? null : s(p.from), p.to === null ? null : s(p.to)]);
      } else if (step.kind === "compliance") {
        const c = step.evidence?.["compliance"] as { rules?: unknown } | undefined;
        if (c === undefined || !Array.isArray(c.rules)) continue;
        for (const r of c.rules as Array<Record<string, unknown> | null>) {
          if (typeof r?.["id"] !== "string" || typeof r["observedAt"] !== "string") continue;
          rules.push([i, s(r["id"]), s(str(r["severity"])), s(str(r["status"])), t(r["observedAt"])]);
        }
      } else if (step.kind === "backup" || step.kind === "verify-backup") {
        const ev = step.evidence ?? {};
        const tr = ev["testRestore"] as { ok?: unknown; filesCompared?: unknown } | undefined;
        const files = Number(tr?.filesCompared ?? 0);
        const restore: [0 | 1, number] | null = typeof tr === "object" && tr !== null ? [tr.ok === true ? 1 : 0, Number.isFinite(files) ? files : 0] : null;
        backups.push([i, s(step.kind), s(step.outcome), t(step.finishedAt), s(str(ev["tool"])), s(str(ev["snapshotId"])), s(str(ev["archive"])), restore]);
      }
    }
  });
  return {
    format: SUMMARY_FORMAT,
    kind: SUMMARY_KIND,
    runId: results.runId,
    planId: results.plan.id,
    startedAt: results.startedAt,
    finishedAt: results.finishedAt,
    status: results.status,
    results: { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length },
    strings,
    hosts,
    packages,
    rules,
    backups,
  };
}

/** The summary's file text: one line of JSON and a newline. */
export function summaryText(summary: RunSummary): string {
  return `${JSON.stringify(summary)}\n`;
}

/**
 * Problems of `value` as summary.json against schemas/run-summary.schema.json, one
 * `<path>: <what>` line each; [] when it is valid. (Index bounds are not a schema's to
 * check: the report's reader checks them.)
 */
export const summaryProblems: (value: unknown) => string[] = schemaCheck("run-summary.schema.json");
