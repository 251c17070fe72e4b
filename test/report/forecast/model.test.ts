/**
 * `steward report forecast --format json` over a synthetic history with a stated
 * generating model (test/support/history-model.ts and resource-model.ts): 40 hosts,
 * 150 days, independent gaps (3% of host-days) and multi-day outages (a quarter of the
 * hosts), noisy readings with 2% outliers, cleanups at 90% and operator cleanups, flat
 * and shrinking mounts, leaking memory, rising load. Each series the report prints is
 * checked against the model's truth — computed from its parameters and events, never
 * by fitting the readings.
 *
 * Tolerances, each from the model's noise rather than from what the product gives:
 * - The standard error of a slope fitted to the model's current segment is σ/√Sxx (the
 *   least-squares one: σ the model's reading noise, Sxx = Σ(x − x̄)² over the days the
 *   host was actually read since the last cleanup), times 1.05 because Sen's slope has
 *   an efficiency of about 0.91 against least squares under normal noise (Sen 1968).
 *   The level at the last reading has σ·√(1/n + (x_last − x̄)²/Sxx), times 1.25 (a
 *   median's efficiency, 2/π). Days until full propagate both: days = (T − L)/s − Δ, so
 *   SE = √(((T − L)/s²·SE_s)² + (SE_L/s)²).
 * - The fitted slope and days until full must be within {@link K} = 4 standard errors
 *   of the truth: for ~240 series a normal error passes 4 SE with probability 6·10⁻⁵
 *   each, so one miss in the whole fleet is already a defect, not bad luck; 2% outliers
 *   moved by up to 30% are what Theil–Sen is meant to absorb and are not budgeted for.
 * - The printed 95% interval of the slope (and of days until full) must hold the true
 *   value for all but at most {@link allowedMisses} of the series: the expected 5% plus
 *   three binomial standard deviations.
 * - Recommendations: every series the model says fills before its deadline (the
 *   window after the next for the web hosts, `--horizon` for the others) is recommended,
 *   urgent when it fills before the next window; none is recommended whose fill at the
 *   pessimistic end of the model's own uncertainty (slope and level K SEs worse) is
 *   still after the deadline. Those between are borderline, and may go either way.
 *
 * `FORECAST_MODEL_SEED=n` runs it on another history of the same model; the first test
 * then says whether that history has what the checks need.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandIO } from "../../../src/cli/io.ts";
import { RunSecrets } from "../../../src/core/secrets.ts";
import { runForecastReport } from "../../../src/report/forecast/command.ts";
import type { ForecastReport, ReportedTrend } from "../../../src/report/forecast/report.ts";
import { generateHistory, type HistoryModelTruth } from "../../support/history-model.ts";
import type { ResourceTruth } from "../../support/resource-model.ts";

const HOSTS = 40;
const DAYS = 150;
const SEED = Number(process.env["FORECAST_MODEL_SEED"] ?? 20260604);
const DAY_MS = 86_400_000;
/** Standard errors a fitted figure may be off the truth (see the module comment). */
const K = 4;
/**
 * Sen's slope's standard error over least squares' σ/√Sxx: 1.05 in theory under normal
 * noise (efficiency 0.91), 1.10 here: the 2% outliers cost a little, and a segment over
 * 120 readings is fitted on bin medians of one or two readings (measured over 16 seeds
 * of this model: standard deviation of the errors 0.95–1.09 of 1.05·σ/√Sxx).
 */
const SEN_FACTOR = 1.1;
/** The product's stated minimums of a fitted segment (README, Forecasts). */
const MIN_POINTS = 5;
const MIN_SPAN_DAYS = 2;

/** Misses a 95% interval may have over n series: the expected 5% plus three binomial standard deviations. */
const allowedMisses = (n: number): number => Math.floor(0.05 * n + 3 * Math.sqrt(n * 0.05 * 0.95));

/** The history ends 2026-06-04 00:00 UTC, a Thursday: the web hosts' Tuesday 02:00 window opens 06-09, then 06-16. */
const NEXT_WINDOW = Date.parse("2026-06-09T02:00:00Z");
const FOLLOWING_WINDOW = Date.parse("2026-06-16T02:00:00Z");
const HORIZON_DAYS = 14;

const RUNBOOK = `name: web-maintenance
targets: group:web
window:
  timezone: UTC
  days: [tue]
  start: "02:00"
  duration: 3h
steps:
  - kind: command
    name: tidy
    command: "true"
`;

interface Case {
  truth: ResourceTruth;
  trend: ReportedTrend;
  id: string;
}

describe("forecast against the history model", () => {
  let root: string;
  let truth: HistoryModelTruth;
  let report: ForecastReport;
  let now: number;
  let cases: Case[];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "steward-forecast-model-"));
    truth = await generateHistory(root, { hosts: HOSTS, days: DAYS, seed: SEED, gapRate: 0.03, outageRate: 0.25, weekly: false });
    now = Date.parse(truth.end);
    const groups = truth.options.groups;
    const hosts = Array.from({ length: HOSTS }, (_, i) => `  h-${String(i + 1).padStart(4, "0")}: { address: 10.0.${Math.floor(i / 200)}.${(i % 200) + 1}, groups: [${groups[i % groups.length]}] }`);
    await mkdir(join(root, "inventory"));
    await mkdir(join(root, "runbooks"));
    await writeFile(join(root, "inventory", "hosts.yaml"), `defaults:\n  user: steward\ngroups:\n${groups.map((g) => `  ${g}: {}`).join("\n")}\nhosts:\n${hosts.join("\n")}\n`);
    await writeFile(join(root, "runbooks", "web-maintenance.yaml"), RUNBOOK);
    const out: string[] = [];
    const err: string[] = [];
    const io: CommandIO = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), workflowCommands: (t) => void err.push(t), env: {}, cwd: root, secrets: new RunSecrets({}) };
    expect(await runForecastReport(["--format", "json", "--now", truth.end, "--since", `${DAYS}d`, "--horizon", `${HORIZON_DAYS}d`], io)).toBe(0);
    expect(err.join("")).toBe("");
    report = JSON.parse(out.join("")) as ForecastReport;
    cases = truth.resources.map((t) => {
      const h = report.hosts.find((x) => x.host === t.host)!;
      const trend = t.kind === "disk" ? h.disks.find((d) => d.mount === t.mount)! : t.kind === "memory" ? h.memory : h.load;
      return { truth: t, trend, id: `${t.kind} ${t.host}${t.mount ?? ""} (${t.profile})` };
    });
  }, 300_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("the history has what the checks need: every profile, cleanups, outages, and segments too short to fit", () => {
    expect(report.hosts).toHaveLength(HOSTS);
    expect(cases).toHaveLength(HOSTS * 4);
    const count = (f: (c: Case) => boolean): number => cases.filter(f).length;
    expect(count((c) => c.truth.kind === "disk" && c.truth.profile === "flat")).toBeGreaterThanOrEqual(5);
    expect(count((c) => c.truth.profile === "shrinking")).toBeGreaterThanOrEqual(5);
    expect(count((c) => c.truth.kind === "memory" && c.truth.profile === "growing")).toBeGreaterThanOrEqual(5);
    expect(count((c) => c.truth.kind === "load" && c.truth.profile === "growing")).toBeGreaterThanOrEqual(3);
    expect(count((c) => c.truth.cleanups.length > 0)).toBeGreaterThanOrEqual(30);
    expect(count((c) => tooShort(c.truth))).toBeGreaterThanOrEqual(1);
    expect(report.hosts.filter((h) => h.unreachable >= 4).length).toBeGreaterThanOrEqual(5);
  });

  it("finds exactly the model's cleanups and fits exactly the readings since the last one", () => {
    for (const c of cases) {
      expect(c.trend.cleanups.length, c.id).toBe(c.truth.cleanups.filter(detectable).length);
      const last = c.truth.cleanups.at(-1);
      if (last !== undefined && last.readingsAfter === 1 && detectable({ ...last, readingsAfter: 2 }, c.truth.cleanups.length - 1, c.truth.cleanups)) expect(c.trend.unconfirmedDrop?.at, c.id).toBe(c.truth.lastReadingAt);
    }
    // A wild reading right after a cleanup, nearer the old level, may be taken for the old level: then the segment starts one reading later.
    let late = 0;
    for (const c of comparable()) {
      const short = c.truth.segment.readings - c.trend.segment!.points;
      expect(short === 0 || (short === 1 && c.truth.cleanups.length > 0), `${c.id}: fitted ${c.trend.segment!.points} readings from ${c.trend.segment!.from}, the model's segment has ${c.truth.segment.readings} from ${c.truth.segment.from}`).toBe(true);
      if (short === 0) expect(c.trend.segment?.from, c.id).toBe(c.truth.segment.from);
      late += short;
    }
    expect(late).toBeLessThanOrEqual(2);
  });

  it("too few readings since the last cleanup is 'insufficient data', never a number", () => {
    for (const c of comparable().filter((x) => tooShort(x.truth))) {
      expect(c.trend.status, c.id).toBe("insufficient-data");
      expect(c.trend.message, c.id).toMatch(/^insufficient data: \d+ points? since the cleanup on \d{4}-\d\d-\d\d/);
      expect(c.trend.fit, c.id).toBeUndefined();
      expect(c.trend.full, c.id).toBeUndefined();
    }
  });

  it("fits each slope within 4 standard errors of the model's, and its 95% interval holds the true slope for nearly all", () => {
    const fitted = comparable().filter((c) => !tooShort(c.truth));
    const misses: string[] = [];
    for (const c of fitted) {
      const fit = c.trend.fit!;
      expect(fit, c.id).toBeDefined();
      const se = seSlope(c.truth);
      expect(Math.abs(fit.slopePerDay - c.truth.slopePerDay) / se, `${c.id}: fitted ${fit.slopePerDay}, true ${c.truth.slopePerDay}, SE ${se}`).toBeLessThan(K);
      if (!(fit.lowerPerDay <= c.truth.slopePerDay && c.truth.slopePerDay <= fit.upperPerDay)) misses.push(`${c.id}: ${c.truth.slopePerDay} not in [${fit.lowerPerDay}, ${fit.upperPerDay}]`);
    }
    expect(fitted.length).toBeGreaterThan(100);
    expect(misses.length, misses.join("\n")).toBeLessThanOrEqual(allowedMisses(fitted.length));
  });

  it("gives days until full within 4 standard errors of the model's, inside the printed interval for nearly all", () => {
    // A growth of at least 6 SE: its 95% interval leaves out zero unless the fit is 4 SE off (below that, "flat" is an honest answer).
    const growing = comparable().filter((c) => !tooShort(c.truth) && c.truth.profile === "growing" && c.truth.fillsAt !== null && c.truth.slopePerDay >= (1.96 + K) * seSlope(c.truth));
    const misses: string[] = [];
    const undated: string[] = [];
    for (const c of growing) {
      const days = trueDays(c.truth, now)!;
      const se = seDays(c.truth);
      if (c.trend.full?.days == null) {
        // The data cannot exclude zero (a short segment with a wild reading in it): flat, with the pessimistic fill date still given.
        expect(c.trend.status, `${c.id}: ${c.trend.message}`).toBe("flat");
        expect(c.trend.fit!.lowerPerDay, c.id).toBeLessThanOrEqual(0);
        expect(c.trend.soonest?.days, c.id).not.toBeNull();
        undated.push(`${c.id}: ${c.trend.message}`);
        continue;
      }
      expect(Math.abs(c.trend.full!.days! - days) / se, `${c.id}: ${c.trend.message}; true ${days.toFixed(2)} days, SE ${se.toFixed(2)}`).toBeLessThan(K);
      const soonest = c.trend.soonest!.days!;
      const latest = c.trend.latest?.days ?? Number.POSITIVE_INFINITY;
      if (!(soonest <= days + 1e-9 && days <= latest + 1e-9)) misses.push(`${c.id}: true ${days.toFixed(2)} not in ${c.trend.message}`);
    }
    expect(growing.length).toBeGreaterThan(40);
    expect(undated.length, undated.join("\n")).toBeLessThanOrEqual(Math.ceil(0.05 * growing.length));
    expect(misses.length, misses.join("\n")).toBeLessThanOrEqual(allowedMisses(growing.length));
  });

  it("shrinking series never 'fill in N days', nor flat ones unless their interval misses zero, as a 95% interval may", () => {
    const still = comparable().filter((c) => !tooShort(c.truth) && c.truth.profile !== "growing");
    expect(still.length).toBeGreaterThan(40);
    const dated: string[] = [];
    for (const c of still) {
      const excludesZero = c.trend.fit!.lowerPerDay > 0 || c.trend.fit!.upperPerDay < 0;
      if (c.truth.profile === "shrinking" || !excludesZero) {
        expect(c.trend.full?.days ?? null, `${c.id}: ${c.trend.message}`).toBeNull();
        expect(c.trend.message, c.id).not.toMatch(/reaches the threshold in/);
        expect(c.trend.status, `${c.id}: ${c.trend.message}`).toBe(c.truth.profile);
      } else if (c.trend.full?.days != null) dated.push(`${c.id}: ${c.trend.message}`);
    }
    // A flat series' 95% interval leaves out zero on the growing side 2.5% of the time.
    const flat = still.filter((c) => c.truth.profile === "flat").length;
    expect(dated.length, dated.join("\n")).toBeLessThanOrEqual(Math.floor(0.025 * flat + 3 * Math.sqrt(flat * 0.025 * 0.975)));
  });

  it("recommends exactly what the model says fills before the deadline, urgent before the next window", () => {
    const recs = new Map(report.recommendations.map((r) => [`${r.kind} ${r.host}${r.mount ?? ""}`, r]));
    let must = 0;
    const borderline: string[] = [];
    for (const c of cases) {
      const key = `${c.truth.kind} ${c.truth.host}${c.truth.mount ?? ""}`;
      const rec = recs.get(key);
      const web = report.hosts.find((h) => h.host === c.truth.host)!.groups.includes("web");
      const deadline = web ? FOLLOWING_WINDOW : now + HORIZON_DAYS * DAY_MS;
      const fills = c.truth.fillsAt === null ? Number.POSITIVE_INFINITY : Date.parse(c.truth.fillsAt);
      if (tooShort(c.truth) || !comparable().includes(c)) continue; // nothing to judge by, or a cleanup the readings cannot show yet
      if (fills <= deadline) {
        must++;
        expect(rec, `${c.id} fills ${c.truth.fillsAt}, deadline ${new Date(deadline).toISOString()}`).toBeDefined();
        if (!web || fills <= NEXT_WINDOW) expect(rec!.urgency, c.id).toBe("urgent");
        expect(rec!.deadline.at, c.id).toBe(new Date(web && rec!.urgency === "urgent" ? NEXT_WINDOW : deadline).toISOString());
      } else if (pessimisticFill(c.truth) > deadline) {
        expect(rec, `${c.id}: recommended (${rec?.title}) though even its pessimistic fill (${(pessimisticFill(c.truth) - now) / DAY_MS} days) is after the deadline`).toBeUndefined();
      } else {
        borderline.push(`${c.id}: ${rec === undefined ? "not recommended" : "recommended"}`);
      }
    }
    expect(must).toBeGreaterThanOrEqual(3);
    expect(borderline.length, borderline.join("\n")).toBeLessThanOrEqual(Math.ceil(0.05 * cases.length));
    for (const r of report.recommendations) expect(cases.some((c) => `${c.truth.kind} ${c.truth.host}${c.truth.mount ?? ""}` === `${r.kind} ${r.host}${r.mount ?? ""}`)).toBe(true);
  });

  /** Series whose last cleanup, if any, the product can tell from its readings ({@link detectable}). */
  function comparable(): Case[] {
    return cases.filter((c) => c.truth.cleanups.length === 0 || detectable(c.truth.cleanups.at(-1)!, c.truth.cleanups.length - 1, c.truth.cleanups));
  }
});

/**
 * A cleanup the product's stated rule can confirm: at least three readings before it in
 * its segment (a level to fall from) and two after it (one may be a wild reading).
 */
function detectable(c: ResourceTruth["cleanups"][number], index: number, all: ResourceTruth["cleanups"]): boolean {
  // Readings since the last cleanup the rule confirmed: an unconfirmed one leaves its readings in the segment before.
  let before = 0;
  for (let k = 0; k <= index; k++) {
    before += all[k]!.readingsBefore;
    if (k < index && before >= 3 && all[k]!.readingsAfter >= 2) before = 0;
  }
  return before >= 3 && c.readingsAfter >= 2;
}

/** The model's current segment is under the product's stated minimums (too few readings, or too short a span). */
function tooShort(t: ResourceTruth): boolean {
  return t.segment.readings < MIN_POINTS || t.segment.spanDays < MIN_SPAN_DAYS;
}

/** Standard error of Sen's slope over the model's segment (see the module comment). */
function seSlope(t: ResourceTruth): number {
  return (SEN_FACTOR * t.noiseSd) / Math.sqrt(t.segment.sxx);
}

/**
 * Standard error of days until full. The fitted level at the last reading is the median
 * residual (error m, SE 1.25·σ/√n) plus the slope's error Δs times (x_last − x̄), so
 * days = (T − L)/s − Δ moves by −m/s − Δs·((x_last − x̄) + (T − L)/s)/s: the slope's
 * two parts add (they are one error), the median's is independent of them.
 */
function seDays(t: ResourceTruth): number {
  const gap = Math.max(0, t.threshold - t.levelAtLast);
  const s = t.slopePerDay;
  return Math.hypot((1.25 * t.noiseSd) / Math.sqrt(t.segment.readings) / s, (seSlope(t) * (t.segment.lastMinusMean + gap / s)) / s);
}

/** The model's days from `now` until the current segment's line reaches the threshold (0 when already past); null when never. */
function trueDays(t: ResourceTruth, now: number): number | null {
  return t.fillsAt === null ? null : Math.max(0, (Date.parse(t.fillsAt) - now) / DAY_MS);
}

/** When the segment would fill with its slope and level K standard errors worse than the truth (ms since the epoch). */
function pessimisticFill(t: ResourceTruth): number {
  const slope = t.slopePerDay + K * seSlope(t);
  const level = t.levelAtLast + K * 1.25 * t.noiseSd * Math.sqrt(1 / t.segment.readings + (t.segment.lastMinusMean * t.segment.lastMinusMean) / t.segment.sxx);
  if (level >= t.threshold) return Date.parse(t.lastReadingAt!);
  return slope <= 0 ? Number.POSITIVE_INFINITY : Date.parse(t.lastReadingAt!) + ((t.threshold - level) / slope) * DAY_MS;
}
