/**
 * The forecast report as data: every host's trends (each mount, memory, load) and the
 * recommendations they lead to, in the shape `--format json` prints
 * (schemas/report-forecast.schema.json). Pure: the same series, windows and clock give
 * the same report.
 */
import type { CollectedSeries, HostSeries } from "./collect.ts";
import { recommend, type HostWindow, type Recommendation } from "./recommend.ts";
import { MAX_FIT_POINTS } from "./sen.ts";
import { forecastSeries, RESOURCE_RULES, type ForecastOptions, type ResourceKind } from "./resources.ts";
import type { Trend } from "./trend.ts";

/** A trend as the report prints it: without the fitted line (charts only). */
export type ReportedTrend = Omit<Trend, "line">;

export interface HostForecast {
  host: string;
  groups: string[];
  snapshots: number;
  unreachable: number;
  /** ISO 8601 UTC of the latest reading; null when the host was never read in the range. */
  lastReading: string | null;
  disks: Array<{ mount: string } & ReportedTrend>;
  memory: ReportedTrend;
  load: ReportedTrend;
}

export interface ForecastReport {
  report: "forecast";
  generatedAt: string;
  source: { commit?: string; since: string; until: string; files: number };
  /** The rules every figure follows, stated in the report itself. */
  method: {
    estimator: string;
    confidence: number;
    minPoints: number;
    minSpanDays: number;
    horizonDays: number;
    thresholds: Record<ResourceKind, string>;
    cleanups: string;
  };
  summary: { hosts: number; trends: number; growing: number; full: number; insufficient: number; recommendations: number; urgent: number };
  recommendations: Recommendation[];
  hosts: HostForecast[];
  /** Data a trend could not be computed from for a reason people must fix (a trend's note), by host and resource. */
  problems: Array<{ host: string; resource: string; message: string }>;
  /** Snapshot lines and files skipped, `file:line` (0: the whole file), the first {@link MAX_SKIPPED_LISTED}. */
  skipped: Array<{ file: string; line: number; message: string }>;
  /** Skipped lines past those listed. */
  skippedLeftOut: number;
}

/** Skipped snapshot lines a forecast lists (as status and trends list their problems); more are counted. */
export const MAX_SKIPPED_LISTED = 200;

export interface BuildOptions extends Required<Pick<ForecastOptions, "now">> {
  since: Date;
  until: Date;
  commit?: string;
  windows: ReadonlyMap<string, HostWindow>;
  horizonDays: number;
  confidence?: number;
  minPoints?: number;
  minSpanDays?: number;
  /** Snapshot lines and files the reading skipped, listed in the report. */
  skipped?: ReadonlyArray<{ file: string; line: number; message: string }>;
}

/** What a chart needs besides the report: each at-risk series' readings and fitted line. */
export interface ChartSeries {
  id: string;
  title: string;
  unit: "GiB" | "load";
  /**
   * The readings of the fitted segment a chart shows, thinned evenly to at most
   * {@link MAX_CHART_POINTS} (the first and last kept): [ISO time, reading, the fitted
   * line at that reading], in `unit`.
   */
  points: Array<[string, number, number]>;
  threshold: number;
}

/** At most this many readings (x-axis categories) per chart: thinned evenly past it. */
export const MAX_CHART_POINTS = 60;

const GIB = 1024 ** 3;

/** Builds the report and the charts of its recommendations. */
export function buildForecast(collected: CollectedSeries, options: BuildOptions): { report: ForecastReport; charts: ChartSeries[] } {
  const fitOptions: ForecastOptions = { now: options.now, minPoints: options.minPoints ?? 5, minSpanDays: options.minSpanDays ?? 2, confidence: options.confidence ?? 0.95 };
  const hosts: HostForecast[] = [];
  const recommendations: Recommendation[] = [];
  const charts: ChartSeries[] = [];
  const problems: ForecastReport["problems"] = [];
  const summary = { hosts: 0, trends: 0, growing: 0, full: 0, insufficient: 0, recommendations: 0, urgent: 0 };
  const names = [...collected.hosts.keys()].sort();
  for (const name of names) {
    const h = collected.hosts.get(name)!;
    const window = options.windows.get(name);
    const consider = (trend: Trend, kind: ResourceKind, mount?: string): ReportedTrend => {
      summary.trends++;
      if (trend.status === "growing") summary.growing++;
      if (trend.status === "full") summary.full++;
      if (trend.status === "insufficient-data") summary.insufficient++;
      const rec = recommend(trend, { kind, host: name, ...(mount !== undefined ? { mount } : {}) }, window, options.now, options.horizonDays);
      if (rec !== undefined) {
        recommendations.push(rec);
        charts.push(chartOf(rec, trend, kind, collected.hosts.get(name)!, mount));
      }
      if (trend.note !== undefined) problems.push({ host: name, resource: kind === "disk" ? `disk ${mount!}` : kind, message: trend.note });
      const { line: _line, ...reported } = trend;
      return reported;
    };
    const disks = [...h.disks.keys()].sort().map((mount) => ({ mount, ...consider(forecastSeries(h.disks.get(mount)!, fitOptions), "disk", mount) }));
    const memory = consider(forecastSeries(h.memory, fitOptions), "memory");
    const load = consider(forecastSeries(h.load, fitOptions), "load");
    hosts.push({ host: name, groups: h.groups, snapshots: h.snapshots, unreachable: h.unreachable, lastReading: h.lastReading === "" ? null : h.lastReading, disks, memory, load });
  }
  recommendations.sort((a, b) => (a.urgency === b.urgency ? 0 : a.urgency === "urgent" ? -1 : 1) || a.soonest.at.localeCompare(b.soonest.at) || a.id.localeCompare(b.id));
  const order = new Map(recommendations.map((r, i) => [r.id, i]));
  charts.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  summary.hosts = hosts.length;
  summary.recommendations = recommendations.length;
  summary.urgent = recommendations.filter((r) => r.urgency === "urgent").length;
  const report: ForecastReport = {
    report: "forecast",
    generatedAt: options.now.toISOString(),
    source: { ...(options.commit !== undefined ? { commit: options.commit } : {}), since: options.since.toISOString(), until: options.until.toISOString(), files: collected.days },
    method: {
      estimator: `Theil–Sen (Sen's slope) over the readings since the last cleanup (at most one a day: the day's median); a segment of more than ${MAX_FIT_POINTS} readings is fitted on the medians of ${MAX_FIT_POINTS} equal time bins; interval from the ranked pairwise slopes of the points fitted (Sen 1968, Gilbert 1987 §16.5)`,
      confidence: fitOptions.confidence!,
      minPoints: fitOptions.minPoints!,
      minSpanDays: fitOptions.minSpanDays!,
      horizonDays: options.horizonDays,
      thresholds: { disk: RESOURCE_RULES.disk.what, memory: RESOURCE_RULES.memory.what, load: RESOURCE_RULES.load.what },
      cleanups: `a fall of more than ${RESOURCE_RULES.disk.dropFraction * 100}% of a disk's size (${RESOURCE_RULES.memory.dropFraction * 100}% of memory), confirmed by the readings after it, starts a new segment`,
    },
    summary,
    recommendations,
    hosts,
    problems,
    skipped: (options.skipped ?? []).slice(0, MAX_SKIPPED_LISTED),
    skippedLeftOut: Math.max(0, (options.skipped?.length ?? 0) - MAX_SKIPPED_LISTED),
  };
  return { report, charts };
}

/**
 * The chart of a recommendation: the readings from the fitted segment's start, thinned,
 * each with the fitted line at its time (the line is drawn at readings only, so a
 * reading outside the segment shows its own value). Only the readings shown are turned
 * into times and values: a chart shows 60 of a year's 365.
 */
function chartOf(rec: Recommendation, trend: Trend, kind: ResourceKind, h: HostSeries, mount?: string): ChartSeries {
  const from = Date.parse(trend.segment!.from);
  const scale = kind === "load" ? 1 : GIB;
  const series = kind === "disk" ? h.disks.get(mount!)! : kind === "memory" ? h.memory : h.load;
  const length = series.settle();
  const observed: number[] = [];
  for (let i = 0; i < length; i++) if (series.t[i]! >= from) observed.push(i);
  const fitted = new Map<number, number>();
  const line = trend.line?.();
  if (line !== undefined) for (let k = 0; k < line.t.length; k++) fitted.set(line.t[k]!, line.value[k]!);
  const points = thin(observed.length, MAX_CHART_POINTS).map((k): [string, number, number] => {
    const i = observed[k]!;
    const value = series.value[i]! / scale;
    const onLine = fitted.get(series.t[i]!);
    return [new Date(series.t[i]!).toISOString(), value, onLine === undefined ? value : onLine / scale];
  });
  return { id: rec.id, title: rec.title, unit: kind === "load" ? "load" : "GiB", points, threshold: trend.threshold / scale };
}

/** Indices 0..n-1 thinned evenly to at most `max`, the first and last kept. */
function thin(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: max }, (_, k) => Math.round((k * (n - 1)) / (max - 1)));
}
